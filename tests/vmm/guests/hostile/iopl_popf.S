/* Raising IOPL (and clearing IF) from ring 3 and from ring 1 with popf, popfw and iret: silently ignored; the
   I/O, cli and hlt that would follow still raise #GP(0), and the EFLAGS the kernel sees in the next frame and
   after returning to ring 0 still has IOPL 0 and IF 1. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

.macro attempts r
    pushl $0x3202
    popfl
    pushfl
    popl %eax
    put "\r eflags after popf iopl=3", %eax
    pushw $0x3002
    popfw
    pushfl
    popl %eax
    put "\r eflags after popfw iopl=3 if=0", %eax
    movl %cs, %ebx
    pushl $0x3002
    pushl %ebx
    pushl $9f
    iret
9:  pushfl
    popl %eax
    put "\r eflags after iret iopl=3 if=0", %eax
    catch "\r outb after", outb %al, $0x80
    catch "\r cli after", cli
    catch "\r hlt after", hlt
.endm

    .text
    .globl _start
_start:
    probe_init
    ring3 0x202
    attempts r3
    ring0

    movl %esp, r0_esp              /* to ring 1, data segments 0x39 */
    movl $0x39, %eax
    movw %ax, %ds
    movw %ax, %es
    pushl $0x39
    pushl $ustack_top
    pushl $0x202
    pushl $0x31
    pushl $1f
    iret
1:  attempts r1
    ring0
    pushfl
    popl %eax
    put "r0 eflags", %eax
    exit 0
