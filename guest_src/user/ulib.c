/* User-space library: program entry, memory and string helpers, printf to the console, disk header.
 * One write system call per printf: each printed line reaches the console in one piece. */
#include "ulib.h"

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)

int main(int argc, char **argv);

/* The kernel enters here with [0][argc][argv] on the stack. */
void __attribute__((noreturn)) _start(int argc, char **argv) { exit(main(argc, argv)); }

void *memset(void *d, int c, size_t n)
{
    u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

u32 atou(const char *s)
{
    u32 v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (u32)(*s++ - '0');
    return v;
}

static int vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t len = 0;
#define PUT(c) do { if (len + 1 < size) buf[len] = (c); len++; } while (0)
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            PUT(*fmt);
            continue;
        }
        char pad = ' ';
        int width = 0;
        fmt++;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        if (*fmt == 's') {
            const char *s = va_arg(ap, const char *);
            while (*s)
                PUT(*s++);
            continue;
        }
        if (*fmt == 'c') {
            PUT((char)va_arg(ap, int));
            continue;
        }
        u32 v = va_arg(ap, u32), base = *fmt == 'x' ? 16 : 10;
        int neg = *fmt == 'd' && (i32)v < 0;
        if (neg)
            v = (u32)-(i32)v;
        char tmp[12];
        int n = 0;
        do {
            tmp[n++] = "0123456789abcdef"[v % base];
            v /= base;
        } while (v);
        if (neg)
            tmp[n++] = '-';
        for (int i = n; i < width; i++)
            PUT(pad);
        while (n)
            PUT(tmp[--n]);
    }
    if (size)
        buf[len < size ? len : size - 1] = 0;
#undef PUT
    return (int)len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfmt(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vfmt(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = sizeof buf - 1;
    return write(1, buf, (u32)n);
}

void die(const char *msg)
{
    printf("error: %s\n", msg);
    exit(1);
}

int read_disk_header(struct disk_header *h)
{
    static u8 sector[512];
    if (blkcount() <= 0 || blkread(0, sector, 1) != 1)
        return -1;
    memcpy(h, sector, sizeof *h);
    return memcmp(h->magic, DISK_MAGIC, 8) == 0 ? 0 : -1;
}
