/* Timer interrupts taken in ring 3 (IF=1 at CPL 3) while ring-3 code keeps faulting (#GP on cli): both kinds of
   event are delivered through the TSS. The first tick that finds 3 ticks and 100 faults counted prints the CS it
   interrupted and exits: the output is the same however many faults fit between two ticks. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 0x20, timer_handler, INT_GATE
    set_gate 13, gp_handler, INT_GATE
    pic_remap 0x20, 0xFE, 0xFF       /* PIC: vectors 0x20/0x28, only IRQ 0 unmasked */
    movb $0x34, %al              /* PIT channel 0, mode 2, ~10 kHz */
    outb %al, $0x43
    movb $119, %al
    outb %al, $0x40
    movb $0, %al
    outb %al, $0x40
    sti
    to_ring3 user
user:
1:  cli
    incl %ebx
    jmp 1b

gp_handler:
    incl faults
    addl $1, 4(%esp)
    addl $4, %esp
    iret

timer_handler:
    pushl %eax
    movb $0x20, %al
    outb %al, $0x20
    incl ticks
    cmpl $3, ticks
    jb 1f
    cmpl $100, faults
    jb 1f
    puts "ticks>=3 faults>=100 cs="
    puthex 8(%esp)
    puts "\n"
    exit 0
1:  popl %eax
    iret
    .section .bss
ticks:
    .long 0
faults:
    .long 0
