/* Trap stubs (exceptions, IRQs, int $0x80), the trap return path, segment reload and the context switch, ported to
 * shadow's ABI 1.  The kernel runs in real ring 1: a return to ring 3 is a native iret; a return into the kernel
 * moves the frame's IF into the vCPU page and irets natively, unless an interrupt waits for that IF (then the
 * hypervisor's iret takes it right after). */
#include "shadow_abi.h"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x23
#define REAL_RPL 1                  /* the kernel's ring on shadow */

    .text

/* Exceptions without a CPU error code: push a zero so every frame has the same layout. */
.macro EXC_NOERR vec
    .balign 8
exc_\vec:
    pushl $0
    pushl $\vec
    jmp trap_slow
.endm

.macro EXC_ERR vec
    .balign 8
exc_\vec:
    pushl $\vec
    jmp trap_slow
.endm

.macro IRQ num
    .balign 8
irq_\num:
    pushl $0
    pushl $(32 + \num)
    jmp trap_fast
.endm

EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR 17
EXC_NOERR 18
EXC_NOERR 19
EXC_NOERR 20
EXC_NOERR 21
EXC_NOERR 22
EXC_NOERR 23
EXC_NOERR 24
EXC_NOERR 25
EXC_NOERR 26
EXC_NOERR 27
EXC_NOERR 28
EXC_NOERR 29
EXC_NOERR 30
EXC_NOERR 31

/* #PF is hot (demand paging) and cannot be caused by a bad data segment: fast path. */
    .balign 8
exc_14:
    pushl $14
    jmp trap_fast

IRQ 0
IRQ 1
IRQ 2
IRQ 3
IRQ 4
IRQ 5
IRQ 6
IRQ 7
IRQ 8
IRQ 9
IRQ 10
IRQ 11
IRQ 12
IRQ 13
IRQ 14
IRQ 15

    .balign 8
    .globl arch_syscall_entry
arch_syscall_entry:
    pushl $0
    pushl $0x80
    jmp trap_fast

/* The kernel runs on the flat DPL-3 data selector (as Linux i386 does with __USER_DS), so an
 * interrupt or syscall needs no segment reload. Only exceptions save and reload %ds/%es: a user
 * process that loaded a null selector makes the kernel fault with #GP, and trap.c repairs the
 * saved selectors and retries. */
trap_fast:
    subl $8, %esp                   /* es, ds slots: not saved on this path */
    pushal
    pushl %esp
    call trap_dispatch
    addl $4, %esp
    .globl arch_trap_return
arch_trap_return:
    popal
    addl $16, %esp                  /* es, ds, trapno, err */
    jmp trap_iret

trap_slow:
    pushl %ds
    pushl %es
    pushal
    movw $SEL_UDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    pushl %esp
    call trap_dispatch
    addl $4, %esp
    popal
    popl %es
    popl %ds
    addl $8, %esp                   /* trapno, err */

/* [eip][cs][eflags] ([esp][ss] from ring 3), every register restored.
 * To ring 3 (cs RPL 3): a native iret from real ring 1, which leaves the real IF 1 and IOPL 0, as every user frame
 * of this kernel has them.  Into the kernel: the frame's IF becomes the vCPU's, cs gets the real RPL 1, native
 * iret.  An interrupt may arrive between the store to the vCPU page and the iret: it nests one frame below this one
 * and returns here, as it would have been taken right after the iret.  When the frame turns IF on while an
 * interrupt waits, the hypervisor does the iret (hypercall iret: the guest's eax on top) and delivers it after. */
trap_iret:
    testb $3, 4(%esp)
    jnz 2f
    testb $(0x200 >> 8), 9(%esp)    /* the frame's IF */
    jz 1f
    movl $0x200, VCPU_VFLAGS
    testb $1, VCPU_PENDING
    jnz 3f
    orb $REAL_RPL, 4(%esp)
2:  iret
1:  movl $0, VCPU_VFLAGS
    orb $REAL_RPL, 4(%esp)
    iret
3:  pushl %eax
    jmp SHADOW_HC(HC_IRET)

/* void arch_load_segments(void): after lgdt, reload every segment register.  The kernel's stack and code
 * selectors are loaded with the RPL of the ring it really runs in (the hypervisor's GDT shows them at DPL 1). */
    .globl arch_load_segments
arch_load_segments:
    movw $SEL_UDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw $(SEL_KDATA | REAL_RPL), %ax
    movw %ax, %ss
    ljmp $(SEL_KCODE | REAL_RPL), $1f
1:  ret

/* void arch_switch(u32 *old_sp, u32 new_sp, u32 new_cr3): the CR3 load is the set_cr3 hypercall. */
    .globl arch_switch
arch_switch:
    movl 4(%esp), %eax
    movl 8(%esp), %edx
    movl 12(%esp), %ecx
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, (%eax)
    testl %ecx, %ecx
    jz 1f
    call SHADOW_HC(HC_SET_CR3)      /* ecx = the directory; keeps edx */
1:  movl %edx, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

/* The IDT targets for vectors 0..47, in order (desc.c installs them). */
    .section .rodata
    .balign 4
    .globl arch_trap_vectors
arch_trap_vectors:
    .long exc_0, exc_1, exc_2, exc_3, exc_4, exc_5, exc_6, exc_7
    .long exc_8, exc_9, exc_10, exc_11, exc_12, exc_13, exc_14, exc_15
    .long exc_16, exc_17, exc_18, exc_19, exc_20, exc_21, exc_22, exc_23
    .long exc_24, exc_25, exc_26, exc_27, exc_28, exc_29, exc_30, exc_31
    .long irq_0, irq_1, irq_2, irq_3, irq_4, irq_5, irq_6, irq_7
    .long irq_8, irq_9, irq_10, irq_11, irq_12, irq_13, irq_14, irq_15
