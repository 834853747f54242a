/* 8259A PIC pair (master 0x20, slave 0xA0) remapped to vectors 32..47, and the IRQ handler table.
 * Edge triggered, non-specific EOI, spurious IRQ 7/15 detected through the in-service register. */
#include "kernel.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define ICW1_INIT_ICW4 0x11
#define ICW4_8086 0x01
#define OCW2_EOI 0x20
#define OCW3_READ_ISR 0x0B
#define IRQ_CASCADE 2

static irq_handler_t handlers[16];
static u16 irq_mask = 0xFFFF & ~(1u << IRQ_CASCADE);

static void pic_write_mask(void)
{
    outb(PIC1_DATA, (u8)irq_mask);
    outb(PIC2_DATA, (u8)(irq_mask >> 8));
}

void pic_init(void)
{
    outb(PIC1_CMD, ICW1_INIT_ICW4);
    outb(PIC2_CMD, ICW1_INIT_ICW4);
    outb(PIC1_DATA, 32); /* ICW2: vector base */
    outb(PIC2_DATA, 40);
    outb(PIC1_DATA, 1u << IRQ_CASCADE); /* ICW3: slave on IRQ 2 */
    outb(PIC2_DATA, IRQ_CASCADE);       /* ICW3: slave identity */
    outb(PIC1_DATA, ICW4_8086);
    outb(PIC2_DATA, ICW4_8086);
    pic_write_mask();
}

void pic_unmask(int irq)
{
    u32 flags = irq_save();
    irq_mask &= (u16) ~(1u << irq);
    if (apic_mode)
        ioapic_route(irq, 1);
    else
        pic_write_mask();
    irq_restore(flags);
}

/* apic=1 (apic.c): both 8259As masked for good; the IRQs unmasked so far go to the I/O APIC. */
void pic_handover(void)
{
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
    for (int irq = 0; irq < 16; irq++)
        if (irq != IRQ_CASCADE && !(irq_mask & (1u << irq)))
            ioapic_route(irq, 1);
}

void pic_eoi(int irq)
{
    if (apic_mode) {
        lapic_eoi();
        return;
    }
    if (irq >= 8)
        arch_pic_eoi(PIC2_CMD);
    arch_pic_eoi(PIC1_CMD);
}

/* IRQ 7 / 15 with the in-service bit clear is a spurious interrupt: no EOI to that chip. */
int pic_spurious(int irq)
{
    u16 port = irq == 7 ? PIC1_CMD : PIC2_CMD;
    outb(port, OCW3_READ_ISR);
    if (inb(port) & 0x80)
        return 0;
    if (irq == 15)
        outb(PIC1_CMD, OCW2_EOI); /* the master did see the cascade interrupt */
    return 1;
}

void irq_register(int irq, irq_handler_t h) { handlers[irq] = h; }

/* Called with interrupts off (interrupt gate). The EOI goes out after the handler. */
void irq_dispatch(int irq)
{
    if (apic_mode ? apic_spurious(irq) : (irq == 7 || irq == 15) && pic_spurious(irq))
        return;
    if (handlers[irq])
        handlers[irq]();
    pic_eoi(irq);
}
