/* The arch layer of the kernel ported by hand to `direct`'s para-virtual ABI (hypervisors/direct/ABI.md, ABI 2):
 * the kernel runs in ring 1 and knows it.  The interrupt flag is a byte in the shared page, control registers are
 * read from its mirrors, CR3 loads, TLB flushes, idling and the drivers are hypercalls (int $0x82, number in eax,
 * arguments in ebx, ecx, edx, esi, edi, result in eax), page-table updates are batched (mmu.c). */
#ifndef ARCH_H
#define ARCH_H

#include "../types.h"
#include "direct_abi.h"

/* Segment selectors of the GDT built in desc.c (index << 3 | RPL), as the guest's ring 0 sees them. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
#define SEL_TSS 0x28

#define EFLAGS_IF 0x200u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u
#define CR4_PSE 0x00000010u

#define PV_BYTE(off) (*(volatile u8 *)(DIRECT_SHARED + (off)))
#define PV_WORD(off) (*(volatile u32 *)(DIRECT_SHARED + (off)))

/* --- hypercalls ----------------------------------------------------------------------------------------- */
static inline i32 hypercall0(u32 nr)
{
    i32 r;
    __asm__ volatile("int $0x82" : "=a"(r) : "a"(nr) : "memory");
    return r;
}

static inline i32 hypercall2(u32 nr, u32 a, u32 b)
{
    i32 r;
    __asm__ volatile("int $0x82" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
    return r;
}

static inline i32 hypercall5(u32 nr, u32 a, u32 b, u32 c, u32 d, u32 e)
{
    i32 r;
    __asm__ volatile("int $0x82" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
    return r;
}

/* --- interrupt flag: `vif` in the shared page; enabling with an interrupt `pending` asks for it ------------ */
static inline void irq_disable(void)
{
    __asm__ volatile("movb $0, %0" : "=m"(PV_BYTE(DIRECT_VIF)) : : "memory");
}

static inline void irq_enable(void)
{
    __asm__ volatile("movb $1, %0" : "=m"(PV_BYTE(DIRECT_VIF)) : : "memory");
    if (PV_BYTE(DIRECT_PENDING))
        hypercall0(HC_IRQ_PENDING);
}

/* flags: EFLAGS_IF or 0.  The load and the clear are two instructions: an interrupt taken between them returns
 * with vif as it found it, so the clear still follows a consistent value (as pushf; cli). */
static inline u32 irq_save(void)
{
    u32 flags = PV_BYTE(DIRECT_VIF) ? EFLAGS_IF : 0;
    irq_disable();
    return flags;
}

static inline void irq_restore(u32 flags)
{
    if (flags & EFLAGS_IF)
        irq_enable();
    else
        irq_disable();
}

/* Enable interrupts and wait for the next one: the idle hypercall (sti; hlt in one, so no wake-up is lost). */
static inline void arch_idle(void) { hypercall0(HC_IDLE); }

/* Interrupts off, halt for good (after the exit port did not stop the machine): hlt traps and is emulated. */
static inline void __attribute__((noreturn)) arch_halt_forever(void)
{
    for (;;) {
        irq_disable();
        __asm__ volatile("hlt");
    }
}

static inline void __attribute__((noreturn)) arch_bug(void)
{
    __asm__ volatile("ud2");
    __builtin_unreachable();
}

/* --- control registers (the shared page's mirrors) and TLB ------------------------------------------------ */
static inline u32 read_cr0(void) { return PV_WORD(DIRECT_CR0); }
static inline u32 read_cr2(void) { return PV_WORD(DIRECT_CR2); }
static inline u32 read_cr3(void) { return PV_WORD(DIRECT_CR3); }
static inline u32 read_cr4(void) { return PV_WORD(DIRECT_CR4); }
void write_cr3(u32 v);          /* mmu.c: the queue flushed, then set_cr3 */
void invlpg(u32 vaddr);         /* mmu.c: deferred to the flush in lazy mode */

/* --- page-table updates (Linux's pv-ops set_pte / lazy MMU mode; mmu.c) --------------------------------------
 * An entry of a frame the hypervisor has typed as a page table is updated by mmu_update: at once, or queued in
 * lazy mode and sent as one batch at leave, before a CR3 load, before returning to user mode and when the queue
 * is full.  Any other frame is plain memory and is stored at once.  In lazy mode an entry stored is not read back
 * before the leave (the kernel's lazy sections store each entry at most once and read only others). */
void set_pte(pte_t *ptep, u32 v);
void set_pde(pde_t *pdep, u32 v);
void arch_enter_lazy_mmu(void);
void arch_leave_lazy_mmu(void);
void pv_mmu_flush(void);
extern u32 pv_mmu_count;

/* --- descriptor tables: boot only, the instructions trap and are emulated ----------------------------------- */
struct __attribute__((packed)) dtr {
    u16 limit;
    u32 base;
};

static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt (%0)" : : "r"(d) : "memory"); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt (%0)" : : "r"(d) : "memory"); }
static inline void ltr(u16 sel) { __asm__ volatile("ltr %0" : : "r"(sel)); }

void arch_load_segments(void);

/* --- port I/O (the PIC's and PIT's set-up): trapped and emulated ------------------------------------------------- */
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

/* --- PIC end of interrupt (pic.c): deferred in the shared page while no request waits at an unmasked input ---- */
static inline void arch_pic_eoi(u16 cmd_port)
{
    if (PV_BYTE(DIRECT_EOI_EXIT))
        outb(cmd_port, 0x20);
    else if (cmd_port == 0xA0)
        __asm__ volatile("incb %0" : "+m"(PV_BYTE(DIRECT_EOI_SLAVE)) : : "memory", "cc");
    else
        __asm__ volatile("incb %0" : "+m"(PV_BYTE(DIRECT_EOI_MASTER)) : : "memory", "cc");
}

/* --- para-virtual drivers ---------------------------------------------------------------------------------- */
static inline i32 pv_console_write(const void *buf, u32 len)
{
    return hypercall2(HC_CONSOLE_WRITE, (u32)buf, len);
}

static inline i32 pv_console_read(void *buf, u32 len)
{
    return hypercall2(HC_CONSOLE_READ, (u32)buf, len);
}

static inline i32 pv_block_io(u32 op, u32 lba, u32 count, void *buf)
{
    return hypercall5(HC_BLOCK_IO, op, lba, count, (u32)buf, 0);
}

/* --- traps, user mode and context switch (trap.S) ------------------------------------------------------------ */
struct trapframe {
    u32 edi, esi, ebp, esp_pushal, ebx, edx, ecx, eax; /* pushal */
    u32 es, ds;
    u32 trapno, err;
    u32 eip, cs, eflags; /* pushed by the hypervisor's delivery (the guest's ring in cs) */
    u32 esp, ss;         /* only when the trap came from ring 3 */
};

static inline int trap_from_user(const struct trapframe *tf) { return (tf->cs & 3) != 0; }

extern const u32 arch_trap_vectors[48];
void arch_syscall_entry(void);
void arch_trap_return(void);
void arch_switch(u32 *old_sp, u32 new_sp, u32 new_cr3);

#endif
