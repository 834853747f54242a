/* Guest: 16550A loopback (MCR.LOOP): THR feeds RBR without reaching the line, MSR mirrors the modem
   outputs (CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2), LSR shows DR; FIFO mode shows in IIR bits 7:6.
   Everything is read during loopback and printed after it (output in loopback would loop back too). */
#include "pc.h"

/* READ(port): the next byte of `seen` = a read of port. */
#define READ(port)  movw $(port), %dx; inb %dx, %al; movb %al, seen(%edi); incl %edi

main:
        xorl %edi, %edi
        movw $COM1 + 3, %dx                 /* 8N1 */
        movb $0x03, %al
        outb %al, %dx
        movw $COM1 + 4, %dx                 /* MCR: LOOP | OUT2 | OUT1 | RTS | DTR */
        movb $0x1F, %al
        outb %al, %dx
        READ(COM1 + 6)                      /* MSR */
        movw $COM1 + 4, %dx                 /* MCR: LOOP | RTS only */
        movb $0x12, %al
        outb %al, %dx
        READ(COM1 + 6)                      /* MSR */
        movw $COM1, %dx                     /* a byte around the loop */
        movb $'Z', %al
        outb %al, %dx
        READ(COM1 + 5)                      /* LSR: DR */
        READ(COM1)                          /* RBR */
        READ(COM1 + 5)                      /* LSR after the read */
        movw $COM1 + 2, %dx                 /* FCR: FIFOs on, both reset */
        movb $0x07, %al
        outb %al, %dx
        READ(COM1 + 2)                      /* IIR in FIFO mode */
        movw $COM1, %dx                     /* three bytes into the receive FIFO */
        movb $'a', %al
        outb %al, %dx
        movb $'b', %al
        outb %al, %dx
        movb $'c', %al
        outb %al, %dx
        READ(COM1)
        READ(COM1)
        READ(COM1)
        READ(COM1 + 5)                      /* LSR with the FIFO empty */
        movw $COM1 + 4, %dx                 /* loopback off: output reaches the line again */
        movb $0x0B, %al
        outb %al, %dx
        movl $labels, %ebx
        xorl %edi, %edi
1:      movl (%ebx), %esi
        testl %esi, %esi
        jz 2f
        call puts
        movb seen(%edi), %al
        call put_hex8
        incl %edi
        addl $4, %ebx
        jmp 1b
2:      movb $'\n', %al
        call putc
        EXIT(0)

        .section .rodata
        .p2align 2
labels: .long l_msr_all, l_msr_rts, l_lsr, l_rbr, l_lsr2, l_iir, l_f1, l_f2, l_f3, l_lsr3, 0
l_msr_all:      .asciz "MSR(loop, all outputs)="
l_msr_rts:      .asciz "\nMSR(loop, RTS)="
l_lsr:          .asciz "\nlooped byte: LSR="
l_rbr:          .asciz " RBR="
l_lsr2:         .asciz " LSR after read="
l_iir:          .asciz "\nIIR with FIFOs="
l_f1:           .asciz " FIFO: "
l_f2:           .asciz " "
l_f3:           .asciz " "
l_lsr3:         .asciz " LSR when empty="

        .section .bss
seen:   .space 16
