/* Processes: table, round-robin run queue, context switch, sleep/wakeup, spawn, fork, exit and wait.
 * The kernel is not preemptible: a tick only marks the time slice used up, and the switch happens on
 * the way back to user mode. Interrupt handlers never touch the run queue: they post wake-ups in a
 * bit mask that schedule() takes with one atomic exchange, so scheduling needs no interrupts-off. */
#include "kernel.h"

#define TIME_SLICE_TICKS 2
#define ARG_MAX 64

struct proc *cur;
int need_resched;
int init_pid = -1;

static struct proc procs[NPROC];
static u8 kstacks[NPROC][KSTACK_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct proc *runq_head, *runq_tail;
static int next_pid = 1;
static int slice_left = TIME_SLICE_TICKS;

static struct proc *const idle = &procs[0];
static volatile u32 irq_wakeups; /* bit i: procs[i] was woken by an interrupt handler */
static u32 loaded_cr3;            /* the address space in CR3 now */

/* --- run queue (interrupts off) ---------------------------------------------------------------------- */
static void runq_push(struct proc *p)
{
    p->state = P_RUNNABLE;
    p->next = NULL;
    if (runq_tail)
        runq_tail->next = p;
    else
        runq_head = p;
    runq_tail = p;
}

static struct proc *runq_pop(void)
{
    struct proc *p = runq_head;
    if (p) {
        runq_head = p->next;
        if (!runq_head)
            runq_tail = NULL;
    }
    return p;
}

/* Make runnable the sleepers that interrupt handlers woke since the last call. */
static void take_irq_wakeups(void)
{
    u32 woken = __atomic_exchange_n(&irq_wakeups, 0, __ATOMIC_SEQ_CST);
    for (int i = 0; woken; i++, woken >>= 1)
        if ((woken & 1) && procs[i].state == P_SLEEPING) {
            procs[i].chan = NULL;
            runq_push(&procs[i]);
        }
}

/* Give the CPU to the next runnable process, or to idle. Process context, interrupts on or off. */
void schedule(void)
{
    take_irq_wakeups();
    struct proc *prev = cur, *next = runq_pop();
    if (!next) {
        if (prev->state == P_RUNNING)
            return; /* nobody else wants the CPU */
        next = idle;
    } else if (prev->state == P_RUNNING && prev != idle) {
        runq_push(prev);
    }
    need_resched = 0;
    slice_left = TIME_SLICE_TICKS;
    if (next == prev) {
        prev->state = P_RUNNING;
        return;
    }
    next->state = P_RUNNING;
    cur = next;
    tss_set_kstack((u32)next->kstack + KSTACK_SIZE);
    /* Idle borrows whatever address space is loaded (it touches kernel memory only); a directory is
     * freed only by another process, which runs on its own. So P -> idle -> P loads nothing. */
    u32 cr3 = next == idle || next->cr3 == loaded_cr3 ? 0 : next->cr3;
    if (cr3)
        loaded_cr3 = cr3;
    arch_switch(&prev->ctx_sp, next->ctx_sp, cr3);
}

/* Sleep until a process calls wakeup(chan); the caller re-checks its condition in a loop. The interrupt
 * flag on return is whatever the process that switched back here had. */
void sleep_on(void *chan)
{
    cur->chan = chan;
    cur->state = P_SLEEPING;
    schedule();
}

/* Sleep until an interrupt handler calls wakeup_from_irq(chan). Called with interrupts off (the caller
 * checked its condition under them) and returns with them off, so the re-check cannot miss a wake-up. */
void sleep_on_irq(void *chan)
{
    sleep_on(chan);
    irq_disable();
}

/* Waiting with interrupts on for a condition an interrupt handler sets (Linux's prepare_to_wait):
 * announce the sleep, then check the condition, then schedule(). A wake-up posted after the
 * announcement makes schedule() come straight back; cancel_sleep() when the condition holds. */
void prepare_sleep(void *chan)
{
    cur->chan = chan;
    cur->state = P_SLEEPING;
}

void cancel_sleep(void)
{
    cur->chan = NULL;
    cur->state = P_RUNNING;
}

/* Process context: make every sleeper on chan runnable. */
void wakeup(void *chan)
{
    for (struct proc *p = procs + 1; p < procs + NPROC; p++)
        if (p->state == P_SLEEPING && p->chan == chan) {
            p->chan = NULL;
            runq_push(p);
        }
}

/* Interrupt context (or interrupts off): post a wake-up for every sleeper on chan. */
void wakeup_from_irq(void *chan)
{
    for (int i = 1; i < NPROC; i++)
        if (procs[i].state == P_SLEEPING && procs[i].chan == chan)
            irq_wakeups |= 1u << i;
}

/* Timer tick (IRQ context): wake tick sleepers that are due, account the time slice. */
void proc_tick(void)
{
    for (int i = 1; i < NPROC; i++) {
        struct proc *p = &procs[i];
        if (p->state == P_SLEEPING && p->chan == (void *)&ticks && (i32)(ticks - p->wake_tick) >= 0)
            irq_wakeups |= 1u << i;
    }
    if (--slice_left <= 0)
        need_resched = 1;
}

void proc_sleep_ticks(u32 n)
{
    u32 flags = irq_save();
    cur->wake_tick = ticks + n;
    while ((i32)(ticks - cur->wake_tick) < 0)
        sleep_on_irq((void *)&ticks);
    irq_restore(flags);
}

/* The idle process (pid 0, the boot thread): halt until an interrupt makes someone runnable. */
void __attribute__((noreturn)) idle_loop(void)
{
    for (;;) {
        if (runq_head || irq_wakeups) {
            schedule();
            continue;
        }
        irq_disable();
        if (irq_wakeups)
            irq_enable();
        else
            arch_idle(); /* sti; hlt: no wake-up can slip in between */
    }
}

void proc_init(void)
{
    idle->pid = 0;
    idle->state = P_RUNNING;
    idle->pgdir = kernel_pgdir;
    idle->cr3 = V2P(kernel_pgdir);
    loaded_cr3 = idle->cr3;
    strncpy0(idle->name, "idle", sizeof idle->name);
    cur = idle;
}

/* --- creation ------------------------------------------------------------------------------------------ */
static struct proc *proc_alloc(void)
{
    for (int i = 1; i < NPROC; i++) {
        struct proc *p = &procs[i];
        if (p->state == P_ZOMBIE && p->orphan) { /* nobody will wait for it: reap now */
            mm_free_pgdir(p->pgdir);
            p->state = P_UNUSED;
        }
        if (p->state != P_UNUSED)
            continue;
        pde_t *pd = mm_new_pgdir();
        if (!pd)
            return NULL;
        memset(p, 0, sizeof *p);
        p->state = P_EMBRYO;
        p->pid = next_pid++;
        p->pgdir = pd;
        p->cr3 = V2P(pd);
        p->kstack = kstacks[i];
        return p;
    }
    return NULL;
}

/* Lay out the kernel stack so that the first arch_switch to p "returns" through the trap return path
 * into user mode with *tf. */
static void proc_prepare_stack(struct proc *p, const struct trapframe *tf)
{
    u32 *sp = (u32 *)(p->kstack + KSTACK_SIZE);
    sp = (u32 *)((u8 *)sp - sizeof *tf);
    memcpy(sp, tf, sizeof *tf);
    *--sp = (u32)arch_trap_return;
    for (int i = 0; i < 4; i++) /* ebp, ebx, esi, edi */
        *--sp = 0;
    p->ctx_sp = (u32)sp;
}

/* Copy argv strings to the top of the user stack (already mapped); returns the initial user esp:
 * [fake return address][argc][argv]. */
static u32 push_args(struct proc *p, const char *name, const char *arg)
{
    u32 top_page_pa = 0;
    pte_t *pte_page = P2V(p->pgdir[(USER_TOP - PAGE_SIZE) >> 22] & ~0xFFFu);
    top_page_pa = pte_page[((USER_TOP - PAGE_SIZE) >> 12) & 0x3FF] & ~0xFFFu;
    u8 *k = P2V(top_page_pa); /* kernel view of the top stack page */
    u32 off = PAGE_SIZE;
    const char *args[2] = {name, arg};
    u32 uargv[3] = {0, 0, 0};
    int argc = arg ? 2 : 1;
    for (int i = argc - 1; i >= 0; i--) {
        u32 n = (u32)strlen(args[i]) + 1;
        off -= n;
        memcpy(k + off, args[i], n);
        uargv[i] = USER_TOP - PAGE_SIZE + off;
    }
    off = ALIGN_DOWN(off, 16) - 16;
    memcpy(k + off, uargv, sizeof uargv);
    u32 argv_ua = USER_TOP - PAGE_SIZE + off;
    u32 frame[3] = {0, (u32)argc, argv_ua};
    off -= sizeof frame;
    memcpy(k + off, frame, sizeof frame);
    return USER_TOP - PAGE_SIZE + off;
}

/* Start the embedded program `name` with one optional argument as a child of parent (or an orphan). */
struct proc *proc_spawn(const char *name, const char *arg, struct proc *parent)
{
    const struct program *prog = program_find(name);
    if (!prog || (arg && strlen(arg) > ARG_MAX))
        return NULL;
    struct proc *p = proc_alloc();
    if (!p)
        return NULL;
    u32 entry;
    void *stack = page_alloc();
    if (elf_load(p, prog, &entry) < 0 || !stack ||
        mm_map_user(p->pgdir, USER_TOP - PAGE_SIZE, memset(stack, 0, PAGE_SIZE), 1) < 0) {
        if (stack)
            page_free(stack);
        mm_free_pgdir(p->pgdir);
        p->state = P_UNUSED;
        return NULL;
    }
    struct trapframe tf;
    memset(&tf, 0, sizeof tf);
    tf.eip = entry;
    tf.cs = SEL_UCODE;
    tf.eflags = EFLAGS_IF | 0x2;
    tf.esp = push_args(p, name, arg);
    tf.ss = SEL_UDATA;
    proc_prepare_stack(p, &tf);
    strncpy0(p->name, name, sizeof p->name);
    p->parent = parent;
    p->orphan = parent == NULL;
    for (int fd = 0; fd < 3; fd++)
        p->files[fd] = file_dup(file_console());
    runq_push(p);
    return p;
}

int proc_fork(struct trapframe *tf)
{
    struct proc *p = proc_alloc();
    if (!p)
        return -EAGAIN;
    if (mm_clone(p->pgdir, cur->pgdir) < 0) {
        mm_free_pgdir(p->pgdir);
        p->state = P_UNUSED;
        return -ENOMEM;
    }
    p->rw_start = cur->rw_start;
    p->heap_start = cur->heap_start;
    p->brk = cur->brk;
    p->parent = cur;
    memcpy(p->name, cur->name, sizeof p->name);
    for (int fd = 0; fd < NOFILE; fd++)
        if (cur->files[fd])
            p->files[fd] = file_dup(cur->files[fd]);
    struct trapframe child = *tf;
    child.eax = 0;
    proc_prepare_stack(p, &child);
    runq_push(p);
    return p->pid;
}

/* --- exit and wait --------------------------------------------------------------------------------------- */
void __attribute__((noreturn)) proc_exit(int status)
{
    struct proc *p = cur;
    for (int fd = 0; fd < NOFILE; fd++)
        if (p->files[fd]) {
            file_close(p->files[fd]);
            p->files[fd] = NULL;
        }
    mm_free_user(p->pgdir); /* the directory goes when the process is reaped */
    if (p->pid == init_pid)
        poweroff(status == 0 ? EXIT_OK : EXIT_FAIL);
    for (struct proc *c = procs + 1; c < procs + NPROC; c++)
        if (c->parent == p) {
            c->parent = NULL;
            c->orphan = 1;
        }
    p->exit_status = status;
    p->state = P_ZOMBIE;
    if (p->parent)
        wakeup(p->parent);
    schedule();
    panic("zombie %d ran again", p->pid);
}

/* Reap one zombie child: its pid, with its status stored at ustatus (if not 0). */
int proc_wait(int *ustatus)
{
    if (ustatus && !mm_user_ok(cur, (u32)ustatus, sizeof *ustatus, 1))
        return -EFAULT;
    for (;;) {
        int children = 0;
        for (struct proc *c = procs + 1; c < procs + NPROC; c++) {
            if (c->parent != cur || c->state == P_UNUSED)
                continue;
            children++;
            if (c->state != P_ZOMBIE)
                continue;
            int pid = c->pid, status = c->exit_status;
            mm_free_pgdir(c->pgdir);
            c->state = P_UNUSED;
            c->parent = NULL;
            if (ustatus)
                *ustatus = status;
            return pid;
        }
        if (!children)
            return -ECHILD;
        sleep_on(cur);
    }
}

/* A user process took an exception it cannot survive: report it and exit with 0x100 | vector. */
void proc_kill_current(const struct trapframe *tf, const char *what, u32 addr)
{
    if (tf->trapno == 14)
        kprintf("kernel: pid %d (%s) killed: %s at %08x, eip %08x, err %x\n", cur->pid, cur->name, what,
                addr, tf->eip, tf->err);
    else
        kprintf("kernel: pid %d (%s) killed: %s, eip %08x, err %x\n", cur->pid, cur->name, what, tf->eip,
                tf->err);
    proc_exit(0x100 | (int)tf->trapno);
}

/* Last stop before iret to ring 3: take the pending reschedule. */
void proc_return_to_user(struct trapframe *tf)
{
    (void)tf;
    if (need_resched)
        schedule();
}
