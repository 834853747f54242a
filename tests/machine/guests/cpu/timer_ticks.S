/* PIT channel 0 at 1 kHz through the PIC (IRQ 0 → vector 0x20): count 20 ticks with sti; hlt, printing a
   counter of busy work between ticks, then exit.  Used for determinism and the idle path. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 0x20, timer_handler, INT_GATE
    /* PIC: ICW1..ICW4, master vectors 0x20, slave 0x28, mask all but IRQ 0 */
    pic_remap 0x20, 0xFE, 0xFF       /* PIC: vectors 0x20/0x28, only IRQ 0 unmasked */
    /* PIT channel 0, lobyte/hibyte, mode 2, divisor 1193 (~1 kHz) */
    movb $0x34, %al
    outb %al, $0x43
    movb $(1193 & 0xFF), %al
    outb %al, $0x40
    movb $(1193 >> 8), %al
    outb %al, $0x40
    sti
1:  movl $3000, %ecx             /* some busy work, then wait for the next tick */
2:  incl work
    loop 2b
    hlt
    cmpl $20, ticks
    jb 1b
    cli
    puts "ticks="
    puthex ticks
    puts " work="
    puthex work
    puts "\n"
    exit 0

timer_handler:
    pushl %eax
    incl ticks
    movb $0x20, %al              /* non-specific EOI */
    outb %al, $0x20
    popl %eax
    iret
    .section .bss
ticks:
    .long 0
work:
    .long 0
