/* The arch layer's C half: every privileged or sensitive i386 operation the kernel uses, as static inlines.
 * Nothing outside guest_src/kernel/arch/ contains inline asm; a para-virtual port replaces exactly this folder. */
#ifndef ARCH_H
#define ARCH_H

#include "../types.h"

/* Segment selectors of the GDT built in desc.c (index << 3 | RPL). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
#define SEL_TSS 0x28

#define EFLAGS_IF 0x200u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u
#define CR4_PSE 0x00000010u

/* --- interrupt flag ------------------------------------------------------------------------------- */
static inline u32 irq_save(void)
{
    u32 flags;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
    return flags;
}

static inline void irq_restore(u32 flags)
{
    __asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}

static inline void irq_disable(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" : : : "memory"); }

/* Enable interrupts and halt until the next one (sti's one-instruction shadow makes this race free). */
static inline void arch_idle(void) { __asm__ volatile("sti; hlt" : : : "memory"); }

/* Interrupts off, halt for good (after the exit port did not stop the machine). */
static inline void __attribute__((noreturn)) arch_halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* BUG(): an invalid opcode the #UD handler turns into a panic with a register dump. */
static inline void __attribute__((noreturn)) arch_bug(void)
{
    __asm__ volatile("ud2");
    __builtin_unreachable();
}

/* --- control registers and TLB ---------------------------------------------------------------------- */
static inline u32 read_cr0(void) { u32 v; __asm__ volatile("movl %%cr0, %0" : "=r"(v)); return v; }
static inline u32 read_cr2(void) { u32 v; __asm__ volatile("movl %%cr2, %0" : "=r"(v)); return v; }
static inline u32 read_cr3(void) { u32 v; __asm__ volatile("movl %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(u32 v) { __asm__ volatile("movl %0, %%cr3" : : "r"(v) : "memory"); }
static inline u32 read_cr4(void) { u32 v; __asm__ volatile("movl %%cr4, %0" : "=r"(v)); return v; }

static inline void invlpg(u32 vaddr)
{
    __asm__ volatile("invlpg (%0)" : : "r"(vaddr) : "memory");
}

/* --- para-virtual hooks (Linux's pv-ops set_pte and lazy MMU mode): natively plain stores and nothing -------
 * A para-virtual port (kernel/arch-<hypervisor>/) makes page-table updates hypercalls, batched between enter and
 * leave.  Macros, so that the stores stay the kernel's own (the same code, the same lines). */
#define set_pte(ptep, v) (*(ptep) = (v))
#define set_pde(pdep, v) (*(pdep) = (v))
static inline void arch_enter_lazy_mmu(void) {}
static inline void arch_leave_lazy_mmu(void) {}
/* The 8259A's non-specific EOI to its command port (a port may defer it). */
#define arch_pic_eoi(cmd_port) outb((cmd_port), 0x20)

/* --- descriptor tables ------------------------------------------------------------------------------ */
struct __attribute__((packed)) dtr {
    u16 limit;
    u32 base;
};

static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt (%0)" : : "r"(d) : "memory"); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt (%0)" : : "r"(d) : "memory"); }
static inline void ltr(u16 sel) { __asm__ volatile("ltr %0" : : "r"(sel)); }

/* Reload every segment register after lgdt (entry.S / trap.S). */
void arch_load_segments(void);

/* --- port I/O ----------------------------------------------------------------------------------------- */
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

static inline void insw(u16 port, void *buf, u32 count)
{
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void insb(u16 port, void *buf, u32 count)
{
    __asm__ volatile("rep insb" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void outsw(u16 port, const void *buf, u32 count)
{
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

static inline void outsb(u16 port, const void *buf, u32 count)
{
    __asm__ volatile("rep outsb" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

/* --- traps, user mode and context switch (trap.S) ------------------------------------------------------- */
/* The frame every trap stub builds, lowest address first. ds/es are saved only by the exception
 * stubs (the only ones that reload them); es/ds are undefined in frames of interrupts and syscalls. */
struct trapframe {
    u32 edi, esi, ebp, esp_pushal, ebx, edx, ecx, eax; /* pushal */
    u32 es, ds;
    u32 trapno, err;
    u32 eip, cs, eflags; /* pushed by the CPU */
    u32 esp, ss;         /* only when the trap came from ring 3 */
};

static inline int trap_from_user(const struct trapframe *tf) { return (tf->cs & 3) != 0; }

/* Vector stubs, one per IDT entry the kernel installs (trap.S). */
extern const u32 arch_trap_vectors[48];
void arch_syscall_entry(void);

/* Leave the kernel through the trap return path with `tf` on top of the current stack (new processes). */
void arch_trap_return(void);

/* Save callee-saved registers and the stack pointer into *old_sp, load CR3 if new_cr3 != 0, switch to new_sp. */
void arch_switch(u32 *old_sp, u32 new_sp, u32 new_cr3);

#endif
