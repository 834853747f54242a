/* Guest: port I/O and software interrupts at CPL 3. With IOPL 0 and no I/O bitmap in the TSS, `out`/`in`
   raise #GP(0) at the instruction; `int` through a DPL-0 gate raises #GP(vector*8+2) at the `int`;
   with IOPL 3 the same `out` reaches the device. The #GP handler prints error code and faulting offset. */
#include "pc.h"

#define KERNEL_ONLY 0x3F                    /* DPL-0 interrupt gate */
#define USER_DONE   0x30                    /* DPL-3 gate: back to the kernel */

main:
        call set_tss
        movl $13, %ecx
        movl $gp_handler, %eax
        call set_gate
        movl $KERNEL_ONLY, %ecx
        movl $kernel_only, %eax
        call set_gate
        movl $USER_DONE, %ecx
        movl $user_done, %eax
        call set_gate
        movb $0xEE, idt + USER_DONE * 8 + 5 /* present, DPL 3, 32-bit interrupt gate */
        movl $msg_iopl0, %esi
        call puts
        movl $0x0002, %eax                  /* EFLAGS: IOPL 0, IF 0 */
        call to_ring3
        movl $msg_iopl3, %esi
        call puts
        movl $0x3002, %eax                  /* EFLAGS: IOPL 3 */
        call to_ring3
        movl $msg_faults, %esi
        call puts
        movl faults, %eax
        call put_dec
        movb $'\n', %al
        call putc
        EXIT(0)

/* set_tss: GDT entry 5 = 32-bit available TSS at `tss` (limit 103: no I/O bitmap), then ltr. */
set_tss:
        movl $tss, %eax
        movw $103, gdt_tss
        movw %ax, gdt_tss + 2
        shrl $16, %eax
        movb %al, gdt_tss + 4
        movb $0x89, gdt_tss + 5
        movb $0x00, gdt_tss + 6
        movb %ah, gdt_tss + 7
        movl $kstack_top, tss + 4           /* esp0 */
        movl $KDATA, tss + 8                /* ss0 */
        movw $104, tss + 102                /* I/O map base past the limit */
        movw $TSS_SEL, %ax
        ltr %ax
        ret

/* to_ring3: %eax = EFLAGS for ring 3; runs user_code until it raises vector USER_DONE. */
to_ring3:
        pushal
        movl %esp, saved_esp
        pushl $UDATA
        pushl $ustack_top
        pushl %eax
        pushl $UCODE
        pushl $user_code
        iret
back_from_ring3:
        movl saved_esp, %esp
        movw $KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        popal
        ret

user_code:
        movb $'U', %al
        outb %al, $0x80                     /* E6 80 */
        movw $COM1, %dx
        movb $'K', %al
        outb %al, %dx                       /* EE: with IOPL 3 this prints K */
        inb $0x80, %al                      /* E4 80 */
        int $KERNEL_ONLY                    /* CD 3F */
        int $USER_DONE
user_end:

/* #GP from ring 3: print the error code and where, skip the instruction. */
gp_handler:
        pushal
        movw $KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        incl faults
        movl $msg_gp, %esi
        call puts
        movl 32(%esp), %eax                 /* error code */
        call put_hex32
        movl $msg_at, %esi
        call puts
        movl 36(%esp), %ebx                 /* faulting EIP */
        movl %ebx, %eax
        subl $user_code, %eax
        call put_dec
        movb $'\n', %al
        call putc
        movl $1, %ecx                       /* length: EC-EF one byte, E4-E7 and CD two */
        movb (%ebx), %al
        cmpb $0xEC, %al
        jae 1f
        movl $2, %ecx
1:      addl %ecx, 36(%esp)
        popal
        addl $4, %esp
        iret

kernel_only:
        movl $msg_kernel_only, %esi
        call puts
        iret

user_done:
        movw $KDATA, %ax
        movw %ax, %ds
        movl $msg_done, %esi
        call puts
        jmp back_from_ring3

        .section .rodata
msg_iopl0:       .asciz "ring 3, IOPL 0:\n"
msg_iopl3:       .asciz "ring 3, IOPL 3:\n"
msg_gp:          .asciz "#GP err=0x"
msg_at:          .asciz " at user+"
msg_kernel_only: .asciz "DPL-0 gate entered from ring 3 (wrong)\n"
msg_done:        .asciz "\nback in ring 0\n"
msg_faults:      .asciz "faults="

        .section .bss
        .p2align 4
tss:            .space 104
saved_esp:      .long 0
faults:         .long 0
        .p2align 4
        .space 4096
kstack_top:
        .space 4096
ustack_top:
