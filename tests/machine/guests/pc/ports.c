/* Absent and text-mode devices as a PC kernel probes them: reads of unassigned ports (8, 16 and 32 bits), the
   monochrome adapter's ports (not decoded in colour mode), the colour VGA ports a text-mode kernel touches (apart
   from the cursor, which the firmware's own messages moved), the 8042's state and answers, and the memory outside
   the text window (all ones).  Printed on the UART; the same on QEMU and on previrt run. */
#include "guestkit.h"

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

static void line(const char *what, u32 port, u32 v)
{
    gk_puts(what); gk_putc(' '); gk_puthex(port); gk_puts(" = "); gk_puthex(v); gk_putc('\n');
}

static u8 kbd_read(void)
{
    for (int i = 0; i < 100000 && !(inb(0x64) & 1); i++)
        ;
    return inb(0x60);
}

int main(void)
{
    static const u16 unassigned[] = {0x100, 0x200, 0x2F8, 0x278, 0x2E8, 0x3E8, 0x3BC, 0x280, 0x300, 0x330, 0x388,
                                     0xE0, 0x3B0, 0x3B4, 0x3B5, 0x3BA};
    for (u32 i = 0; i < sizeof unassigned / sizeof unassigned[0]; i++) {
        u16 p = unassigned[i];
        line("inb", p, inb(p));
        line("inw", p, inw(p));
        line("inl", p, inl(p));
    }
    static const u16 vga[] = {0x3C0, 0x3C1, 0x3C2, 0x3C4, 0x3C5, 0x3C6, 0x3C7, 0x3C8, 0x3CA, 0x3CC, 0x3CE, 0x3CF,
                              0x3DA, 0x3DA, 0x3DA};
    for (u32 i = 0; i < sizeof vga / sizeof vga[0]; i++)
        line("vga", vga[i], inb(vga[i]));
    for (u32 r = 0; r < 0x19; r++) {
        if (r == 0x0E || r == 0x0F) continue;
        outb(0x3D4, (u8)r);
        line("crtc", r, inb(0x3D5));
    }
    line("kbd status", 0x64, inb(0x64));
    outb(0x64, 0x20);
    line("kbd command byte", 0x20, kbd_read());
    outb(0x64, 0xAA);
    line("kbd self-test", 0xAA, kbd_read());
    outb(0x64, 0xAB);
    line("kbd interface test", 0xAB, kbd_read());
    outb(0x64, 0xD0);
    line("kbd output port", 0xD0, kbd_read());
    line("kbd data again", 0x60, inb(0x60));
    outb(0x60, 0xEE);
    line("kbd echo", 0xEE, kbd_read());
    outb(0x60, 0xF2);
    line("kbd identify ack", 0xF2, kbd_read());
    line("kbd identify 1", 0xF2, kbd_read());
    line("kbd identify 2", 0xF2, kbd_read());
    line("kbd status", 0x64, inb(0x64));
    line("mem", 0xA0000, *(volatile u32 *)0xA0000);
    line("mem", 0xB0000, *(volatile u32 *)0xB0000);
    line("mem", 0xB7FFC, *(volatile u32 *)0xB7FFC);
    return 0;
}
