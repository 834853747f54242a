/* Reads the PC's device registers right after the hand-over, before touching anything, then prints them:
   "port=value" per port read, "cmos[reg]=value" per CMOS register.  Run on QEMU, it is the reference for
   the board's power-on and firmware state. */
#include "guestkit.h"

static const unsigned short ports[] = {
    0x21, 0xA1,                                     /* 8259A masks (what the firmware left) */
    0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE,       /* 16550A: IER IIR LCR MCR LSR MSR */
    0x1F1, 0x1F2, 0x1F3, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x3F6,  /* ATA, empty channel */
    0x80, 0xF4, 0x43,                               /* POST, isa-debug-exit, PIT control */
};
static const unsigned char cmos_regs[] = { 0x0A, 0x0B, 0x0C, 0x0D, 0x32, 0x15, 0x16, 0x17, 0x18, 0x30, 0x31,
                                           0x34, 0x35 };
static unsigned char port_values[sizeof ports / sizeof ports[0]];
static unsigned char cmos_values[sizeof cmos_regs];

static void put2(unsigned v) { gk_putc("0123456789abcdef"[(v >> 4) & 15]); gk_putc("0123456789abcdef"[v & 15]); }

int main(unsigned magic, void *info)
{
    (void)magic; (void)info;
    for (unsigned i = 0; i < sizeof ports / sizeof ports[0]; i++)
        port_values[i] = inb(ports[i]);
    for (unsigned i = 0; i < sizeof cmos_regs; i++) {
        outb(0x70, cmos_regs[i]);
        cmos_values[i] = inb(0x71);
    }
    for (unsigned i = 0; i < sizeof ports / sizeof ports[0]; i++) {
        gk_puthex(ports[i]); gk_putc('='); put2(port_values[i]); gk_putc('\n');
    }
    for (unsigned i = 0; i < sizeof cmos_regs; i++) {
        gk_puts("cmos["); put2(cmos_regs[i]); gk_puts("]="); put2(cmos_values[i]); gk_putc('\n');
    }
    return 0;
}
