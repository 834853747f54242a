/* Guest: UART hello with polled transmit (LSR.THRE before each THR write), 8N1 at 115200 baud.
   Expected serial output: "hello from the 16550A\nLCR=03 IER=00 SCR=a5\n", exit value 0. */
#include "pc.h"

main:
        movw $COM1 + 1, %dx                 /* IER: no interrupts */
        xorb %al, %al
        outb %al, %dx
        movw $COM1 + 3, %dx                 /* LCR: DLAB=1 to set the divisor */
        movb $0x80, %al
        outb %al, %dx
        movw $COM1 + 0, %dx                 /* DLL = 1 (115200 baud) */
        movb $1, %al
        outb %al, %dx
        movw $COM1 + 1, %dx                 /* DLM = 0 */
        xorb %al, %al
        outb %al, %dx
        movw $COM1 + 3, %dx                 /* LCR: 8N1, DLAB=0 */
        movb $0x03, %al
        outb %al, %dx
        movw $COM1 + 7, %dx                 /* scratch register round trip */
        movb $0xA5, %al
        outb %al, %dx
        movl $msg_hello, %esi
        call puts
        movl $msg_lcr, %esi
        call puts
        movw $COM1 + 3, %dx
        inb %dx, %al
        call put_hex8
        movl $msg_ier, %esi
        call puts
        movw $COM1 + 1, %dx
        inb %dx, %al
        call put_hex8
        movl $msg_scr, %esi
        call puts
        movw $COM1 + 7, %dx
        inb %dx, %al
        call put_hex8
        movb $'\n', %al
        call putc
        EXIT(0)

        .section .rodata
msg_hello:      .asciz "hello from the 16550A\n"
msg_lcr:        .asciz "LCR="
msg_ier:        .asciz " IER="
msg_scr:        .asciz " SCR="
