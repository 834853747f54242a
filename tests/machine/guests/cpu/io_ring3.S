/* Port I/O at CPL 3 with IOPL 0 and no I/O bitmap: #GP(0) at the in/out, the port untouched, EAX unchanged;
   mixed with #GP faults the CPU raises itself (cli), 3 rounds; then IOPL 3 lets the same out through. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 13, gp_handler, INT_GATE
    set_gate 0x80, done_handler, INT_GATE_DPL3
    movw $104, tss + 102         /* I/O map base at the TSS limit: no bitmap */
    to_ring3 user
user:
    movl $3, %ecx
1:  movl $0x11223344, %eax
    .globl user_in
user_in:
    inb $0x60, %al
    cmpl $0x11223344, %eax       /* the faulting in must not change EAX */
    jne 2f
    movw $COM1, %dx
    movb $'X', %al
    outb %al, %dx                /* refused: no X on the serial line */
    cli
    loop 1b
    int $0x80
2:  movl $0xBAD, %ebx
    int $0x80

gp_handler:
    pushl %eax
    incl faults
    movl 8(%esp), %eax           /* faulting eip: in imm8 is 2 bytes, out %dx and cli 1 */
    cmpb $0xE4, (%eax)
    jne 1f
    incl 8(%esp)
1:  incl 8(%esp)
    popl %eax
    addl $4, %esp
    iret

done_handler:
    puts "faults="
    puthex faults
    puts " ebx="
    puthex %ebx
    puts "\n"
    cmpl $0, visits              /* second visit: ring 3 with IOPL 3 */
    jne 3f
    incl visits
    orl $0x3000, 8(%esp)         /* IOPL 3 in the returning EFLAGS */
    movl $iopl3_user, (%esp)
    iret
3:  exit 0
iopl3_user:
    movw $COM1, %dx
    movb $'K', %al
    outb %al, %dx
    movb $'\n', %al
    outb %al, %dx
    int $0x80
    .section .bss
faults:
    .long 0
visits:
    .long 0
