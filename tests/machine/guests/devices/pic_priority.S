/* Guest: 8259A priority resolution with two requests pending at once (IRQ 0 from the PIT, IRQ 4 from the
   UART's THRE): fixed priority takes IRQ 0 first; after OCW2 "set priority" (IRQ 3 lowest) IRQ 4 goes
   first; the order in which the handlers ran is printed. */
#include "pc.h"

main:
        movl $IRQ_BASE + 0, %ecx
        movl $isr0, %eax
        call set_gate
        movl $IRQ_BASE + 4, %ecx
        movl $isr4, %eax
        call set_gate
        movw $0xFFEE, %ax                   /* IRQ 0 and IRQ 4 */
        call pic_remap
        movw $COM1 + 4, %dx                 /* MCR: OUT2 gates the UART's interrupt onto IRQ 4 */
        movb $0x0B, %al
        outb %al, %dx
        movl $msg_fixed, %esi
        call round
        movb $0xC3, %al                     /* OCW2 set priority: IRQ 3 lowest, so IRQ 4 highest */
        outb %al, $PIC1_CMD
        movl $msg_rotated, %esi
        call round
        movb $0xC7, %al                     /* back to IRQ 7 lowest */
        outb %al, $PIC1_CMD
        movl $msg_restored, %esi
        call round
        EXIT(0)

/* round: with IF=0 wait until IRQ 0 is pending (then park the PIT so no second edge comes), raise IRQ 4
   (ETBEI with THR empty), print IRR, let both in with `sti; nop; nop; cli`, print the handlers' order. */
round:
        call puts
        movl $0, order_len
        movb $0x34, %al                     /* PIT: 1 kHz, mode 2 */
        outb %al, $PIT_CMD
        movb $1193 & 0xFF, %al
        outb %al, $PIT_CH0
        movb $1193 >> 8, %al
        outb %al, $PIT_CH0
        movb $0x0A, %al                     /* OCW3: IRR */
        outb %al, $PIC1_CMD
1:      inb $PIC1_CMD, %al
        testb $0x01, %al
        jz 1b
        movb $0x30, %al                     /* PIT to mode 0, count 0: no further edge for 55 ms */
        outb %al, $PIT_CMD
        xorb %al, %al
        outb %al, $PIT_CH0
        outb %al, $PIT_CH0
        movw $COM1 + 1, %dx
        movb $0x02, %al
        outb %al, %dx
        inb $PIC1_CMD, %al
        andb $0x11, %al
        movl $msg_irr, %esi
        call puts
        call put_hex8
        sti
        nop
        nop
        cli
        movl $msg_order, %esi
        call puts
        xorl %ecx, %ecx
2:      cmpl order_len, %ecx
        jae 3f
        movb order(%ecx), %al
        call putc
        incl %ecx
        jmp 2b
3:      movb $'\n', %al
        call putc
        ret

isr0:
        pushl %eax
        movl order_len, %eax
        movb $'0', order(%eax)
        incl order_len
        movb $PIC_EOI, %al
        outb %al, $PIC1_CMD
        popl %eax
        iret

isr4:
        pushl %eax
        pushl %edx
        movw $COM1 + 2, %dx                 /* IIR: acknowledges THRE */
        inb %dx, %al
        movw $COM1 + 1, %dx                 /* IER off: one interrupt per round */
        xorb %al, %al
        outb %al, %dx
        movl order_len, %eax
        movb $'4', order(%eax)
        incl order_len
        movb $PIC_EOI, %al
        outb %al, $PIC1_CMD
        popl %edx
        popl %eax
        iret

        .section .rodata
msg_fixed:      .asciz "fixed priority: "
msg_rotated:    .asciz "IRQ 3 lowest:   "
msg_restored:   .asciz "IRQ 7 lowest:   "
msg_irr:        .asciz "IRR&0x11="
msg_order:      .asciz " handled: "

        .section .bss
order:          .space 16
order_len:      .long 0
