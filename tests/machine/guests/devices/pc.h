/* Shared start-up for the per-device guests: flat GDT, IDT, PIC remap, polled UART print, exit port.
   Each guest includes this once at the top of its .S file and defines `main` (called with IF=0); the
   Multiboot v1 header comes from the test build (guestkit). */

#define COM1          0x3F8                 /* 16550A: THR/RBR +0, IER +1, IIR/FCR +2, LCR +3, MCR +4, LSR +5 */
#define LSR_THRE      0x20
#define PIC1_CMD      0x20
#define PIC1_DATA     0x21
#define PIC2_CMD      0xA0
#define PIC2_DATA     0xA1
#define PIC_EOI       0x20                  /* OCW2 non-specific EOI */
#define PIT_CH0       0x40
#define PIT_CMD       0x43
#define CMOS_ADDR     0x70
#define CMOS_DATA     0x71
#define EXIT_PORT     0xF4                  /* isa-debug-exit: process status (v << 1) | 1 */

#define KCODE         0x08
#define KDATA         0x10
#define IRQ_BASE      0x20                  /* master PIC vectors 0x20-0x27, slave 0x28-0x2F */
#define IDT_ENTRIES   0x40
#define UCODE         0x1B                  /* GDT entry 3, RPL 3 */
#define UDATA         0x23                  /* GDT entry 4, RPL 3 */
#define TSS_SEL       0x28                  /* GDT entry 5: filled in by guests that use it */

/* EXIT v: write v to the exit port, then stop for good. */
#define EXIT(v)       movb $(v), %al; outb %al, $EXIT_PORT; 1: cli; hlt; jmp 1b

        .section .text.start, "ax"
        .globl _start
_start:
        cli
        movl $stack_top, %esp
        movl %ebx, mb_info
        lgdt gdt_desc
        ljmp $KCODE, $1f
1:      movw $KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %fs
        movw %ax, %gs
        movw %ax, %ss
        call idt_init
        call main
        EXIT(0x7E)                          /* main must exit itself */

        .section .text
/* idt_init: every vector goes to unexpected_vector until a guest sets its own handler. */
idt_init:
        xorl %ecx, %ecx
2:      movl unexpected_stubs(,%ecx,4), %eax
        call set_gate
        incl %ecx
        cmpl $IDT_ENTRIES, %ecx
        jb 2b
        lidt idt_desc
        ret

/* set_gate: %ecx = vector, %eax = handler; a DPL-0 32-bit interrupt gate. Clobbers %edx. */
set_gate:
        leal idt(,%ecx,8), %edx
        movw %ax, (%edx)
        movw $KCODE, 2(%edx)
        movw $0x8E00, 4(%edx)
        shrl $16, %eax
        movw %ax, 6(%edx)
        ret

/* unexpected vector n: print "unexpected vector 0xNN" and exit with 0x7F. */
unexpected_common:
        movl $msg_unexpected, %esi
        call puts
        popl %eax
        call put_hex8
        movb $'\n', %al
        call putc
        EXIT(0x7F)

        .set vec, 0
unexpected_stubs:
        .rept IDT_ENTRIES
        .long unexpected_stub_0 + vec * 8
        .set vec, vec + 1
        .endr
        .set vec, 0
        .p2align 3
unexpected_stub_0:
        .rept IDT_ENTRIES
        pushl $vec                          /* 5 bytes */
        jmp unexpected_common               /* 2 or 5 bytes */
        .p2align 3
        .set vec, vec + 1
        .endr

/* putc: %al to COM1, polling LSR.THRE. Preserves all registers but flags. */
putc:
        pushl %edx
        pushl %eax
        movw $COM1 + 5, %dx
3:      inb %dx, %al
        testb $LSR_THRE, %al
        jz 3b
        popl %eax
        movw $COM1, %dx
        outb %al, %dx
        popl %edx
        ret

/* puts: NUL-terminated string at %esi. */
puts:
        pushl %eax
        pushl %esi
4:      lodsb
        testb %al, %al
        jz 5f
        call putc
        jmp 4b
5:      popl %esi
        popl %eax
        ret

/* put_hex8 / put_hex32: %al / %eax as two / eight hex digits. */
put_hex32:
        pushl %ecx
        movl $8, %ecx
        jmp 6f
put_hex8:
        pushl %ecx
        shll $24, %eax
        movl $2, %ecx
6:      roll $4, %eax
        pushl %eax
        andl $0xF, %eax
        movb hex_digits(%eax), %al
        call putc
        popl %eax
        loop 6b
        popl %ecx
        ret

/* put_dec: %eax as unsigned decimal. */
put_dec:
        pushal
        movl $10, %ebx
        xorl %ecx, %ecx
7:      xorl %edx, %edx
        divl %ebx
        pushl %edx
        incl %ecx
        testl %eax, %eax
        jnz 7b
8:      popl %eax
        addb $'0', %al
        call putc
        loop 8b
        popal
        ret

/* pic_remap: ICW1-ICW4 on both 8259As, vectors 0x20/0x28, cascade on IRQ 2; all lines masked
   except %al (master OCW1) and %ah (slave OCW1). */
pic_remap:
        pushl %eax
        movb $0x11, %al                     /* ICW1: edge, cascade, ICW4 needed */
        outb %al, $PIC1_CMD
        outb %al, $PIC2_CMD
        movb $IRQ_BASE, %al                 /* ICW2: vector base */
        outb %al, $PIC1_DATA
        movb $IRQ_BASE + 8, %al
        outb %al, $PIC2_DATA
        movb $0x04, %al                     /* ICW3: slave on IR2 / slave identity 2 */
        outb %al, $PIC1_DATA
        movb $0x02, %al
        outb %al, $PIC2_DATA
        movb $0x01, %al                     /* ICW4: 8086 mode, normal EOI */
        outb %al, $PIC1_DATA
        outb %al, $PIC2_DATA
        popl %eax
        outb %al, $PIC1_DATA                /* OCW1: masks */
        movb %ah, %al
        outb %al, $PIC2_DATA
        ret

        .section .rodata
hex_digits:     .ascii "0123456789abcdef"
msg_unexpected: .asciz "unexpected vector 0x"

        .p2align 3
gdt:    .quad 0
        .quad 0x00CF9A000000FFFF            /* 0x08: flat code, DPL 0 */
        .quad 0x00CF92000000FFFF            /* 0x10: flat data, DPL 0 */
        .quad 0x00CFFA000000FFFF            /* 0x18: flat code, DPL 3 */
        .quad 0x00CFF2000000FFFF            /* 0x20: flat data, DPL 3 */
gdt_tss:
        .quad 0                             /* 0x28: a TSS descriptor, see set_tss */
gdt_end:
gdt_desc:
        .word gdt_end - gdt - 1
        .long gdt
idt_desc:
        .word IDT_ENTRIES * 8 - 1
        .long idt

        .section .bss
        .p2align 3
idt:    .space IDT_ENTRIES * 8
mb_info: .long 0
        .p2align 4
        .space 8192
stack_top:

        .section .text
