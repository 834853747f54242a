/* Ring 3 against the IOPL: with IOPL 0, cli, sti, hlt and every form of port I/O raise #GP(0), leave EAX and
   memory as they were and touch no port; with IOPL 3, cli/sti/in/out/ins/outs run (on the UART's scratch
   register and the PIC's mask) and hlt still raises #GP(0). */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

#define SCRATCH 0x3FF              /* COM1 scratch register */

/* delta out, reg: out <- reg - buffer, EFLAGS kept (the next frame shows EFLAGS; it must not depend on this). */
.macro delta out, reg
    movl \reg, \out
    pushfl
    subl $buffer, \out
    popfl
.endm

.macro io_probes r
    catch "\r cli", cli
    catch "\r sti", sti
    catch "\r hlt", hlt
    movl $0x11223344, %eax
    catch "\r inb $0x21", inb $0x21, %al
    put "\r eax after inb $0x21", %eax
    movw $SCRATCH, %dx
    movl $0x11223344, %eax
    catch "\r inb (dx)", inb %dx, %al
    put "\r eax after inb (dx)", %eax
    movb $0x5a, %al
    catch "\r outb (dx)", outb %al, %dx
    movb $0xa5, %al
    catch "\r outb $0x80", outb %al, $0x80
    movl $buffer, %edi
    movl $0xcccccccc, buffer
    catch "\r insb", insb
    delta %eax, %edi
    put "\r insb edi-buffer,buffer", %eax, buffer
    movl $buffer, %esi
    catch "\r outsb", outsb
    delta %eax, %esi
    put "\r outsb esi-buffer", %eax
    movl $4, %ecx
    movl $buffer, %edi
    catch "\r rep insb", rep insb
    delta %eax, %edi
    put "\r rep insb edi-buffer,ecx,buffer", %eax, %ecx, buffer
    movl $4, %ecx
    movl $buffer, %esi
    catch "\r rep outsb", rep outsb
    delta %eax, %esi
    put "\r rep outsb esi-buffer,ecx", %eax, %ecx
.endm

    .text
    .globl _start
_start:
    probe_init
    movw $SCRATCH, %dx
    movb $0x77, %al
    outb %al, %dx
    ring3 0x202
    io_probes r3.iopl0
    movl $0x11223344, %eax
    catch "r3.iopl0 inl (dx)", inl %dx, %eax      /* not at IOPL 3: QEMU's UART takes byte accesses only */
    put "r3.iopl0 eax after inl (dx)", %eax
    ring0
    movw $SCRATCH, %dx
    inb %dx, %al
    movzbl %al, %eax
    put "r0 scratch after r3.iopl0 (still 77)", %eax

    ring3 0x3202
    xorl %eax, %eax
    io_probes r3.iopl3
    pushfl
    popl %eax
    put "r3.iopl3 eflags after", %eax
    ring0
    movw $SCRATCH, %dx
    inb %dx, %al
    movzbl %al, %eax
    put "r0 scratch after r3.iopl3", %eax
    exit 0

    .section .data
buffer: .long 0, 0
