/* Guest: interrupt-driven UART transmit: IER.ETBEI with MCR.OUT2, IRQ 4 through the remapped PIC,
   one THR write per THRE interrupt (IIR id 0x02). Expected: the message, then "irq-tx chars=19 isr=20". */
#include "pc.h"

main:
        movl $IRQ_BASE + 4, %ecx
        movl $uart_isr, %eax
        call set_gate
        movw $0xFFEF, %ax                   /* unmask IRQ 4 only */
        call pic_remap
        movw $COM1 + 3, %dx                 /* LCR: 8N1 */
        movb $0x03, %al
        outb %al, %dx
        movw $COM1 + 2, %dx                 /* FCR: FIFOs off */
        xorb %al, %al
        outb %al, %dx
        movw $COM1 + 4, %dx                 /* MCR: DTR | RTS | OUT2 (the PC's IRQ gate) */
        movb $0x0B, %al
        outb %al, %dx
        movl $msg_iir, %esi                 /* nothing pending yet: IIR = 0x01 */
        call puts
        movw $COM1 + 2, %dx
        inb %dx, %al
        andb $0x0F, %al
        call put_hex8
        movb $'\n', %al
        call putc
        movl $msg_irq, tx_next
        movw $COM1 + 1, %dx                 /* IER: ETBEI; THR is empty, so IRQ 4 rises now */
        movb $0x02, %al
        outb %al, %dx
1:      cli
        cmpl $0, tx_done
        jne 2f
        sti
        hlt
        jmp 1b
2:      movl $msg_chars, %esi
        call puts
        movl tx_chars, %eax
        call put_dec
        movl $msg_isr, %esi
        call puts
        movl isr_calls, %eax
        call put_dec
        movb $'\n', %al
        call putc
        EXIT(0)

/* IRQ 4: on a THRE interrupt send the next character, or switch ETBEI off at the end of the text. */
uart_isr:
        pushal
        incl isr_calls
        movw $COM1 + 2, %dx
        inb %dx, %al
        andb $0x0F, %al
        cmpb $0x02, %al
        jne 4f
        movl tx_next, %esi
        movb (%esi), %al
        testb %al, %al
        jz 3f
        incl tx_next
        incl tx_chars
        movw $COM1, %dx
        outb %al, %dx
        jmp 4f
3:      movw $COM1 + 1, %dx
        xorb %al, %al
        outb %al, %dx
        movl $1, tx_done
4:      movb $PIC_EOI, %al
        outb %al, $PIC1_CMD
        popal
        iret

        .section .rodata
msg_iir:        .asciz "IIR before ETBEI="
msg_irq:        .asciz "sent by IRQ 4 only\n"
msg_chars:      .asciz "irq-tx chars="
msg_isr:        .asciz " isr="

        .section .data
tx_next:        .long 0
tx_chars:       .long 0
tx_done:        .long 0
isr_calls:      .long 0
