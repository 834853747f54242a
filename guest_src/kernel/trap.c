/* Trap dispatch: IRQs to their drivers, int $0x80 to the system calls, exceptions to the page-fault
 * handler, to the killing of a user process, or to a kernel panic with a register dump. */
#include "kernel.h"

#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14
#define VEC_IRQ0 32
#define VEC_SYSCALL 0x80

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization", "reserved 21", "reserved 22", "reserved 23", "reserved 24",
    "reserved 25", "reserved 26", "reserved 27", "reserved 28", "reserved 29", "#SX security",
    "reserved 31",
};

/* A user process may have loaded a null or code selector into %ds/%es before trapping: the kernel
 * then faults on its first data access. Put the flat selectors back and retry the instruction. */
static int fixup_segments(struct trapframe *tf)
{
    if ((tf->ds & 0xFFFF) == SEL_UDATA && (tf->es & 0xFFFF) == SEL_UDATA)
        return 0;
    tf->ds = SEL_UDATA;
    tf->es = SEL_UDATA;
    return 1;
}

static void exception(struct trapframe *tf)
{
    u32 n = tf->trapno;
    u32 addr = 0;
    const char *what = exception_names[n];
    if (n == VEC_PF) {
        addr = read_cr2();
        int handled = cur && cur->pid > 0 ? mm_fault(cur, addr, tf->err) : 0;
        if (handled > 0)
            return;
        if (handled == -ENOMEM)
            what = "out of memory (#PF page fault)";
    }
    if (trap_from_user(tf)) {
        proc_kill_current(tf, what, addr);
        return;
    }
    if (n == VEC_GP && fixup_segments(tf))
        return;
    if (n == VEC_UD && kassert_pending())
        panic_trap(tf, "assertion failed");
    panic_trap(tf, what);
}

void trap_dispatch(struct trapframe *tf)
{
    u32 n = tf->trapno;
    if (n == VEC_SYSCALL)
        syscall_dispatch(tf);
    else if (n >= VEC_IRQ0 && n < VEC_IRQ0 + 16)
        irq_dispatch((int)(n - VEC_IRQ0));
    else
        exception(tf);
    if (trap_from_user(tf))
        proc_return_to_user(tf);
}
