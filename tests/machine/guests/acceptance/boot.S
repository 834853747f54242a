/* Entry, interrupt stubs and ring switches of the acceptance guest.
   The Multiboot header comes from the test build; _start hands EAX/EBX to kmain. */
#include "pc.h"

        .section .text.start, "ax"
        .globl _start
_start:
        cli
        movl $boot_stack_top, %esp
        pushl %ebx
        pushl %eax
        call kmain
        /* kmain does not return; if it does, report through the exit port */
        movb $0x7E, %al
        outb %al, $0xF4
1:      cli
        hlt
        jmp 1b

        .text
/* One stub per vector: vectors without a CPU error code push a dummy 0 so frames look alike. */
#define HAS_ERRCODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17)
        .set vec, 0
        .p2align 4
isr_stub_0:
        .rept IDT_ENTRIES
        .if !HAS_ERRCODE(vec)
        pushl $0
        .endif
        pushl $vec
        jmp isr_common
        .p2align 4
        .set vec, vec + 1
        .endr

isr_common:
        pushal
        pushl %ds
        pushl %es
        pushl %fs
        pushl %gs
        movw $KERNEL_DS, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %fs
        movw %ax, %gs
        pushl %esp
        call trap
        addl $4, %esp
        popl %gs
        popl %fs
        popl %es
        popl %ds
        popal
        addl $8, %esp
        iret

/* u32 enter_user(eip, esp): iret to ring 3; returns the value given to leave_user. */
        .globl enter_user
enter_user:
        pushl %ebp
        pushl %ebx
        pushl %esi
        pushl %edi
        movl %esp, kernel_saved_esp
        movl 20(%esp), %ecx                 /* eip */
        movl 24(%esp), %edx                 /* esp */
        movw $USER_DS, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %fs
        movw %ax, %gs
        pushl $USER_DS                      /* ss */
        pushl %edx                          /* esp */
        pushl $0x202                        /* eflags: IF=1, IOPL=0 */
        pushl $USER_CS                      /* cs */
        pushl %ecx                          /* eip */
        iret

/* leave_user(value): from a trap taken in ring 3, drop its frame and return from enter_user. */
        .globl leave_user
leave_user:
        movl 4(%esp), %eax
        movl kernel_saved_esp, %esp
        popl %edi
        popl %esi
        popl %ebx
        popl %ebp
        ret

        .section .rodata
        .globl isr_stubs
        .p2align 2
isr_stubs:
        .set vec, 0
        .rept IDT_ENTRIES
        .long isr_stub_0 + vec * 16
        .set vec, vec + 1
        .endr

        .section .bss
        .p2align 4
kernel_saved_esp: .long 0
        .p2align 4
        .space 16384
boot_stack_top:
        .space 8192
        .globl intr_stack_top
intr_stack_top:
