/* Segment registers as the guest sees them, at ring 0 and ring 3: push, mov to register and to memory, pop,
   lds/lss, far call (the CS it pushes) and far jump, arpl against the current CS. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

/* Pushes of a selector keep only the low 16 bits: with a 32-bit operand size a processor may write the
   selector with a 16-bit store and leave the upper half of the slot as it was (SDM, PUSH). */
.macro push_seg r, seg
    movl $0xa5a5a5a5, -4(%esp)
    pushl %\seg
    popl %eax
    andl $0xffff, %eax
    put "\r push \seg", %eax
.endm

/* mov to a 32-bit register zero-extends (P6 and later); mov to memory stores 16 bits. */
.macro mov_seg r, seg
    movl $0xffffffff, %eax
    movl %\seg, %eax
    put "\r mov \seg to reg", %eax
    movl $0xa5a5a5a5, scratch
    movw %\seg, scratch
    put "\r mov \seg to mem", scratch
.endm

.macro seg_probes r, code, data
    .irp s, cs, ss, ds, es, fs, gs
    push_seg \r, \s
    .endr
    .irp s, cs, ss, ds, es, fs, gs
    mov_seg \r, \s
    .endr
    pushl $\data
    popl %es
    movl %es, %eax
    put "\r pop es then mov", %eax
    pushl $\data
    popl %ss
    movl %ss, %eax
    put "\r pop ss then mov", %eax
    movl $0x12345678, farptr
    movw $\data, farptr + 4
    movl $0, %ebx
    ldsl farptr, %ebx
    movl %ds, %eax
    put "\r lds ds", %eax
    put "\r lds reg", %ebx
    movl %esp, %ecx
    lssl farptr, %ebx
    movl %ss, %eax
    movl %ecx, %esp                /* lss loaded ss only: the pointer's offset went to %ebx */
    put "\r lss ss", %eax
    movl %esp, %ebp
    lcall $\code, $far_callee
    subl %ebp, %ecx
    andl $0xffff, %eax
    put "\r lcall pushed cs", %eax
    put "\r lcall returned esp delta", %ecx
    ljmp $\code, $9f
9:  movl %cs, %eax
    put "\r ljmp cs", %eax
    movl %cs, %ecx
    movl $0x10, %eax
    arpl %cx, %ax
    setz %bl
    movzbl %bl, %ebx
    put "\r arpl kdata,cs", %eax
    put "\r arpl zf", %ebx
.endm

    .text
    .globl _start
_start:
    probe_init
    seg_probes r0, KCODE, KDATA
    ring3
    seg_probes r3, UCODE, UDATA
    ring0
    movl %cs, %eax
    put "back at r0 cs", %eax
    exit 0

/* Far callee: %eax <- the CS slot the far call pushed, %ecx <- esp after lret minus esp before the call (0). */
far_callee:
    movl 4(%esp), %eax
    leal 8(%esp), %ecx
    lret

    .section .data
    .align 4
scratch: .long 0
farptr:  .long 0, 0
