/* The arch layer's C half, ported by hand to shadow's para-virtual ABI 1 (shadow_abi.h, PORT.md): the kernel runs
 * in ring 1 and never executes a privileged instruction on a hot path.  The interrupt flag is a word in the vCPU
 * cache page; CR3 loads, invlpg (batched in lazy MMU mode), idle, control-register reads and port I/O are calls
 * into the hypercall page; CR2 is read from the vCPU page.  Descriptor-table loads trap (boot only). */
#ifndef ARCH_H
#define ARCH_H

#include "../types.h"
#include "shadow_abi.h"

/* Segment selectors of the GDT built in desc.c (index << 3 | RPL), as the kernel's frames and tables name them. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
#define SEL_TSS 0x28

#define EFLAGS_IF 0x200u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u
#define CR4_PSE 0x00000010u

/* --- hypercalls ----------------------------------------------------------------------------------------- */
/* A call into entry n of the hypercall page with ecx and edx (and eax for `out`): eax, or -error when CF is set. */
#define hypercall(n, c, d)                                                                                    \
    ({                                                                                                        \
        u32 hc_eax_;                                                                                          \
        u8 hc_cf_;                                                                                            \
        __asm__ volatile("call %P[entry]"                                                                     \
                         : "=a"(hc_eax_), "=@ccc"(hc_cf_)                                                     \
                         : [entry] "i"(SHADOW_HC(n)), "c"((u32)(c)), "d"((u32)(d))                            \
                         : "memory");                                                                         \
        hc_cf_ ? -(i32)hc_eax_ : (i32)hc_eax_;                                                                \
    })

#define hypercall_eax(n, a, c, d)                                                                             \
    ({                                                                                                        \
        u32 hc_eax_ = (a);                                                                                    \
        u8 hc_cf_;                                                                                            \
        __asm__ volatile("call %P[entry]"                                                                     \
                         : "+a"(hc_eax_), "=@ccc"(hc_cf_)                                                     \
                         : [entry] "i"(SHADOW_HC(n)), "c"((u32)(c)), "d"((u32)(d))                            \
                         : "memory");                                                                         \
        hc_cf_ ? -(i32)hc_eax_ : (i32)hc_eax_;                                                                \
    })

/* The kernel's own buffers are in the direct map at KERNEL_BASE: their guest-physical address for a hypercall. */
#define PV_PHYS(p) ((u32)(p)-0xC0000000u)

/* --- interrupt flag: the vCPU cache page ------------------------------------------------------------------ */
#define vcpu_vflags (*(volatile u32 *)VCPU_VFLAGS)
#define vcpu_pending (*(volatile u8 *)VCPU_PENDING)
#define arch_barrier() __asm__ volatile("" : : : "memory")

/* Interrupts back on: an interrupt that waited while they were off is taken now, as after sti on the bare PC. */
static inline void irq_enable(void)
{
    arch_barrier();
    vcpu_vflags = EFLAGS_IF;
    if (vcpu_pending)
        hypercall(HC_IRQ_PENDING, 0, 0);
    arch_barrier();
}

static inline void irq_disable(void)
{
    arch_barrier();
    vcpu_vflags = 0;
    arch_barrier();
}

/* The flags word holds IF (and IOPL, always 0 here) in EFLAGS positions: what pushf would give. */
static inline u32 irq_save(void)
{
    arch_barrier();
    u32 flags = vcpu_vflags;
    vcpu_vflags = 0;
    arch_barrier();
    return flags;
}

static inline void irq_restore(u32 flags)
{
    arch_barrier();
    vcpu_vflags = flags;
    if ((flags & EFLAGS_IF) && vcpu_pending)
        hypercall(HC_IRQ_PENDING, 0, 0);
    arch_barrier();
}

/* Called with interrupts off: the hypervisor turns them on and halts until the next one, with no window between. */
static inline void arch_idle(void) { hypercall(HC_IDLE, 0, 0); }

/* Interrupts off, halt for good (after the exit port did not stop the machine): hlt traps and is emulated. */
static inline void __attribute__((noreturn)) arch_halt_forever(void)
{
    for (;;) {
        vcpu_vflags = 0;
        __asm__ volatile("hlt" : : : "memory");
    }
}

/* BUG(): an invalid opcode the #UD handler turns into a panic with a register dump. */
static inline void __attribute__((noreturn)) arch_bug(void)
{
    __asm__ volatile("ud2");
    __builtin_unreachable();
}

/* --- control registers and TLB ----------------------------------------------------------------------------- */
static inline u32 read_cr0(void) { return (u32)hypercall(HC_READ_CR, 0, 0); }
static inline u32 read_cr2(void) { return *(volatile u32 *)VCPU_CR2; }
static inline u32 read_cr3(void) { return (u32)hypercall(HC_READ_CR, 3, 0); }
static inline u32 read_cr4(void) { return (u32)hypercall(HC_READ_CR, 4, 0); }

static inline void write_cr3(u32 v) { hypercall(HC_SET_CR3, v, 0); }

/* In lazy MMU mode (between arch_enter_lazy_mmu and arch_leave_lazy_mmu) invlpg is queued and the queue goes out as
 * one invlpg_many at the leave, or when it is full (pv.c); otherwise it is one invlpg hypercall.  The kernel's lazy
 * sections touch no page through a mapping they remove. */
extern u32 pv_invlpg_queue[INVLPG_BATCH];
extern u32 pv_invlpg_count;
extern int pv_lazy_mmu;
void pv_invlpg_flush(void);

static inline void invlpg(u32 vaddr)
{
    if (!pv_lazy_mmu) {
        hypercall(HC_INVLPG, vaddr, 0);
        return;
    }
    if (pv_invlpg_count == INVLPG_BATCH)
        pv_invlpg_flush();
    pv_invlpg_queue[pv_invlpg_count++] = vaddr;
}

/* --- page-table updates: plain stores (Linux's pv-ops hooks, kernel/arch/arch.h) ------------------------------
 * Shadow paging only reads the guest's tables: a store needs no hypercall; invlpg or a CR3 load tells the
 * hypervisor, as they tell a processor's TLB. */
#define set_pte(ptep, v) (*(ptep) = (v))
#define set_pde(pdep, v) (*(pdep) = (v))
static inline void arch_enter_lazy_mmu(void) { pv_lazy_mmu = 1; }

static inline void arch_leave_lazy_mmu(void)
{
    pv_lazy_mmu = 0;
    if (pv_invlpg_count)
        pv_invlpg_flush();
}

/* --- descriptor tables: loaded once at boot, by instructions that trap and are emulated --------------------- */
struct __attribute__((packed)) dtr {
    u16 limit;
    u32 base;
};

static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt (%0)" : : "r"(d) : "memory"); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt (%0)" : : "r"(d) : "memory"); }
static inline void ltr(u16 sel) { __asm__ volatile("ltr %0" : : "r"(sel)); }

/* Reload every segment register after lgdt, with the kernel's selectors at its real ring (trap.S). */
void arch_load_segments(void);

/* --- port I/O: synchronous port calls (the PIC, the PIT, the exit port, COM1's receiver) -------------------- */
static inline u8 inb(u16 port) { return (u8)hypercall(HC_IN, port, 1); }
static inline void outb(u16 port, u8 v) { hypercall_eax(HC_OUT, v, port, 1); }

/* The 8259A's non-specific EOI to its command port (kernel/arch/arch.h's hook): counted in the vCPU page, one
 * instruction, and applied by the hypervisor before the PICs are next looked at; a port call only while a request
 * waits at an unmasked input (`eoi_exit`), which the EOI may let through at once. */
static inline void arch_pic_eoi(u16 cmd_port)
{
    if (*(volatile u8 *)VCPU_EOI_EXIT)
        outb(cmd_port, 0x20);
    else if (cmd_port == 0xA0)
        __asm__ volatile("incb %0" : "+m"(*(volatile u8 *)VCPU_EOI_SLAVE) : : "memory", "cc");
    else
        __asm__ volatile("incb %0" : "+m"(*(volatile u8 *)VCPU_EOI_MASTER) : : "memory", "cc");
}

/* A burst of received bytes from COM1: one string instruction, which traps and is emulated as one operation. */
static inline void insb(u16 port, void *buf, u32 count)
{
    __asm__ volatile("rep insb" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

/* --- traps, user mode and context switch (trap.S) ----------------------------------------------------------- */
/* The frame every trap stub builds, lowest address first. ds/es are saved only by the exception
 * stubs (the only ones that reload them); es/ds are undefined in frames of interrupts and syscalls.
 * cs is the selector as the kernel's tables name it (RPL 0 for the kernel's own code). */
struct trapframe {
    u32 edi, esi, ebp, esp_pushal, ebx, edx, ecx, eax; /* pushal */
    u32 es, ds;
    u32 trapno, err;
    u32 eip, cs, eflags; /* pushed by the hypervisor's delivery */
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
