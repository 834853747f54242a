/* Guest: interrupt-driven UART receive, FIFOs off: IRQ 4 on received data available (IIR 0x04), RBR read
   while LSR.DR; a line is echoed upper-cased. FCR is left alone: a byte that arrived early stays in RBR. */
#include "pc.h"

#define BUF_SIZE 64

main:
        movl $IRQ_BASE + 4, %ecx
        movl $uart_isr, %eax
        call set_gate
        movw $0xFFEF, %ax                   /* unmask IRQ 4 only */
        call pic_remap
        movw $COM1 + 3, %dx                 /* LCR: DLAB, divisor 1 (115200 baud) */
        movb $0x80, %al
        outb %al, %dx
        movw $COM1, %dx
        movb $1, %al
        outb %al, %dx
        movw $COM1 + 1, %dx
        xorb %al, %al
        outb %al, %dx
        movw $COM1 + 3, %dx                 /* LCR: 8N1 */
        movb $0x03, %al
        outb %al, %dx
        movw $COM1 + 4, %dx                 /* MCR: DTR | RTS | OUT2 */
        movb $0x0B, %al
        outb %al, %dx
        movw $COM1 + 1, %dx                 /* IER: ERBFI */
        movb $0x01, %al
        outb %al, %dx
1:      cli
        cmpl $0, rx_done
        jne 2f
        sti
        hlt
        jmp 1b
2:      movl $msg_rx, %esi
        call puts
        movl rx_count, %eax
        call put_dec
        movl $msg_bytes, %esi
        call puts
        movl $rx_buf, %esi
        call puts
        EXIT(0)

/* IRQ 4: read the receiver while LSR.DR, upper-casing a-z, until a newline ends the line. */
uart_isr:
        pushal
        movw $COM1 + 2, %dx
        inb %dx, %al
        andb $0x0F, %al
        cmpb $0x04, %al                     /* received data available */
        jne 6f
3:      movw $COM1 + 5, %dx
        inb %dx, %al
        testb $0x01, %al                    /* LSR.DR */
        jz 6f
        movw $COM1, %dx
        inb %dx, %al
        cmpb $'a', %al
        jb 4f
        cmpb $'z', %al
        ja 4f
        subb $0x20, %al
4:      movl rx_count, %ebx
        cmpl $BUF_SIZE - 2, %ebx
        jae 5f
        movb %al, rx_buf(%ebx)
        incl rx_count
5:      cmpb $'\n', %al
        jne 3b
        movl $1, rx_done                    /* the line is complete: IER off, the rest stays unread */
        movw $COM1 + 1, %dx
        xorb %al, %al
        outb %al, %dx
6:      movb $PIC_EOI, %al
        outb %al, $PIC1_CMD
        popal
        iret

        .section .rodata
msg_rx:         .asciz "rx "
msg_bytes:      .asciz " bytes: "

        .section .bss
rx_buf:         .space BUF_SIZE
rx_count:       .long 0
rx_done:        .long 0
