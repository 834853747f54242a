/* Kernel panics, assertion failures (reported through #UD, like BUG()) and power-off via the exit port.
 * A panic prints its reason and a register dump, then powers off with EXIT_PANIC. */
#include "kernel.h"

#define EXIT_PORT 0xF4

static const char *assert_expr, *assert_file;
static int assert_line;

void __attribute__((noreturn)) poweroff(int code)
{
    console_flush();
    outb(EXIT_PORT, (u8)code);
    arch_halt_forever();
}

int kassert_pending(void) { return assert_expr != NULL; }

void __attribute__((noreturn)) kassert_fail(const char *expr, const char *file, int line)
{
    assert_expr = expr;
    assert_file = file;
    assert_line = line;
    arch_bug();
}

static void dump_regs(const struct trapframe *tf)
{
    u32 esp = trap_from_user(tf) ? tf->esp : (u32)&tf->esp;
    kprintf("  eax=%08x ebx=%08x ecx=%08x edx=%08x\n", tf->eax, tf->ebx, tf->ecx, tf->edx);
    kprintf("  esi=%08x edi=%08x ebp=%08x esp=%08x\n", tf->esi, tf->edi, tf->ebp, esp);
    kprintf("  eip=%08x cs=%04x eflags=%08x trap=%u err=%08x\n", tf->eip, tf->cs & 0xFFFF, tf->eflags,
            tf->trapno, tf->err);
    kprintf("  cr0=%08x cr2=%08x cr3=%08x cr4=%08x\n", read_cr0(), read_cr2(), read_cr3(), read_cr4());
    if (cur)
        kprintf("  current: pid %d (%s)\n", cur->pid, cur->name);
}

void __attribute__((noreturn)) panic_trap(const struct trapframe *tf, const char *what)
{
    console_panic_mode();
    if (assert_expr)
        kprintf("kernel panic: assertion failed: %s at %s:%d\n", assert_expr, assert_file, assert_line);
    else
        kprintf("kernel panic: %s in kernel mode\n", what);
    dump_regs(tf);
    poweroff(EXIT_PANIC);
}

void __attribute__((noreturn)) panic(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    console_panic_mode();
    kprintf("kernel panic: %s\n", buf);
    poweroff(EXIT_PANIC);
}
