/* Kernel-wide declarations: subsystems' entry points, process structure, errors and assertions.
 * Every C file includes this header; only arch/ contains instructions written by hand. */
#ifndef KERNEL_H
#define KERNEL_H

#include "types.h"
#include <arch.h> /* kernel/arch/, or a para-virtual port's kernel/arch-<hypervisor>/ (-I) */

#define KERNEL_BASE 0xC0000000u
#define USER_TOP 0xC0000000u      /* user space is [USER_BOTTOM, USER_TOP) */
#define USER_BOTTOM 0x00400000u
#define USTACK_MAX (1u << 20)     /* stack grows on demand down to USER_TOP - USTACK_MAX */
#define VMM_WINDOW 0xFC000000u    /* [VMM_WINDOW, 4 GiB) is never mapped: reserved for an in-place VMM */
#define PAGE_SIZE 4096u
#define P2V(pa) ((void *)((u32)(pa) + KERNEL_BASE))
#define V2P(va) ((u32)(va)-KERNEL_BASE)

/* Power-off codes written to the exit port: the run ends with status (code << 1) | 1. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* the workload reported failure (its process exited non-zero or was killed) */
#define EXIT_USAGE 2 /* bad kernel command line */
#define EXIT_PANIC 3 /* kernel panic */

/* Error returns of system calls (negated). */
#define EFAULT 14
#define EINVAL 22
#define EBADF 9
#define ECHILD 10
#define ENOMEM 12
#define EPIPE 32
#define EIO 5
#define ENOENT 2
#define EAGAIN 11
#define EMFILE 24
#define ENODEV 19

/* lib.c */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strncpy0(char *dst, const char *src, size_t n);
u32 parse_u32(const char *s, const char **end);
typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...);
void kprintf(const char *fmt, ...);

/* panic.c */
void __attribute__((noreturn)) panic(const char *fmt, ...);
void __attribute__((noreturn)) panic_trap(const struct trapframe *tf, const char *what);
void __attribute__((noreturn)) kassert_fail(const char *expr, const char *file, int line);
int kassert_pending(void);
void __attribute__((noreturn)) poweroff(int code);
#define kassert(e) ((e) ? (void)0 : kassert_fail(#e, __FILE__, __LINE__))

/* console.c: 16550A UART on COM1 */
void console_init(void);
int console_write(const char *buf, u32 len);
void console_kwrite(const char *buf, u32 len);
int console_read(char *buf, u32 len);
void console_flush(void);
void console_panic_mode(void);

/* pic.c: 8259A pair; pit.c: 8254 timer */
#define IRQ_TIMER 0
#define IRQ_COM1 4
#define IRQ_ATA 14
typedef void (*irq_handler_t)(void);
void pic_init(void);
void pic_unmask(int irq);
void pic_eoi(int irq);
int pic_spurious(int irq);
void irq_register(int irq, irq_handler_t h);
void irq_dispatch(int irq);
void pic_handover(void);

/* apic.c (kernel command line apic=1) */
extern int apic_mode;
void apic_init(void);
void apic_timer_init(u32 hz);
void ioapic_route(int irq, int on);
void lapic_eoi(void);
int apic_spurious(int irq);
void pit_init(u32 hz);
extern volatile u32 ticks;

/* desc.c: GDT, TSS, IDT */
void desc_init(void);
void tss_set_kstack(u32 esp0);

/* trap.c */
void trap_dispatch(struct trapframe *tf);

/* mm.c: physical pages and address spaces */
struct proc;
void mm_init(u32 mem_bytes);
void *page_alloc(void);
void page_free(void *page);
u32 pages_free(void);
pde_t *mm_new_pgdir(void);
void mm_free_pgdir(pde_t *pgdir);
void mm_free_user(pde_t *pgdir);
int mm_map_user(pde_t *pgdir, u32 va, void *page, int writable);
int mm_clone(pde_t *dst, const pde_t *src);
int mm_fault(struct proc *p, u32 addr, u32 err);
int mm_user_ok(const struct proc *p, u32 va, u32 len, int write);
i32 mm_sbrk(struct proc *p, i32 incr);
extern pde_t *kernel_pgdir;

/* proc.c */
#define NPROC 32
#define NOFILE 8
#define KSTACK_SIZE 8192
enum proc_state { P_UNUSED, P_EMBRYO, P_RUNNABLE, P_RUNNING, P_SLEEPING, P_ZOMBIE };
struct file;
struct proc {
    int pid;
    enum proc_state state;
    struct proc *parent;
    struct proc *next; /* run queue link */
    u32 ctx_sp;        /* saved kernel stack pointer (arch_switch) */
    pde_t *pgdir;
    u32 cr3;
    u32 rw_start;      /* user memory: [USER_BOTTOM, rw_start) read-only image, [rw_start, brk) writable */
    u32 heap_start, brk;
    void *chan;        /* what the process sleeps on */
    u32 wake_tick;
    int exit_status;
    int orphan;
    struct file *files[NOFILE];
    char name[16];
    u8 *kstack;
};
extern struct proc *cur;
extern int need_resched;
void proc_init(void);
void __attribute__((noreturn)) idle_loop(void);
void schedule(void);
void sleep_on(void *chan);
void sleep_on_irq(void *chan);
void prepare_sleep(void *chan);
void cancel_sleep(void);
void wakeup(void *chan);
void wakeup_from_irq(void *chan);
void proc_tick(void);
struct proc *proc_spawn(const char *name, const char *arg, struct proc *parent);
int proc_fork(struct trapframe *tf);
int proc_wait(int *ustatus);
void __attribute__((noreturn)) proc_exit(int status);
void proc_kill_current(const struct trapframe *tf, const char *what, u32 addr);
void proc_return_to_user(struct trapframe *tf);
void proc_sleep_ticks(u32 n);
extern int init_pid;

/* file.c: file objects and pipes */
struct file *file_console(void);
struct file *file_dup(struct file *f);
void file_close(struct file *f);
int file_read(struct file *f, char *ubuf, u32 len);
int file_write(struct file *f, const char *ubuf, u32 len);
int pipe_create(struct file **rd, struct file **wr);

/* ata.c */
void ata_init(void);
u32 ata_sectors(void);
int ata_rw(int write, u32 lba, void *buf, u32 count);

/* elf.c / programs */
struct program {
    const char *name;
    const u8 *image;
    u32 size;
};
const struct program *program_find(const char *name);
void programs_list(void);
int elf_load(struct proc *p, const struct program *prog, u32 *entry);

/* syscall.c */
void syscall_dispatch(struct trapframe *tf);

/* main.c: options from the kernel command line */
extern int opt_panic_test;

#endif
