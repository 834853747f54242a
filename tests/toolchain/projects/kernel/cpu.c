/* GDT, IDT and CPU identification. */
#include "io.h"
#include "asm.h"

struct dtr {
	u16 limit;
	u32 base;
} __attribute__((packed));

static unsigned long long gdt[3] = {
	0,
	0x00cf9a000000ffffULL, /* KERNEL_CS: flat 4 GiB code */
	0x00cf92000000ffffULL, /* KERNEL_DS: flat 4 GiB data */
};

static u32 idt[256 * 2];

static void idt_set(int vector, void (*handler)(void))
{
	u32 addr = (u32)handler;
	idt[vector * 2] = (addr & 0xffff) | (KERNEL_CS << 16);
	idt[vector * 2 + 1] = (addr & 0xffff0000) | 0x8e00; /* present, DPL 0, interrupt gate */
}

void cpu_init(void)
{
	struct dtr gdtr = { sizeof(gdt) - 1, (u32)gdt };
	struct dtr idtr = { sizeof(idt) - 1, (u32)idt };

	gdt_flush(&gdtr);
	idt_set(32, isr_stub);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

u32 cpu_features(void)
{
	u32 a = 1, b, c, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return d;
}

u32 read_cr0(void)
{
	u32 v;
	__asm__ volatile("movl %%cr0, %0" : "=r"(v));
	return v;
}
