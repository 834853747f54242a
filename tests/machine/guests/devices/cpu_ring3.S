/* Guest: exceptions from ring 3, checked against a second PC model: the privilege change through TSS
   ss0:esp0 (saved CS/SS/ESP), vector, error code and saved EIP for int3 through a DPL-3 gate, #DE, #PF on
   a supervisor page and on a read-only user page, #GP on loading a DPL-0 data selector, #DB single-step. */
#include "pc.h"

#define CASE(n)  movl $n, case_start; movl $n##_done, resume; n:
#define DONE(n)  n##_done:
#define SYSCALL  0x30                       /* DPL-3 gate: back to ring 0 */
#define SUP_PAGE 0x00400000                 /* 4 MiB: supervisor only */
#define RO_PAGE  0x00401000                 /* 4 MiB + 4 KiB: user, read-only */

main:
        call set_tss
        xorl %ecx, %ecx
1:      movl fault_stubs(,%ecx,4), %eax
        call set_gate
        incl %ecx
        cmpl $32, %ecx
        jb 1b
        movb $0xEE, idt + 3 * 8 + 5         /* int3 reachable from ring 3 */
        movl $SYSCALL, %ecx
        movl $back_to_ring0, %eax
        call set_gate
        movb $0xEE, idt + SYSCALL * 8 + 5
        call paging_on
        movl %esp, saved_esp
        pushl $UDATA
        pushl $ustack_top
        pushl $0x202
        pushl $UCODE
        pushl $user
        iret
back_to_ring0:
        movl saved_esp, %esp
        movw $KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movl $msg_faults, %esi
        call puts
        movl faults, %eax
        call put_dec
        movb $'\n', %al
        call putc
        EXIT(0)

user:
        CASE(u_bp)
        int3
        DONE(u_bp)
        CASE(u_de)
        xorl %edx, %edx
        movl $1, %eax
        xorl %ecx, %ecx
        divl %ecx
        DONE(u_de)
        CASE(u_pf_sup)
        movl SUP_PAGE + 0x10, %eax          /* #PF(5): user read of a supervisor page */
        DONE(u_pf_sup)
        CASE(u_pf_ro)
        movl RO_PAGE + 0x10, %eax           /* allowed: user read of a user read-only page */
        movl %eax, RO_PAGE + 0x14           /* #PF(7): user write to it */
        DONE(u_pf_ro)
        CASE(u_gp_sel)
        movw $KDATA, %ax
        movw %ax, %es                       /* #GP(0x10): DPL-0 data segment at CPL 3 */
        DONE(u_gp_sel)
        CASE(u_db)
        pushfl
        orl $0x100, (%esp)
        popfl
        nop                                 /* #DB after it */
        nop
        DONE(u_db)
        int $SYSCALL

/* paging_on: 0-4 MiB one user-accessible 4 MiB page; 4-8 MiB through a page table. */
paging_on:
        movl $0x00000087, page_dir          /* P | W | U | PS */
        movl $page_table, %eax
        orl $0x7, %eax
        movl %eax, page_dir + 4
        movl $SUP_PAGE | 0x3, page_table    /* P | W, supervisor */
        movl $RO_PAGE | 0x5, page_table + 4 /* P | U, read-only */
        movl %cr4, %eax
        orl $0x10, %eax
        movl %eax, %cr4
        movl $page_dir, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $0x80000000, %eax
        movl %eax, %cr0
        ret

/* set_tss: GDT entry 5 = TSS with ss0:esp0 = KDATA:kstack_top, then ltr. */
set_tss:
        movl $tss, %eax
        movw $103, gdt_tss
        movw %ax, gdt_tss + 2
        shrl $16, %eax
        movb %al, gdt_tss + 4
        movb $0x89, gdt_tss + 5
        movb $0x00, gdt_tss + 6
        movb %ah, gdt_tss + 7
        movl $kstack_top, tss + 4
        movl $KDATA, tss + 8
        movw $104, tss + 102
        movw $TSS_SEL, %ax
        ltr %ax
        ret

/* frame on the TSS stack: vector, err, EIP, CS, EFLAGS, ESP, SS (after pushal: +32). */
fault_common:
        pushal
        movw %ds, %bx
        movw $KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        incl faults
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
        movl $msg_cs, %esi
        call puts
        movl 44(%esp), %eax
        call put_hex8
        movl $msg_ss, %esi
        call puts
        movl 56(%esp), %eax
        call put_hex8
        movl $msg_stack, %esi               /* the TSS stack holds exactly this frame */
        leal 60(%esp), %eax
        cmpl $kstack_top, %eax
        je 2f
        movl $msg_stack_bad, %esi
2:      call puts
        movl resume, %eax
        movl %eax, 40(%esp)
        andl $~0x100, 48(%esp)
        movw $UDATA, %ax
        movw %ax, %ds
        movw %ax, %es
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
msg_vec:        .asciz "vector="
msg_err:        .asciz " err="
msg_at:         .asciz " at +"
msg_cs:         .asciz " cs="
msg_ss:         .asciz " ss="
msg_stack:      .asciz " on the TSS stack\n"
msg_stack_bad:  .asciz " NOT on the TSS stack\n"
msg_faults:     .asciz "back in ring 0 after faults: "

        .section .bss
        .p2align 12
page_dir:       .space 4096
page_table:     .space 4096
tss:            .space 104
case_start:     .long 0
resume:         .long 0
saved_esp:      .long 0
faults:         .long 0
        .p2align 4
        .space 4096
kstack_top:
        .space 4096
ustack_top:
