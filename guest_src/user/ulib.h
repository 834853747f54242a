/* User-space library interface: system call wrappers (int $0x80), formatting, hashing, disk layout.
 * User programs are ordinary ring-3 code, built with plain gcc in both kernel variants. */
#ifndef ULIB_H
#define ULIB_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef unsigned int size_t;
#define NULL ((void *)0)

enum {
    SYS_exit, SYS_write, SYS_read, SYS_getpid, SYS_yield, SYS_fork, SYS_wait, SYS_sbrk, SYS_pipe,
    SYS_close, SYS_blkread, SYS_blkwrite, SYS_blkcount, SYS_uptime, SYS_sleep, SYS_poweroff, SYS_spawn,
};

static inline int syscall3(int n, u32 a, u32 b, u32 c)
{
    int ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

static inline void __attribute__((noreturn)) exit(int status)
{
    syscall3(SYS_exit, (u32)status, 0, 0);
    __builtin_unreachable();
}
static inline int write(int fd, const void *buf, u32 n) { return syscall3(SYS_write, fd, (u32)buf, n); }
static inline int read(int fd, void *buf, u32 n) { return syscall3(SYS_read, fd, (u32)buf, n); }
static inline int getpid(void) { return syscall3(SYS_getpid, 0, 0, 0); }
static inline int yield(void) { return syscall3(SYS_yield, 0, 0, 0); }
static inline int fork(void) { return syscall3(SYS_fork, 0, 0, 0); }
static inline int wait(int *status) { return syscall3(SYS_wait, (u32)status, 0, 0); }
static inline void *sbrk(int incr) { return (void *)syscall3(SYS_sbrk, (u32)incr, 0, 0); }
static inline int pipe(int fds[2]) { return syscall3(SYS_pipe, (u32)fds, 0, 0); }
static inline int close(int fd) { return syscall3(SYS_close, fd, 0, 0); }
static inline int blkread(u32 lba, void *buf, u32 n) { return syscall3(SYS_blkread, lba, (u32)buf, n); }
static inline int blkwrite(u32 lba, const void *buf, u32 n) { return syscall3(SYS_blkwrite, lba, (u32)buf, n); }
static inline int blkcount(void) { return syscall3(SYS_blkcount, 0, 0, 0); }
static inline u32 uptime(void) { return (u32)syscall3(SYS_uptime, 0, 0, 0); }
static inline int sleep(u32 ticks) { return syscall3(SYS_sleep, ticks, 0, 0); }
static inline int spawn(const char *name, const char *arg) { return syscall3(SYS_spawn, (u32)name, (u32)arg, 0); }

#define WAIT_KILLED 0x100 /* wait status of a process killed by exception vector (status & 0xFF) */

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
u32 atou(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void die(const char *msg) __attribute__((noreturn));

/* FNV-1a, 32 bit */
#define FNV_INIT 0x811C9DC5u
static inline u32 fnv(u32 h, const void *p, u32 n)
{
    const u8 *b = p;
    while (n--)
        h = (h ^ *b++) * 0x01000193u;
    return h;
}
static inline u32 fnv_u32(u32 h, u32 v) { return fnv(h, &v, sizeof v); }
static inline u32 lcg(u32 *s) { return *s = *s * 1664525u + 1013904223u; }

/* Workload size: argv[1] if given, else the default. */
static inline u32 arg_n(int argc, char **argv, u32 dflt) { return argc > 1 ? atou(argv[1]) : dflt; }

/* Disk layout written by tools/mkdisk.py (sector 0). */
#define DISK_MAGIC "PVDISK01"
#define DISK_MAX_FILES 16
struct disk_file {
    char name[16];
    u32 lba, bytes;
};
struct disk_header {
    char magic[8];
    u32 nfiles, scratch_lba, scratch_sectors, results_lba;
    struct disk_file files[DISK_MAX_FILES];
};
int read_disk_header(struct disk_header *h);

#endif
