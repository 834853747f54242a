/* The in-place VMM of `shadow`: code the patched guest kernel calls in its own ring (real ring 1), mapped in the
 * hypervisor's window of every address space.
 *
 * The hypercall page comes first: entry i at HC_PAGE + HC_STRIDE * i is `int $HC_VECTOR; ret`; the hypervisor
 * knows the call by the entry the int came from (no number in a register).  Arguments in ecx and edx (eax where
 * the call moves a port value, as in/out do); the result in eax; an error sets CF, with the positive error code in
 * eax.  The order below is the ABI (hypervisors/shadow/abi.py: HYPERCALLS).
 *
 * The vCPU cache: VCPU_VFLAGS holds the guest's IF (bit 9) and IOPL (bits 12-13) in EFLAGS positions, VCPU_PENDING
 * is set by the hypervisor while an interrupt waits and IF is clear.  The hypervisor's vCPU reads the cache; no
 * control register is mirrored here.
 *
 * Every entry below preserves every register and the arithmetic flags, as the instruction it stands for does.  The
 * instructions that run after an irq_enable hypercall before the waiting interrupt is taken are part of the ABI
 * (abi.py: deliver_after). */

    .text

    .macro HYPERCALL name
    .balign HC_STRIDE
    .globl shadow_hc_\name
shadow_hc_\name:
    int $HC_VECTOR
    ret
    .endm

    .globl shadow_hc_page
shadow_hc_page:
    HYPERCALL irq_enable_sti
    HYPERCALL irq_enable_popf
    HYPERCALL irq_enable_iret
    HYPERCALL iret
    HYPERCALL in
    HYPERCALL out
    HYPERCALL read_cr
    HYPERCALL set_cr3               /* from here on: for a kernel ported to the ABI by hand (mode paravirt) */
    HYPERCALL invlpg
    HYPERCALL invlpg_many
    HYPERCALL idle                  /* the hypervisor takes the ret itself: the CPU halts at the caller */
    HYPERCALL irq_pending
    HYPERCALL console_write
    HYPERCALL block_io
    HYPERCALL block_info
    HYPERCALL paging_assist
    .balign HC_STRIDE
    .globl shadow_hc_end
shadow_hc_end:

/* mov %reg, %cr3: `pushl %reg; call *shadow_load_cr3_entry` (an absolute call: boot code loads CR3 before paging is
 * on, at addresses other than its link addresses).  The set_cr3 hypercall instead of a trap to decode and emulate; a
 * value the call refuses is loaded by the guest's own instruction after all (it traps and is emulated as it is).
 * Every register and flag is kept; the argument is consumed. */
    .globl shadow_load_cr3
shadow_load_cr3:
    pushfl
    pushl %eax
    pushl %ecx
    movl 16(%esp), %ecx
    call shadow_hc_set_cr3
    jnc 1f
    movl %ecx, %cr3
1:  popl %ecx
    popl %eax
    popfl
    ret $4

    .section .rodata
    .balign 4
    .globl shadow_load_cr3_entry
shadow_load_cr3_entry:
    .long shadow_load_cr3
    .text

/* invlpg m: `pushl %eax; leal m, %eax; call shadow_invlpg; popl %eax`: the invlpg hypercall (no instruction to
 * decode).  Every register and flag is kept. */
    .globl shadow_invlpg
shadow_invlpg:
    pushfl
    pushl %eax
    pushl %ecx
    movl %eax, %ecx
    call shadow_hc_invlpg
    popl %ecx
    popl %eax
    popfl
    ret

/* sti: `call shadow_sti` */
    .globl shadow_sti
shadow_sti:
    pushfl
    orb $2, VCPU_VFLAGS+1
    testb $1, VCPU_PENDING
    jz 1f
    call shadow_hc_irq_enable_sti   /* then: ret, popfl, ret and the instruction after the site */
1:  popfl
    ret

/* pushf: `call shadow_pushf`.  The return address's slot becomes the flags image: [ret] -> [eflags]. */
    .globl shadow_pushf
shadow_pushf:
    pushl (%esp)                    /* [ret][ret] */
    pushfl
    pushfl                          /* [real][real][ret][ret] */
    xchgl %eax, (%esp)              /* [eax][real][ret][ret]; eax = the real flags */
    andl $~0x13200, %eax            /* IF and IOPL from the cache (RF is 0 in a pushed image) */
    orl VCPU_VFLAGS, %eax
    movl %eax, 12(%esp)             /* [eax][real][ret][eflags] */
    popl %eax
    popfl
    ret

/* popf: `call shadow_popf`.  [ret][new] -> the flags loaded, IF and IOPL cached, [new] consumed. */
    .globl shadow_popf
shadow_popf:
    xchgl %eax, 4(%esp)             /* [ret][eax]; eax = new */
    xchgl %eax, (%esp)              /* [new][eax]; eax = ret */
    xchgl %eax, 4(%esp)             /* [new][ret]; eax restored */
    pushl %eax
    movl 4(%esp), %eax
    andl $0x3200, %eax
    movl %eax, VCPU_VFLAGS
    popl %eax
    testb $2, VCPU_VFLAGS+1
    jz 1f
    testb $1, VCPU_PENDING
    jz 1f
    call shadow_hc_irq_enable_popf  /* then: ret, popfl, ret */
1:  popfl                           /* the arithmetic flags, TF, DF, NT, AC (IF and IOPL are virtual) */
    ret

/* iret: `call shadow_iret`, the guest's frame under the return address: [ret][eip][cs][eflags] ([esp][ss] to an
 * outer ring).  The return address's slot keeps the guest's eax meanwhile. */
    .globl shadow_iret
shadow_iret:
    movl %eax, (%esp)               /* [eax][eip][cs][eflags]... */
    movl 12(%esp), %eax
    testl $0x20000, %eax            /* VM in the frame: the hypervisor's */
    jnz 9f
    pushfl
    testl $0x4000, (%esp)           /* NT now: a task return, the hypervisor's */
    leal 4(%esp), %esp
    jnz 9f
    andl $0x3200, %eax
    testb $3, 8(%esp)
    jz 1f
    cmpl $0x200, %eax               /* to ring 3: natively only with IF set and IOPL 0 */
    jne 9f
    movb 8(%esp), %al
    notb %al
    testb $3, %al                   /* and only to ring 3 (rings 1 and 2 run in real ring 2: the hypervisor's) */
    jnz 9f
    movl $0x200, %eax
    jmp 2f
1:  orb $1, 8(%esp)                 /* to the guest's ring 0: real ring 1 */
2:  movl %eax, VCPU_VFLAGS
    testb $2, VCPU_VFLAGS+1
    jz 3f
    testb $1, VCPU_PENDING
    jz 3f
    call shadow_hc_irq_enable_iret  /* then: ret, popl, iret */
3:  popl %eax
    iret
9:  jmp shadow_hc_iret              /* the hypervisor emulates the iret (the guest's eax at [esp]) */

/* in/out with the port in dx: one synchronous hypercall each.  `in` replaces the low SIZE bytes of eax with the
 * port's value; `out` sends the low SIZE bytes of eax. */
    .macro PORT_DX name, call, size
    .globl shadow_\name
shadow_\name:
    pushl %ecx
    pushl %edx
    pushfl
    movzwl %dx, %ecx
    movl $\size, %edx
    call shadow_hc_\call
    popfl
    popl %edx
    popl %ecx
    ret
    .endm

    PORT_DX inb_dx, in, 1
    PORT_DX inw_dx, in, 2
    PORT_DX inl_dx, in, 4
    PORT_DX outb_dx, out, 1
    PORT_DX outw_dx, out, 2
    PORT_DX outl_dx, out, 4
