/* iret and lret: to the same ring at ring 0 (which may change IF and IOPL) and at ring 3 (which may not), from
   ring 0 to ring 3 (outer stack, data segments above CPL nulled), and from ring 3 to ring 0 (#GP). */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

.macro flags_now label
    pushfl
    popl %eax
    put "\label", %eax
.endm

/* same_ring_iret "label", eflags: iret to the next instruction with CS as now; print EFLAGS, CS, esp delta. */
.macro same_ring_iret label, eflags
    movl %esp, %ebx
    pushl $\eflags
    pushl %cs
    pushl $9f
    iret
9:  pushfl
    popl %eax
    subl %esp, %ebx
    put "\label eflags", %eax
    movl %cs, %eax
    put "\label cs", %eax
    put "\label esp delta", %ebx
.endm

/* same_ring_lret "label", imm: lret (popping `imm` more bytes) to the next instruction. */
.macro same_ring_lret label, imm
    movl %esp, %ebx
    .if \imm
    pushl $0x11111111
    pushl $0x22222222
    .endif
    pushl %cs
    pushl $9f
    .if \imm
    lret $\imm
    .else
    lret
    .endif
9:  subl %esp, %ebx
    movl %cs, %eax
    put "\label cs", %eax
    put "\label esp delta", %ebx
.endm

/* segs_after "label": print ds, es, fs, gs as they are at ring 3 after a return from ring 0, then load UDATA. */
.macro segs_after label
    movl %esp, %ebx
    pushfl
    movl %ss, %eax
    movl %ds, %ecx
    movl %es, %edx
    movl %fs, %esi
    movl %gs, %edi
    movw $UDATA, %bp
    movw %bp, %ds
    movw %bp, %es
    movl %cs, %ebp
    put "\label cs", %ebp
    put "\label ss", %eax
    movl $ustack_top, %ebp
    subl %ebx, %ebp
    put "\label ustack-esp", %ebp
    put "\label ds", %ecx
    put "\label es", %edx
    put "\label fs", %esi
    put "\label gs", %edi
    popl %eax
    put "\label eflags", %eax
.endm

    .text
    .globl _start
_start:
    probe_init
    same_ring_iret "r0 iret if=1 iopl=3", 0x3246
    same_ring_iret "r0 iret if=0 iopl=0", 0x0002
    same_ring_lret "r0 lret", 0
    same_ring_lret "r0 lret $8", 8

    /* iret from ring 0 to ring 3 with KDATA in ds/es and UDATA in fs/gs, IOPL 3 in the image */
    movl %esp, r0_esp
    movw $UDATA, %ax
    movw %ax, %fs
    movw %ax, %gs
    pushl $UDATA
    pushl $ustack_top - 16
    pushl $0x3246
    pushl $UCODE
    pushl $1f
    iret
1:  segs_after "r0->r3 iret"
    ring0

    /* lret from ring 0 to ring 3, ds/es KDATA, fs/gs null */
    movl %esp, r0_esp
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    pushl $UDATA
    pushl $ustack_top - 8
    pushl $UCODE
    pushl $2f
    lret
2:  segs_after "r0->r3 lret"
    ring0

    ring3 0x202
    same_ring_iret "r3 iret if=0 iopl=3", 0x3002
    same_ring_iret "r3 iret if=1 iopl=0", 0x0202
    same_ring_lret "r3 lret", 0
    same_ring_lret "r3 lret $8", 8
    pushl $0x202
    pushl $KCODE
    pushl $3f
    catch "r3 iret to r0", iret
3:  leal 12(%esp), %esp
    pushl $KCODE
    pushl $4f
    catch "r3 lret to r0", lret
4:  leal 8(%esp), %esp
    ring0

    ring3 0x3202
    same_ring_iret "r3 iopl3 iret if=0 iopl=0", 0x0002
    ring0
    flags_now "back at r0 eflags"
    exit 0
