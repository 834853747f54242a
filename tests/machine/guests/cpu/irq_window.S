/* A timer interrupt waiting (IRR set) while IF=0 is taken exactly where the hardware takes it: after the one
   instruction that sti shadows, and right after a popf that sets IF.  The handler records its return EIP. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 0x20, timer_handler, INT_GATE
    pic_remap 0x20, 0xFE, 0xFF       /* PIC: vectors 0x20/0x28, only IRQ 0 unmasked */
    movb $0x34, %al              /* PIT channel 0, mode 2, ~10 kHz */
    outb %al, $0x43
    movb $119, %al
    outb %al, $0x40
    movb $0, %al
    outb %al, $0x40
    call wait_irr
    sti
    nop                          /* sti's shadow: runs before the interrupt */
    .globl after_sti_shadow
after_sti_shadow:
    cli
    call wait_irr
    pushfl
    orl $0x200, (%esp)
    popfl
    .globl after_popf
after_popf:
    cli
    puts "ret1="
    puthex ret_eip
    puts " ret2="
    puthex ret_eip + 4
    puts " n="
    puthex taken
    puts "\n"
    exit 0

wait_irr:                        /* spin with IF=0 until the PIC's IRR shows IRQ 0 */
    movb $0x0A, %al
    outb %al, $0x20
1:  inb $0x20, %al
    testb $1, %al
    jz 1b
    ret

timer_handler:
    pushl %eax
    pushl %ebx
    movl taken, %ebx
    movl 8(%esp), %eax
    movl %eax, ret_eip(,%ebx,4)
    incl taken
    movb $0x20, %al
    outb %al, $0x20
    popl %ebx
    popl %eax
    iret
    .section .bss
taken:
    .long 0
ret_eip:
    .long 0, 0
