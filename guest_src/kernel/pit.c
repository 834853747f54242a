/* 8254 PIT channel 0 as the system tick (mode 2, IRQ 0): counts ticks, wakes sleepers, ends time slices.
 * The tick count is never printed: output must not depend on timing. */
#include "kernel.h"

#define PIT_CH0 0x40
#define PIT_MODE 0x43
#define PIT_HZ 1193182u
#define PIT_CH0_LOHI_MODE2 0x34

volatile u32 ticks;

static void timer_irq(void)
{
    ticks++;
    proc_tick();
}

void pit_init(u32 hz)
{
    if (apic_mode) { /* apic=1: the local APIC timer ticks at vector 32 instead (apic.c) */
        irq_register(IRQ_TIMER, timer_irq);
        apic_timer_init(hz);
        return;
    }
    u32 divisor = (PIT_HZ + hz / 2) / hz;
    outb(PIT_MODE, PIT_CH0_LOHI_MODE2);
    outb(PIT_CH0, (u8)divisor);
    outb(PIT_CH0, (u8)(divisor >> 8));
    irq_register(IRQ_TIMER, timer_irq);
    pic_unmask(IRQ_TIMER);
}
