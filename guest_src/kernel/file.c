/* Open-file objects shared by descriptors: the console and the two ends of pipes.
 * A pipe is a 512-byte ring in its own page; readers and writers sleep on its counters. */
#include "kernel.h"

#define NFILE 64
#define PIPE_SIZE 512

enum file_type { F_NONE, F_CONSOLE, F_PIPE_READ, F_PIPE_WRITE };

struct pipe {
    u32 rpos, wpos; /* free-running byte counters */
    int readers, writers;
    int rwaiting, wwaiting; /* a reader / writer sleeps on rpos / wpos */
    u8 buf[PIPE_SIZE];
};

struct file {
    enum file_type type;
    int refs;
    struct pipe *pipe;
};

static struct file files[NFILE];
static struct file console_file = {F_CONSOLE, 1, NULL};

struct file *file_console(void) { return &console_file; }

struct file *file_dup(struct file *f)
{
    f->refs++;
    return f;
}

static struct file *file_alloc(enum file_type type, struct pipe *pipe)
{
    for (int i = 0; i < NFILE; i++)
        if (files[i].refs == 0) {
            files[i].type = type;
            files[i].refs = 1;
            files[i].pipe = pipe;
            return &files[i];
        }
    return NULL;
}

int pipe_create(struct file **rd, struct file **wr)
{
    struct pipe *p = page_alloc();
    if (!p)
        return -ENOMEM;
    memset(p, 0, sizeof *p);
    p->readers = p->writers = 1;
    *rd = file_alloc(F_PIPE_READ, p);
    *wr = *rd ? file_alloc(F_PIPE_WRITE, p) : NULL;
    if (!*wr) {
        if (*rd)
            (*rd)->refs = 0;
        page_free(p);
        return -EMFILE;
    }
    return 0;
}

void file_close(struct file *f)
{
    if (--f->refs > 0 || f->type == F_CONSOLE)
        return;
    struct pipe *p = f->pipe;
    if (f->type == F_PIPE_READ)
        p->readers--;
    else
        p->writers--;
    p->rwaiting = p->wwaiting = 0;
    wakeup(&p->rpos);
    wakeup(&p->wpos);
    if (p->readers == 0 && p->writers == 0)
        page_free(p);
    f->type = F_NONE;
}

/* Pipes are touched by processes only and the kernel is not preemptible: no interrupts-off anywhere.
 * A wake-up is skipped when nobody waits. */
static void pipe_sleep(int *waiting, void *chan)
{
    *waiting = 1;
    sleep_on(chan);
}

static void pipe_wake(int *waiting, void *chan)
{
    if (!*waiting)
        return;
    *waiting = 0;
    wakeup(chan);
}

static int pipe_read(struct pipe *p, char *ubuf, u32 len)
{
    while (p->rpos == p->wpos && p->writers > 0)
        pipe_sleep(&p->rwaiting, &p->rpos);
    u32 n = MIN(len, p->wpos - p->rpos);
    for (u32 i = 0; i < n; i++)
        ubuf[i] = (char)p->buf[(p->rpos + i) % PIPE_SIZE];
    p->rpos += n;
    pipe_wake(&p->wwaiting, &p->wpos);
    return (int)n;
}

static int pipe_write(struct pipe *p, const char *ubuf, u32 len)
{
    u32 done = 0;
    while (done < len) {
        if (p->readers == 0)
            return done ? (int)done : -EPIPE;
        u32 room = PIPE_SIZE - (p->wpos - p->rpos);
        if (room == 0) {
            pipe_wake(&p->rwaiting, &p->rpos);
            pipe_sleep(&p->wwaiting, &p->wpos);
            continue;
        }
        u32 n = MIN(room, len - done);
        for (u32 i = 0; i < n; i++)
            p->buf[(p->wpos + i) % PIPE_SIZE] = (u8)ubuf[done + i];
        p->wpos += n;
        done += n;
    }
    pipe_wake(&p->rwaiting, &p->rpos);
    return (int)done;
}

int file_read(struct file *f, char *ubuf, u32 len)
{
    switch (f->type) {
    case F_CONSOLE:
        return console_read(ubuf, len);
    case F_PIPE_READ:
        return pipe_read(f->pipe, ubuf, len);
    default:
        return -EBADF;
    }
}

int file_write(struct file *f, const char *ubuf, u32 len)
{
    switch (f->type) {
    case F_CONSOLE:
        return console_write(ubuf, len);
    case F_PIPE_WRITE:
        return pipe_write(f->pipe, ubuf, len);
    default:
        return -EBADF;
    }
}
