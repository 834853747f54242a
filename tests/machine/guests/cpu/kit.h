/* kit.h: protected-mode scaffolding for the CPU test guests: a GDT with ring-0/ring-3 flat segments and a TSS,
   an IDT, stacks, and macros to install gates and drop to ring 3.  Include once, after guestkit.h. */
#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1B
#define UDATA 0x23
#define TSS_SEL 0x28
#define R1CODE 0x31          /* ring-1 code, RPL 1 */
#define R1DATA 0x39          /* ring-1 data, RPL 1 */
#define TSS_ESP1 12
#define TSS_SS1 16
#define INT_GATE 0x8E        /* present, DPL 0, 32-bit interrupt gate */
#define INT_GATE_DPL3 0xEE   /* present, DPL 3, 32-bit interrupt gate */
#define TRAP_GATE 0x8F       /* present, DPL 0, 32-bit trap gate */
#define TSS_ESP0 4
#define TSS_SS0 8

    .section .data
    .align 8
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF    /* 0x08 ring-0 code */
    .quad 0x00CF92000000FFFF    /* 0x10 ring-0 data */
    .quad 0x00CFFA000000FFFF    /* 0x1B ring-3 code */
    .quad 0x00CFF2000000FFFF    /* 0x23 ring-3 data */
tss_desc:
    .quad 0                     /* 0x28 TSS, filled by kit_init */
    .quad 0x00CFBA000000FFFF    /* 0x30 ring-1 code */
    .quad 0x00CFB2000000FFFF    /* 0x38 ring-1 data */
gdt_end:
    .align 4
    .word 0
gdtr:
    .word gdt_end - gdt - 1
    .long gdt
    .word 0
idtr:
    .word 256 * 8 - 1
    .long idt

    .section .bss
    .align 4096
idt:
    .space 256 * 8
tss:
    .space 104
    .align 16
    .space 8192
kstack_top:
    .space 8192
ustack_top:

    .section .text
/* kit_init: load the GDT, reload segments, build and load the TSS (ss0:esp0 = KDATA:kstack_top), load the IDT. */
.macro kit_init
    lgdt gdtr
    ljmp $KCODE, $1001f
1001:
    movw $KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $kstack_top, %esp
    movl $tss, %eax
    movw $103, tss_desc
    movw %ax, tss_desc + 2
    shrl $16, %eax
    movb %al, tss_desc + 4
    movb $0x89, tss_desc + 5
    movb $0, tss_desc + 6
    movb %ah, tss_desc + 7
    movl $kstack_top, tss + TSS_ESP0
    movl $KDATA, tss + TSS_SS0
    movw $TSS_SEL, %ax
    ltr %ax
    lidt idtr
.endm

/* pic_remap base, master_mask, slave_mask: initialize the 8259A pair (ICW1-4: edge, cascade on IR2, 8086 mode) with
   vectors base..base+15, then set the masks.  Clobbers %al. */
.macro pic_remap base, master_mask, slave_mask
    movb $0x11, %al
    outb %al, $0x20
    outb %al, $0xA0
    movb $\base, %al
    outb %al, $0x21
    movb $\base + 8, %al
    outb %al, $0xA1
    movb $4, %al
    outb %al, $0x21
    movb $2, %al
    outb %al, $0xA1
    movb $1, %al
    outb %al, $0x21
    outb %al, $0xA1
    movb $\master_mask, %al
    outb %al, $0x21
    movb $\slave_mask, %al
    outb %al, $0xA1
.endm

/* set_gate vec, handler, attr: IDT entry `vec` → KCODE:handler. */
.macro set_gate vec, handler, attr
    movl $\handler, %eax
    movw %ax, idt + \vec * 8
    movw $KCODE, idt + \vec * 8 + 2
    movb $0, idt + \vec * 8 + 4
    movb $\attr, idt + \vec * 8 + 5
    shrl $16, %eax
    movw %ax, idt + \vec * 8 + 6
.endm

/* to_ring3 target: iret to UCODE:target on the user stack, with data segments UDATA, EFLAGS as now. */
.macro to_ring3 target
    movw $UDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    pushl $UDATA
    pushl $ustack_top
    pushfl
    pushl $UCODE
    pushl $\target
    iret
.endm
