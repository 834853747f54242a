/* The in-place VMM of `direct`: code the patched guest kernel calls in its own ring (real ring 1), mapped in the
 * hypervisor's window of every address space.  It keeps the guest's interrupt flag and IOPL in the shared page
 * (cli is a store there, patched inline) and calls the hypervisor (int $HYPERCALL_VECTOR) only when an interrupt
 * waits at the moment the guest enables interrupts.  The addresses and numbers come from the host model
 * (hypervisors/direct/abi.py) as -D definitions: SHARED_VIF, SHARED_IOPL, SHARED_PENDING, SHARED_SCRATCH, HC_*.
 *
 * Every entry preserves every register and the arithmetic flags, as the instruction it stands for does.  The
 * instruction counts after each hypercall are part of the ABI (abi.py: HYPERCALLS, deliver_after): the hypervisor
 * lets exactly those instructions, and for sti the one after it, run before it delivers the waiting interrupt. */

    .text

/* sti: `call wedge_sti` (the site) */
    .globl wedge_sti
wedge_sti:
    pushfl
    movb $1, SHARED_VIF
    testb $1, SHARED_PENDING
    jnz 1f
    popfl
    ret
1:  pushl %eax
    movl $HC_IRQ_ENABLE_STI, %eax
    int $HYPERCALL_VECTOR           /* then: popl, popfl, ret and the instruction after the site */
    popl %eax
    popfl
    ret

/* pushf: `call wedge_pushf`.  The return address's slot becomes the flags image: [ret] -> [eflags]. */
    .globl wedge_pushf
wedge_pushf:
    pushl (%esp)                    /* [ret][ret] */
    pushfl                          /* [real][ret][ret] */
    pushl %eax
    pushl %ecx                      /* [ecx][eax][real][ret][ret] */
    movl 8(%esp), %eax
    andl $~0x13200, %eax            /* IF, IOPL and RF come from the virtual CPU (RF is 0 in a pushed image) */
    movzbl SHARED_VIF, %ecx
    shll $9, %ecx
    orl %ecx, %eax
    movzbl SHARED_IOPL, %ecx
    shll $12, %ecx
    orl %ecx, %eax
    movl %eax, 16(%esp)             /* [ecx][eax][real][ret][eflags] */
    popl %ecx
    popl %eax
    popfl
    ret

/* popf: `call wedge_popf`.  [ret][new] -> the flags loaded, the virtual IF and IOPL taken, [new] consumed. */
    .globl wedge_popf
wedge_popf:
    pushl %eax                      /* [eax][ret][new] */
    movl 8(%esp), %eax
    btl $9, %eax
    setc SHARED_VIF
    shrl $12, %eax
    andl $3, %eax
    movb %al, SHARED_IOPL
    movl 4(%esp), %eax
    xchgl %eax, 8(%esp)
    movl %eax, 4(%esp)              /* [eax][new][ret] */
    testb $1, SHARED_VIF
    jz 1f
    testb $1, SHARED_PENDING
    jnz 2f
1:  popl %eax
    popfl                           /* the arithmetic flags, TF, DF, NT, AC (IF and IOPL are virtual) */
    ret
2:  movl $HC_IRQ_ENABLE_POPF, %eax
    int $HYPERCALL_VECTOR           /* then: popl, popfl, ret */
    popl %eax
    popfl
    ret

/* iret: `call wedge_iret`, the guest's frame under the return address: [ret][eip][cs][eflags] ([esp][ss] to an
 * outer ring).  The return address is dropped: it only names the site for the hypervisor when ring 3 reaches it. */
    .globl wedge_iret
wedge_iret:
    leal 4(%esp), %esp              /* drop the return address (lea: the flags are the frame's anyway) */
    pushl %eax                      /* [eax][eip][cs][eflags]... */
    pushfl
    popl %eax
    testl $0x4000, %eax             /* NT now: iret would be a task return, the hypervisor's */
    jnz 9f
    movl 12(%esp), %eax
    testl $0x20000, %eax            /* VM in the frame: the hypervisor's */
    jnz 9f
    testb $3, 8(%esp)
    jnz 3f
    /* to the guest's ring 0: run in real ring 1 */
    btl $9, %eax
    setc SHARED_VIF
    shrl $12, %eax
    andl $3, %eax
    movb %al, SHARED_IOPL
    orb $1, 8(%esp)
    testb $1, SHARED_VIF
    jz 1f
    testb $1, SHARED_PENDING
    jnz 2f
1:  popl %eax
    iret
2:  movl $HC_IRQ_ENABLE_IRET, %eax
    int $HYPERCALL_VECTOR           /* then: popl, iret */
    popl %eax
    iret
3:  /* to ring 3: natively only with IF set and IOPL 0, which ring 1 cannot change by iret; rings 1 and 2 are the
       hypervisor's (they run in real ring 2) */
    andl $0x3200, %eax
    cmpl $0x200, %eax
    jne 9f
    movl 8(%esp), %eax
    andl $3, %eax
    cmpl $3, %eax
    jne 9f
    movb $1, SHARED_VIF
    movb $0, SHARED_IOPL
    testb $1, SHARED_PENDING
    jnz 2b
    cmpl $0, SHARED_MMU_COUNT       /* page-table updates still queued: applied before user code runs */
    jne 7f
    popl %eax
    iret
7:  movl $HC_MMU_FLUSH, %eax
    int $HYPERCALL_VECTOR           /* then: popl, iret */
    popl %eax
    iret
9:  movl $HC_IRET, %eax             /* the hypervisor emulates the iret (the guest's eax is at [esp]) */
    int $HYPERCALL_VECTOR
    ud2                             /* not reached: the hypervisor returned through the guest's frame */

/* outb %al, $0x20 / $0xa0 (a PIC's command port): a non-specific EOI while no request waits at either PIC is counted
 * in the shared page instead (the hypervisor applies it before the PICs are next looked at); anything else goes to
 * the port (an exit, as in full virtualization). */
    .globl wedge_pic_master
wedge_pic_master:
    pushfl
    cmpb $0x20, %al
    jne 1f
    testb $1, SHARED_EOI_EXIT
    jnz 1f
    incb SHARED_EOI_MASTER
    popfl
    ret
1:  outb %al, $0x20
    popfl
    ret

    .globl wedge_pic_slave
wedge_pic_slave:
    pushfl
    cmpb $0x20, %al
    jne 1f
    testb $1, SHARED_EOI_EXIT
    jnz 1f
    incb SHARED_EOI_SLAVE
    popfl
    ret
1:  outb %al, $0xa0
    popfl
    ret

/* Page-table entries (the C source pass's sites): the guest's stores to its page tables are queued in the shared
 * page and applied by the hypervisor in one batch at the next exit (a CR3 load, invlpg, a fault, an interrupt, a
 * hypercall), or by mmu_flush when the queue is full or the guest kernel returns to ring 3; loads see the queue.
 * Only stores to frames the hypervisor has typed as page tables are queued (the bitmap at TYPED_BITMAP): any other
 * store is plain memory and is made at once.  The entry's frame comes from the linear view of the current tables
 * (LINEAR_PD, LINEAR_PT).  Where the store would fault or is not an aligned store to a typed frame through a
 * writable mapping, the wedge makes the guest's own store (wedge_pte_store_plain), with only the return address on
 * the stack: a fault there is the site's fault (the hypervisor unwinds the call). */

/* Append the pair (entry, value) to the page-table queue, ecx holding its count (below MMU_QUEUE_SIZE); a queue that
 * is then full is applied at once (mmu_flush).  ecx is left changed; every other register is kept. */
.macro mmu_append entry, value
    movl \entry, SHARED_MMU_QUEUE(,%ecx,8)
    movl \value, SHARED_MMU_QUEUE+4(,%ecx,8)
    incl %ecx
    movl %ecx, SHARED_MMU_COUNT
    cmpl $MMU_QUEUE_SIZE, %ecx
    jb 9999f
    pushl %eax
    movl $HC_MMU_FLUSH, %eax
    int $HYPERCALL_VECTOR
    popl %eax
9999:
.endm

/* pte_store: `call wedge_pte_store`, eax = the entry's linear address, edx = the value. */
    .globl wedge_pte_store
wedge_pte_store:
    pushfl
    pushl %ecx
    pushl %ebx
    testl $0x80000000, SHARED_CR0   /* paging off: no tables are walked */
    jz 8f
    testl $3, %eax
    jnz 8f
    movl %eax, %ecx
    shrl $22, %ecx
    movl LINEAR_PD(,%ecx,4), %ebx   /* the directory entry */
    testb $1, %bl
    jz 8f
    testl $0x10000, SHARED_CR0      /* CR0.WP: a read-only mapping refuses the kernel's store too */
    jz 1f
    testb $2, %bl
    jz 8f
1:  testb $0x80, %bl
    jz 2f
    testl $0x10, SHARED_CR4         /* PS counts only with CR4.PSE */
    jz 2f
    andl $0xFFC00000, %ebx          /* a 4 MiB page */
    movl %eax, %ecx
    andl $0x003FF000, %ecx
    orl %ecx, %ebx
    jmp 3f
2:  movl %eax, %ecx
    shrl $12, %ecx
    movl LINEAR_PT(,%ecx,4), %ebx   /* the table entry */
    testb $1, %bl
    jz 8f
    testl $0x10000, SHARED_CR0
    jz 4f
    testb $2, %bl
    jz 8f
4:  andl $0xFFFFF000, %ebx
3:  movl %ebx, %ecx
    shrl $12, %ecx
    cmpl $TYPED_FRAMES, %ecx
    jae 8f
    btl %ecx, TYPED_BITMAP
    jnc 8f
    movl %eax, %ecx                 /* queue (physical address, value) */
    andl $0xFFF, %ecx
    orl %ecx, %ebx
    movl SHARED_MMU_COUNT, %ecx
    cmpl $MMU_QUEUE_SIZE, %ecx
    jae 8f
    movl $wedge_pte_load_queued, SHARED_PTE_LOAD_PATH
    mmu_append %ebx, %edx
    popl %ebx
    popl %ecx
    popfl
    ret
8:  popl %ebx
    popl %ecx
    popfl
    .globl wedge_pte_store_plain
wedge_pte_store_plain:
    movl %edx, (%eax)
    ret

/* pte_load: `call *shared_pte_load_path`, eax = the entry's linear address; the value in edx.  With nothing queued
 * the path is the plain load; else the queue is searched, newest first, for the entry's physical address. */
    .globl wedge_pte_load_plain
wedge_pte_load_plain:
    movl (%eax), %edx
    ret

    .globl wedge_pte_load_queued
wedge_pte_load_queued:
    pushfl
    pushl %ecx
    pushl %ebx
    testl $3, %eax
    jnz 8f
    movl %eax, %ecx
    shrl $22, %ecx
    movl LINEAR_PD(,%ecx,4), %ebx
    testb $1, %bl
    jz 8f
    testb $0x80, %bl
    jz 2f
    testl $0x10, SHARED_CR4
    jz 2f
    andl $0xFFC00000, %ebx
    movl %eax, %ecx
    andl $0x003FFFFF, %ecx
    orl %ecx, %ebx
    jmp 3f
2:  movl %eax, %ecx
    shrl $12, %ecx
    movl LINEAR_PT(,%ecx,4), %ebx
    testb $1, %bl
    jz 8f
    andl $0xFFFFF000, %ebx
    movl %eax, %ecx
    andl $0xFFF, %ecx
    orl %ecx, %ebx                  /* ebx = the entry's physical address */
3:  movl SHARED_MMU_COUNT, %ecx
    cmpl $MMU_QUEUE_SIZE, %ecx
    ja 8f
6:  testl %ecx, %ecx
    jz 8f
    decl %ecx
    cmpl %ebx, SHARED_MMU_QUEUE(,%ecx,8)
    jne 6b
    movl SHARED_MMU_QUEUE+4(,%ecx,8), %edx
    popl %ebx
    popl %ecx
    popfl
    ret
8:  popl %ebx
    popl %ecx
    popfl
    jmp wedge_pte_load_plain

/* mov %reg, %cr3: `pushl %reg; call *wedge_load_cr3_entry` (an absolute call: boot code loads CR3 before paging is
 * on, at addresses other than its link addresses).  The set_cr3 hypercall instead of a trap to decode and emulate;
 * a directory the hypercall refuses is loaded by the guest's own instruction after all (it traps, and is refused as
 * the bare instruction's emulation refuses it).  Every register and flag is kept; the argument is consumed. */
    .globl wedge_load_cr3
wedge_load_cr3:
    pushfl
    pushl %eax
    pushl %ebx
    movl 16(%esp), %ebx
    movl $HC_SET_CR3, %eax
    int $HYPERCALL_VECTOR
    testl %eax, %eax
    jz 1f
    movl %ebx, %cr3
1:  popl %ebx
    popl %eax
    popfl
    ret $4

    .section .rodata
    .balign 4
    .globl wedge_load_cr3_entry
wedge_load_cr3_entry:
    .long wedge_load_cr3
    .text

/* invlpg m: `pushl %eax; leal m, %eax; call wedge_invlpg; popl %eax`.  When the newest store to the entry that maps
 * the page is still in the queue and unmaps it (P clear), the flush is queued after it (INVLPG_MARK, linear): it
 * happens when the store does — at the next exit, the return to ring 3 or a full queue, as a para-virtual kernel's
 * lazy-MMU mode defers it; until then the old page stays reachable through that address (where bare would fault).
 * Otherwise (a new mapping must be visible at once) now, by the invlpg hypercall, which applies the queue first. */
    .globl wedge_invlpg
wedge_invlpg:
    pushfl
    pushl %ecx
    pushl %ebx
    movl SHARED_MMU_COUNT, %ecx
    testl %ecx, %ecx
    jz 7f
    cmpl $MMU_QUEUE_SIZE, %ecx
    jae 7f
    testl $0x80000000, SHARED_CR0
    jz 7f
    movl %eax, %ebx
    shrl $22, %ebx
    movl LINEAR_PD(,%ebx,4), %ebx   /* the directory entry: present, a page table (not a 4 MiB page) */
    testb $1, %bl
    jz 7f
    testb $0x80, %bl
    jnz 7f
    andl $0xFFFFF000, %ebx
    pushl %eax
    shrl $12, %eax
    andl $0x3FF, %eax
    leal (%ebx,%eax,4), %ebx        /* ebx = the table entry's physical address */
    popl %eax
6:  testl %ecx, %ecx
    jz 7f
    decl %ecx
    cmpl %ebx, SHARED_MMU_QUEUE(,%ecx,8)
    jne 6b
    testb $1, SHARED_MMU_QUEUE+4(,%ecx,8)  /* the newest store maps a page: the flush must show it now */
    jnz 7f
    movl SHARED_MMU_COUNT, %ecx
    mmu_append $INVLPG_MARK, %eax
    popl %ebx
    popl %ecx
    popfl
    ret
7:  movl %eax, %ebx
    movl $HC_INVLPG, %eax
    int $HYPERCALL_VECTOR
    movl %ebx, %eax
    popl %ebx
    popl %ecx
    popfl
    ret

/* Device fast paths (devices.c decides; these stubs keep every register and flag the instruction would keep).
 * Where devices.c says "not here", the guest's instruction itself runs (at wedge_*_device: one exit, the device's
 * answer); a call from anywhere else is not expected. */

/* inb %dx, %al: `call wedge_inb_dx` */
    .globl wedge_inb_dx
wedge_inb_dx:
    pushfl
    pushl %ecx
    pushl %edx
    pushl %eax
    movzwl %dx, %eax
    pushl %eax
    call wedge_c_inb
    addl $4, %esp
    testl %eax, %eax
    js 1f
    movb %al, (%esp)                /* the guest's al */
    popl %eax
    popl %edx
    popl %ecx
    popfl
    ret
1:  popl %eax
    popl %edx
    popl %ecx
    popfl
    .globl wedge_inb_device
wedge_inb_device:
    inb %dx, %al
    ret

/* outb %al, %dx: `call wedge_outb_dx` */
    .globl wedge_outb_dx
wedge_outb_dx:
    pushfl
    pushl %ecx
    pushl %edx
    pushl %eax
    movzbl %al, %ecx
    movzwl %dx, %edx
    pushl %ecx
    pushl %edx
    call wedge_c_outb
    addl $8, %esp
    testl %eax, %eax
    popl %eax
    popl %edx
    popl %ecx
    js 1f
    popfl
    ret
1:  popfl
    .globl wedge_outb_device
wedge_outb_device:
    outb %al, %dx
    ret

/* rep insw %dx, %es:(%edi): `call wedge_rep_insw`; taken whole (edi advanced, ecx 0) or by the device. */
    .globl wedge_rep_insw
wedge_rep_insw:
    pushfl
    testl $0x400, (%esp)            /* DF set: the device (the copy here runs upwards) */
    jnz 2f
    pushl %ecx
    pushl %eax
    movw %es, %ax                   /* the copy writes through DS: only where ES is the same selector */
    movw %ds, %cx
    cmpw %ax, %cx
    popl %eax
    movl (%esp), %ecx               /* the count again (mov and pop keep the comparison's flags) */
    jne 3f
    pushl %edx
    pushl %eax
    pushl %edi
    pushl %ecx
    movzwl %dx, %eax
    pushl %eax
    call wedge_c_insw
    addl $12, %esp
    testl %eax, %eax
    popl %eax
    popl %edx
    popl %ecx
    jz 1f
    leal (%edi,%ecx,2), %edi
    xorl %ecx, %ecx
    popfl
    ret
3:  popl %ecx
1:
2:  popfl
    .globl wedge_rep_insw_device
wedge_rep_insw_device:
    rep insw %dx, %es:(%edi)
    ret

/* rep outsw / rep outsb (%esi), %dx: `call wedge_rep_outsw` / `call wedge_rep_outsb` (one body, by unit size). */
.macro rep_outs suffix, size
    .globl wedge_rep_outs\suffix
wedge_rep_outs\suffix:
    pushfl
    testl $0x400, (%esp)
    jnz 2f
    pushl %ecx
    pushl %edx
    pushl %eax
    pushl %esi
    pushl %ecx
    pushl $\size
    movzwl %dx, %eax
    pushl %eax
    call wedge_c_outs
    addl $16, %esp
    testl %eax, %eax
    popl %eax
    popl %edx
    popl %ecx
    jz 2f
    leal (%esi,%ecx,\size), %esi
    xorl %ecx, %ecx
    popfl
    ret
2:  popfl
    .globl wedge_rep_outs\suffix\()_device
wedge_rep_outs\suffix\()_device:
    rep outs\suffix (%esi), %dx
    ret
.endm
    rep_outs w, 2
    rep_outs b, 1
