/* Guest: IA-32 exception delivery in ring 0, checked against a second PC model: vector, error code and the
   saved EIP (offset from the start of each case) for #DE #DB #BP #OF #BR #UD #DF #NP #GP #PF, then resume. */
#include "pc.h"

/* CASE(n): the next case; a fault resumes at n_done. */
#define CASE(n)  movl $n, case_start; movl $n##_done, resume; n:
#define DONE(n)  n##_done:

#define NP_VECTOR  0x31                     /* gate present bit clear */
#define BAD_VECTOR 0x32                     /* gate with an invalid type */
#define BIG_PAGES  0x00400000               /* 4-8 MiB: a page table with test pages */

main:
        xorl %ecx, %ecx                     /* every exception vector to `fault` */
1:      movl fault_stubs(,%ecx,4), %eax
        call set_gate
        incl %ecx
        cmpl $32, %ecx
        jb 1b
        movb $0x0E, idt + NP_VECTOR * 8 + 5 /* not present */
        movb $0x80, idt + BAD_VECTOR * 8 + 5    /* present, type 0 (reserved) */
        call paging_on

        CASE(c_de)
        xorl %ecx, %ecx
        divl %ecx                           /* #DE: fault, EIP at the div */
        DONE(c_de)
        CASE(c_bp)
        int3                                /* #BP: trap, EIP after */
        DONE(c_bp)
        CASE(c_of)
        movl $0x7FFFFFFF, %eax
        addl $1, %eax
        into                                /* #OF: trap, EIP after */
        DONE(c_of)
        CASE(c_br)
        movl $5, %eax
        bound %eax, bounds                  /* #BR: fault (5 not in [0, 3]) */
        DONE(c_br)
        CASE(c_ud)
        ud2                                 /* #UD: fault */
        DONE(c_ud)
        CASE(c_np)
        int $NP_VECTOR                      /* #NP(vector*8+2): fault at the int */
        DONE(c_np)
        CASE(c_gpgate)
        int $BAD_VECTOR                     /* #GP(vector*8+2): not a gate */
        DONE(c_gpgate)
        CASE(c_gpsel)
        movw $0x1233, %ax
        movw %ax, %ds                       /* #GP(0x1230): selector past the GDT limit */
        DONE(c_gpsel)
        movw $KDATA, %ax
        movw %ax, %ds
        CASE(c_db)
        pushfl
        orl $0x100, (%esp)
        popfl                               /* TF=1: #DB after the next instruction */
        nop
        nop
        DONE(c_db)
        CASE(c_pf_np_read)
        movl BIG_PAGES + 0x1008, %eax       /* not present, read: #PF(0) */
        DONE(c_pf_np_read)
        CASE(c_pf_np_write)
        movl %eax, BIG_PAGES + 0x1010       /* not present, write: #PF(2) */
        DONE(c_pf_np_write)
        CASE(c_ro_nowp)
        movl $0x11223344, BIG_PAGES + 0x20  /* read-only page, CR0.WP=0: ring 0 may write */
        DONE(c_ro_nowp)
        movl %cr0, %eax
        orl $0x10000, %eax                  /* CR0.WP */
        movl %eax, %cr0
        CASE(c_ro_wp)
        movl $0x55667788, BIG_PAGES + 0x24  /* read-only page, CR0.WP=1: #PF(3) */
        DONE(c_ro_wp)
        movl $msg_ro, %esi
        call puts
        movl BIG_PAGES + 0x20, %eax
        call put_hex32
        movb $' ', %al
        call putc
        movl BIG_PAGES + 0x24, %eax
        call put_hex32
        movb $'\n', %al
        call putc
        movb $0x0E, idt + 11 * 8 + 5        /* #NP's own gate not present: #NP during #NP is a #DF */
        CASE(c_df)
        int $NP_VECTOR
        DONE(c_df)
        EXIT(0)

/* paging_on: 0-4 MiB one 4 MiB page; 4-8 MiB through a page table: page 0 read-only, page 1 absent. */
paging_on:
        movl $0x00000083, page_dir          /* P | W | PS */
        movl $page_table, %eax
        orl $0x3, %eax
        movl %eax, page_dir + 4
        movl $BIG_PAGES | 0x1, page_table   /* page 0: present, read-only */
        movl $0, page_table + 4             /* page 1: not present */
        movl %cr4, %eax
        orl $0x10, %eax                     /* CR4.PSE */
        movl %eax, %cr4
        movl $page_dir, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $0x80000000, %eax
        movl %eax, %cr0
        ret

/* fault: frame = vector, error code (0 pushed by the stub if none), EIP, CS, EFLAGS.
   Prints "vector=.. err=.. at +N [cr2=+N]" and resumes at `resume` with TF cleared. */
fault_common:
        pushal
        movl $msg_vec, %esi
        call puts
        movl 32(%esp), %eax
        call put_hex8
        movl $msg_err, %esi
        call puts
        movl 36(%esp), %eax
        call put_hex32
        movl $msg_at, %esi
        call puts
        movl 40(%esp), %eax
        subl case_start, %eax
        call put_dec
        cmpl $14, 32(%esp)
        jne 2f
        movl $msg_cr2, %esi
        call puts
        movl %cr2, %eax
        subl $BIG_PAGES, %eax
        call put_hex32
2:      movb $'\n', %al
        call putc
        movl resume, %eax
        movl %eax, 40(%esp)
        andl $~0x100, 48(%esp)              /* TF off */
        popal
        addl $8, %esp
        iret

#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17)
        .p2align 4
        .set v, 0
fault_stub_0:
        .rept 32
        .if !HAS_ERR(v)
        pushl $0
        .endif
        pushl $v
        jmp fault_common
        .p2align 4
        .set v, v + 1
        .endr

        .section .rodata
        .p2align 2
fault_stubs:
        .set v, 0
        .rept 32
        .long fault_stub_0 + v * 16
        .set v, v + 1
        .endr
bounds:         .long 0, 3
msg_vec:        .asciz "vector="
msg_err:        .asciz " err="
msg_at:         .asciz " at +"
msg_cr2:        .asciz " cr2=4M+"
msg_ro:         .asciz "read-only page after the stores: "

        .section .bss
        .p2align 12
page_dir:       .space 4096
page_table:     .space 4096
case_start:     .long 0
resume:         .long 0
