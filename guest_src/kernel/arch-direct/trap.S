/* Trap stubs (exceptions, IRQs, int $0x80), the trap return path, segment reload and the context switch of the
 * kernel ported to `direct`.  The return path is the para-virtual iret: a native iret where the ABI allows it (to
 * the kernel's ring, in real ring 1; to ring 3 with IF set and IOPL 0), the `iret` hypercall otherwise, and when an
 * interrupt waits for the vif the iret sets (the hypervisor delivers it as the iret completes).  Queued page-table
 * updates are sent before user code runs; the context switch loads CR3 by hypercall. */

#include "direct_abi.h"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x23
#define EFLAGS_IF 0x200
#define EFLAGS_IOPL 0x3000

    .text

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

/* The para-virtual iret, with the frame [eip][cs][eflags]([esp][ss]) on top of the stack. */
.macro PV_IRET
    pushl %eax                      /* [eax][eip][cs][eflags]... */
    testb $3, 8(%esp)
    jz 2f
    /* to ring 3: natively with IF set and IOPL 0 (iret in ring 1 changes neither) */
    movl 12(%esp), %eax
    andl $(EFLAGS_IF | EFLAGS_IOPL), %eax
    cmpl $EFLAGS_IF, %eax
    jne 9f
    movb $1, DIRECT_SHARED + DIRECT_VIF
    testb $1, DIRECT_SHARED + DIRECT_PENDING
    jnz 9f
    popl %eax
    iret
2:  /* to the kernel's ring (real ring 1): the frame's IF becomes vif */
    testl $EFLAGS_IF, 12(%esp)
    setnz DIRECT_SHARED + DIRECT_VIF
    jz 1f
    testb $1, DIRECT_SHARED + DIRECT_PENDING
    jnz 9f
1:  orb $1, 8(%esp)                 /* the real ring's RPL */
    popl %eax
    iret
9:  movl $HC_IRET, %eax             /* the hypervisor emulates it (the guest's eax at [esp]) and delivers */
    int $DIRECT_HYPERCALL_VECTOR
    ud2
.endm

/* Before a trap returns (to user code above all): page-table updates still queued are sent (a C call: eax, ecx, edx
 * are the frame's), and the hypervisor's deferred queue applied (mmu_flush), so the walk sees them. */
.macro MMU_FLUSH_BEFORE_USER
    cmpl $0, pv_mmu_count
    je 1f
    call pv_mmu_flush
1:  cmpl $0, DIRECT_SHARED + DIRECT_MMU_COUNT
    je 2f
    movl $HC_MMU_FLUSH, %eax
    int $DIRECT_HYPERCALL_VECTOR
2:
.endm

trap_fast:
    subl $8, %esp                   /* es, ds slots: not saved on this path */
    pushal
    pushl %esp
    call trap_dispatch
    addl $4, %esp
    .globl arch_trap_return
arch_trap_return:
    MMU_FLUSH_BEFORE_USER
    popal
    addl $16, %esp                  /* es, ds, trapno, err */
    PV_IRET

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
    MMU_FLUSH_BEFORE_USER
    popal
    popl %es
    popl %ds
    addl $8, %esp                   /* trapno, err */
    PV_IRET

/* void arch_load_segments(void): after lgdt (boot only); the %ss load traps and is emulated. */
    .globl arch_load_segments
arch_load_segments:
    movw $SEL_UDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw $SEL_KDATA, %ax
    movw %ax, %ss
    ljmp $SEL_KCODE, $1f
1:  ret

/* void arch_switch(u32 *old_sp, u32 new_sp, u32 new_cr3): CR3 by the set_cr3 hypercall (write_cr3, mmu.c). */
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
    pushl %edx
    pushl %ecx
    call write_cr3
    addl $4, %esp
    popl %edx
1:  movl %edx, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

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
