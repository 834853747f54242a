/* System calls through int $0x80: number in eax, arguments in ebx, ecx, edx; result in eax.
 * The table below is the whole kernel ABI (user/ulib.h mirrors the numbers). */
#include "kernel.h"

#define BLK_CHUNK 8 /* sectors per ATA request: one page */

typedef i32 (*syscall_fn)(u32 a, u32 b, u32 c, struct trapframe *tf);

static struct file *fd_get(u32 fd) { return fd < NOFILE ? cur->files[fd] : NULL; }

static i32 sys_exit(u32 status, u32 b, u32 c, struct trapframe *tf)
{
    (void)b, (void)c, (void)tf;
    proc_exit((int)(status & 0xFF));
}

static i32 sys_write(u32 fd, u32 buf, u32 len, struct trapframe *tf)
{
    (void)tf;
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (!mm_user_ok(cur, buf, len, 0))
        return -EFAULT;
    return file_write(f, (const char *)buf, len);
}

static i32 sys_read(u32 fd, u32 buf, u32 len, struct trapframe *tf)
{
    (void)tf;
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (!mm_user_ok(cur, buf, len, 1))
        return -EFAULT;
    return file_read(f, (char *)buf, len);
}

static i32 sys_getpid(u32 a, u32 b, u32 c, struct trapframe *tf)
{
    (void)a, (void)b, (void)c, (void)tf;
    return cur->pid;
}

static i32 sys_yield(u32 a, u32 b, u32 c, struct trapframe *tf)
{
    (void)a, (void)b, (void)c, (void)tf;
    schedule();
    return 0;
}

static i32 sys_fork(u32 a, u32 b, u32 c, struct trapframe *tf)
{
    (void)a, (void)b, (void)c;
    return proc_fork(tf);
}

static i32 sys_wait(u32 status, u32 b, u32 c, struct trapframe *tf)
{
    (void)b, (void)c, (void)tf;
    return proc_wait((int *)status);
}

static i32 sys_sbrk(u32 incr, u32 b, u32 c, struct trapframe *tf)
{
    (void)b, (void)c, (void)tf;
    return mm_sbrk(cur, (i32)incr);
}

static int fd_alloc(struct file *f)
{
    for (int fd = 0; fd < NOFILE; fd++)
        if (!cur->files[fd]) {
            cur->files[fd] = f;
            return fd;
        }
    return -EMFILE;
}

static i32 sys_pipe(u32 ufds, u32 b, u32 c, struct trapframe *tf)
{
    (void)b, (void)c, (void)tf;
    struct file *rd, *wr;
    if (!mm_user_ok(cur, ufds, 2 * sizeof(int), 1))
        return -EFAULT;
    int err = pipe_create(&rd, &wr);
    if (err < 0)
        return err;
    int fr = fd_alloc(rd), fw = fr < 0 ? -1 : fd_alloc(wr);
    if (fw < 0) {
        if (fr >= 0)
            cur->files[fr] = NULL;
        file_close(rd);
        file_close(wr);
        return -EMFILE;
    }
    ((int *)ufds)[0] = fr;
    ((int *)ufds)[1] = fw;
    return 0;
}

static i32 sys_close(u32 fd, u32 b, u32 c, struct trapframe *tf)
{
    (void)b, (void)c, (void)tf;
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    cur->files[fd] = NULL;
    file_close(f);
    return 0;
}

/* Raw block I/O: count sectors at lba, through a kernel bounce page, one ATA request per page. */
static i32 blk_io(int write, u32 lba, u32 ubuf, u32 count)
{
    if (count > (1u << 16) || !mm_user_ok(cur, ubuf, count * 512, !write))
        return -EFAULT;
    u8 *bounce = page_alloc();
    if (!bounce)
        return -ENOMEM;
    i32 done = 0;
    while ((u32)done < count) {
        u32 n = MIN(count - (u32)done, (u32)BLK_CHUNK);
        u8 *ub = (u8 *)ubuf + (u32)done * 512;
        if (write)
            memcpy(bounce, ub, n * 512);
        int err = ata_rw(write, lba + (u32)done, bounce, n);
        if (err < 0) {
            done = done ? done : err;
            break;
        }
        if (!write)
            memcpy(ub, bounce, n * 512);
        done += (i32)n;
    }
    page_free(bounce);
    return done;
}

static i32 sys_blkread(u32 lba, u32 buf, u32 count, struct trapframe *tf)
{
    (void)tf;
    return blk_io(0, lba, buf, count);
}

static i32 sys_blkwrite(u32 lba, u32 buf, u32 count, struct trapframe *tf)
{
    (void)tf;
    return blk_io(1, lba, buf, count);
}

static i32 sys_blkcount(u32 a, u32 b, u32 c, struct trapframe *tf)
{
    (void)a, (void)b, (void)c, (void)tf;
    return (i32)ata_sectors();
}

static i32 sys_uptime(u32 a, u32 b, u32 c, struct trapframe *tf)
{
    (void)a, (void)b, (void)c, (void)tf;
    return (i32)ticks;
}

static i32 sys_sleep(u32 n, u32 b, u32 c, struct trapframe *tf)
{
    (void)b, (void)c, (void)tf;
    proc_sleep_ticks(n);
    return 0;
}

static i32 sys_poweroff(u32 code, u32 b, u32 c, struct trapframe *tf)
{
    (void)b, (void)c, (void)tf;
    poweroff((int)(code & 0xFF));
}

/* Copy a short NUL-terminated string from user space; -EFAULT if it is not all readable. */
static int copy_user_str(char *dst, u32 src, u32 size)
{
    for (u32 i = 0; i < size; i++) {
        if (!mm_user_ok(cur, src + i, 1, 0))
            return -EFAULT;
        dst[i] = ((const char *)src)[i];
        if (!dst[i])
            return 0;
    }
    return -EINVAL;
}

static i32 sys_spawn(u32 uname, u32 uarg, u32 c, struct trapframe *tf)
{
    (void)c, (void)tf;
    char name[16], arg[65];
    if (copy_user_str(name, uname, sizeof name) < 0 || (uarg && copy_user_str(arg, uarg, sizeof arg) < 0))
        return -EFAULT;
    struct proc *p = proc_spawn(name, uarg ? arg : NULL, cur);
    return p ? p->pid : -ENOENT;
}

/* Numbers are the ABI: keep in step with user/ulib.h. */
static const syscall_fn syscalls[] = {
    [0] = sys_exit,      [1] = sys_write,    [2] = sys_read,      [3] = sys_getpid,
    [4] = sys_yield,     [5] = sys_fork,     [6] = sys_wait,      [7] = sys_sbrk,
    [8] = sys_pipe,      [9] = sys_close,    [10] = sys_blkread,  [11] = sys_blkwrite,
    [12] = sys_blkcount, [13] = sys_uptime,  [14] = sys_sleep,    [15] = sys_poweroff,
    [16] = sys_spawn,
};

void syscall_dispatch(struct trapframe *tf)
{
    kassert(!opt_panic_test); /* cmdline panic=1: the first system call trips a kernel assertion */
    u32 n = tf->eax;
    if (n >= ARRAY_SIZE(syscalls) || !syscalls[n]) {
        tf->eax = (u32)-EINVAL;
        return;
    }
    tf->eax = (u32)syscalls[n](tf->ebx, tf->ecx, tf->edx, tf);
}
