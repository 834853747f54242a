/* Descriptor tables: flat GDT (kernel and user code/data) with one TSS, and the IDT.
 * Exceptions and IRQs use interrupt gates; int $0x80 is a DPL-3 trap gate (interrupts stay on). */
#include "kernel.h"

#define ACC_KCODE 0x9A
#define ACC_KDATA 0x92
#define ACC_UCODE 0xFA
#define ACC_UDATA 0xF2
#define ACC_TSS32 0x89
#define GRAN_4K_32 0xC
#define GATE_INT_DPL0 0x8E
#define GATE_TRAP_DPL3 0xEF
#define VEC_SYSCALL 0x80

struct tss {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
};

static u32 gdt[6][2];
static u32 idt[256][2];
static struct tss tss;

static void set_seg(int i, u32 base, u32 limit, u8 access, u8 gran)
{
    gdt[i][0] = (limit & 0xFFFF) | (base << 16);
    gdt[i][1] = ((base >> 16) & 0xFF) | ((u32)access << 8) | (limit & 0xF0000) | ((u32)gran << 20) |
                (base & 0xFF000000);
}

static void set_gate(int vec, u32 handler, u8 type)
{
    idt[vec][0] = (handler & 0xFFFF) | ((u32)SEL_KCODE << 16);
    idt[vec][1] = (handler & 0xFFFF0000) | ((u32)type << 8);
}

void tss_set_kstack(u32 esp0) { tss.esp0 = esp0; }

void desc_init(void)
{
    static struct dtr gdtr, idtr;
    set_seg(SEL_KCODE >> 3, 0, 0xFFFFF, ACC_KCODE, GRAN_4K_32);
    set_seg(SEL_KDATA >> 3, 0, 0xFFFFF, ACC_KDATA, GRAN_4K_32);
    set_seg(SEL_UCODE >> 3, 0, 0xFFFFF, ACC_UCODE, GRAN_4K_32);
    set_seg(SEL_UDATA >> 3, 0, 0xFFFFF, ACC_UDATA, GRAN_4K_32);
    set_seg(SEL_TSS >> 3, (u32)&tss, sizeof tss - 1, ACC_TSS32, 0);
    tss.ss0 = SEL_KDATA;
    tss.iomap_base = sizeof tss; /* no I/O bitmap: user port I/O faults */

    for (int v = 0; v < 48; v++)
        set_gate(v, arch_trap_vectors[v], GATE_INT_DPL0);
    set_gate(VEC_SYSCALL, (u32)arch_syscall_entry, GATE_TRAP_DPL3);

    gdtr.limit = sizeof gdt - 1;
    gdtr.base = (u32)gdt;
    idtr.limit = sizeof idt - 1;
    idtr.base = (u32)idt;
    lgdt(&gdtr);
    arch_load_segments();
    ltr(SEL_TSS);
    lidt(&idtr);
}
