/* Freestanding helpers: memory and string functions, number parsing, a small printf family.
 * 32-bit arithmetic only (no libgcc on the build host: no 64-bit division). */
#include "kernel.h"

void *memset(void *dst, int c, size_t n)
{
    u8 *d = dst;
    if (((u32)d & 3) == 0 && (n & 3) == 0) {
        u32 w = (u8)c * 0x01010101u;
        u32 *dw = dst;
        for (n >>= 2; n; n--)
            *dw++ = w;
        return dst;
    }
    while (n--)
        *d++ = (u8)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;
    if ((((u32)d | (u32)s | n) & 3) == 0) {
        u32 *dw = dst;
        const u32 *sw = src;
        for (n >>= 2; n; n--)
            *dw++ = *sw++;
        return dst;
    }
    while (n--)
        *d++ = *s++;
    return dst;
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

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (u8)*a - (u8)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

/* Copy at most n-1 characters and always terminate. */
char *strncpy0(char *dst, const char *src, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
    if (n)
        dst[i] = 0;
    return dst;
}

u32 parse_u32(const char *s, const char **end)
{
    u32 v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (u32)(*s++ - '0');
    if (end)
        *end = s;
    return v;
}

struct outbuf {
    char *buf;
    size_t size, len;
};

static void out_c(struct outbuf *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void out_num(struct outbuf *o, u32 v, u32 base, int width, char pad, int neg)
{
    char tmp[12];
    int n = 0;
    do {
        u32 d = v % base;
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (neg)
        tmp[n++] = '-';
    for (int i = n; i < width; i++)
        out_c(o, pad);
    while (n)
        out_c(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct outbuf o = {buf, size, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_c(&o, *fmt);
            continue;
        }
        char pad = ' ';
        int width = 0, left = 0;
        fmt++;
        if (*fmt == '-')
            left = 1, fmt++;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        switch (*fmt) {
        case 'd': {
            i32 v = va_arg(ap, i32);
            out_num(&o, v < 0 ? (u32)-v : (u32)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            out_num(&o, va_arg(ap, u32), 10, width, pad, 0);
            break;
        case 'x':
            out_num(&o, va_arg(ap, u32), 16, width, pad, 0);
            break;
        case 'c':
            out_c(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int n = (int)strlen(s);
            for (int i = n; !left && i < width; i++)
                out_c(&o, ' ');
            while (*s)
                out_c(&o, *s++);
            for (int i = n; left && i < width; i++)
                out_c(&o, ' ');
            break;
        }
        case '%':
            out_c(&o, '%');
            break;
        default:
            out_c(&o, '?');
            break;
        }
    }
    if (o.size)
        o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    console_kwrite(buf, (u32)MIN(n, (int)sizeof buf - 1));
}
