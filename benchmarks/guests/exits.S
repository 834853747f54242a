/* Exit round trips for bench_direct.py: `mode=gp` makes N #GP faults from ring 3 (cli at CPL 3; the ring-0 handler
   skips it and returns with iret), `mode=cli` executes N cli in ring 0.  N and the mode come as immediates from the
   build (-DCOUNT=..., -DMODE_GP); the guest prints "done" and exits through port 0xF4 with 0. */
#define COM1 0x3F8
    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002, 0x3, -(0x1BADB002 + 0x3)

    .text
    .globl _start
_start:
    lgdt gdt_ptr
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $stack_top, %esp
    /* TSS descriptor base, IDT gate 13 */
    movl $tss, %eax
    movw %ax, gdt + 0x28 + 2
    shrl $16, %eax
    movb %al, gdt + 0x28 + 4
    movb %ah, gdt + 0x28 + 7
    movl $gp_handler, %eax
    movw %ax, idt + 13 * 8
    movw $0x08, idt + 13 * 8 + 2
    movw $0x8E00, idt + 13 * 8 + 4
    shrl $16, %eax
    movw %ax, idt + 13 * 8 + 6
    lidt idt_ptr
    movl $stack_top, tss + 4
    movl $0x10, tss + 8
    movw $0x28, %ax
    ltr %ax
#ifdef MODE_GP
    pushl $0x23
    pushl $user_stack_top
    pushl $0x202
    pushl $0x1B
    pushl $user
    iret
user:
1:  cli
    jmp 1b
gp_handler:
    incl count
    cmpl $COUNT, count
    je done
    addl $1, 4(%esp)
    addl $4, %esp
    iret
#else
    movl $COUNT, %ecx
1:  cli
    decl %ecx
    jnz 1b
    jmp done
gp_handler:
    jmp gp_handler
#endif
done:
    movw $COM1, %dx
    movb $'d', %al
    outb %al, %dx
    movb $'\n', %al
    outb %al, %dx
    movw $0xF4, %dx
    movb $0, %al
    outb %al, %dx
2:  hlt
    jmp 2b

    .data
    .align 8
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF     /* 0x08 ring-0 code */
    .quad 0x00CF92000000FFFF     /* 0x10 ring-0 data */
    .quad 0x00CFFA000000FFFF     /* 0x18 ring-3 code */
    .quad 0x00CFF2000000FFFF     /* 0x20 ring-3 data */
    .quad 0x0000890000000067     /* 0x28 TSS (base patched) */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt
idt_ptr:
    .word 256 * 8 - 1
    .long idt
count:
    .long 0
    .bss
    .align 16
idt:
    .space 256 * 8
tss:
    .space 104
    .space 4096
stack_top:
    .space 4096
user_stack_top:
