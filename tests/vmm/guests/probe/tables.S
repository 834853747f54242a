/* Descriptor tables and control registers as the guest sees them: sgdt/sidt (its own base and limit), str,
   sldt and smsw (to a register and to memory), mov from and to cr0/cr2/cr3/cr4, lmsw and clts, the guest's own
   GDT after the CPU has set accessed and busy bits in it, and lar/lsl/verr/verw on every kind of selector —
   at ring 0 and at ring 3.  The GDT is the kit's, copied into a larger one with an LDT and a few more kinds. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

#define LDT_SEL   0x40
#define CONF_SEL  0x48             /* conforming code, DPL 0 */
#define NP_SEL    0x50             /* data, DPL 0, not present */
#define GATE_SEL  0x58             /* call gate, DPL 3 */
#define SMALL_SEL 0x63             /* data, DPL 3, byte granular, limit 0x1234 */
#define GDT2_END  0x68

/* Stores of a descriptor-table register: print the limit, the base minus where the table is, and the two
   bytes after the 6-byte image (left as they were). */
.macro table_reg r, insn, table
    movl $0xa5a5a5a5, scratch
    movl $0xa5a5a5a5, scratch + 4
    \insn scratch
    movzwl scratch, %eax
    movl scratch + 2, %ebx
    subl $\table, %ebx
    movzwl scratch + 6, %ecx
    put "\r \insn limit,base-\table,bytes 6-7", %eax, %ebx, %ecx
.endm

/* A 16-bit selector store (str, sldt, smsw) to a register and to memory. */
.macro store16 r, insn, mask=0xffffffff
    movl $0xffffffff, %eax
    \insn %eax
    andl $\mask, %eax
    movl $0xa5a5a5a5, scratch
    \insn scratch
    put "\r \insn reg,mem", %eax, scratch
.endm

/* lar/lsl/verr/verw on one selector: ZF and result (the result register starts as 0xdeadbeef). */
.macro probe_sel r, sel
    movl $\sel, %ecx
    movl $0xdeadbeef, %eax
    larl %ecx, %eax
    setz %bl
    movzbl %bl, %ebx
    movl $0xdeadbeef, %edx
    lsll %ecx, %edx
    setz %cl
    movzbl %cl, %esi
    put "\r lar,lsl \sel zf,val", %ebx, %eax, %esi, %edx
    movl $\sel, %ecx
    verr %cx
    setz %bl
    movzbl %bl, %ebx
    verw %cx
    setz %dl
    movzbl %dl, %edx
    put "\r verr,verw \sel zf", %ebx, %edx
.endm

.macro table_probes r
    table_reg \r, sgdt, gdt2
    table_reg \r, sidt, idt
    store16 \r, str
    store16 \r, sldt
    store16 \r, smsw, 0xffff       /* smsw to a 32-bit register: the upper half is undefined (SDM) */
    /* null; kernel code, data (RPL 0 and 3); user code, data; TSS; ring-1 code, data */
    .irp s, 0x00, 0x08, 0x0b, 0x10, 0x13, 0x1b, 0x23, 0x28, 0x31, 0x39
    probe_sel \r, \s
    .endr
    /* LDT descriptor; conforming code (RPL 0 and 3); not present; call gate; small segment; beyond the GDT
       limit; LDT entry 0 (data), entry 1 (empty), beyond the LDT limit */
    .irp s, 0x40, 0x48, 0x4b, 0x50, 0x5b, 0x63, 0x68, 0x07, 0x0f, 0x17
    probe_sel \r, \s
    .endr
.endm

    .text
    .globl _start
_start:
    probe_init
    /* gdt2 = the kit's GDT + an LDT descriptor, conforming code, a not-present descriptor, a call gate, a
       small byte-granular segment; loaded in place of the kit's */
    movl $gdt, %esi
    movl $gdt2, %edi
    movl $(gdt_end - gdt) / 4, %ecx
    rep movsl
    movl $ldt, %eax
    movw $15, gdt2 + LDT_SEL
    movw %ax, gdt2 + LDT_SEL + 2
    shrl $16, %eax
    movb %al, gdt2 + LDT_SEL + 4
    movb $0x82, gdt2 + LDT_SEL + 5
    movb $0, gdt2 + LDT_SEL + 6
    movb %ah, gdt2 + LDT_SEL + 7
    movl $far_target, %eax
    movw %ax, gdt2 + GATE_SEL
    movw $KCODE, gdt2 + GATE_SEL + 2
    movw $0xEC00, gdt2 + GATE_SEL + 4
    shrl $16, %eax
    movw %ax, gdt2 + GATE_SEL + 6
    /* QEMU never sets the accessed bit of a code descriptor when it loads CS (far jump, far call, iret,
       interrupt delivery); the bare PC's delivery does (it loads CS like a data segment), and so does real
       hardware.  The kit's two code descriptors therefore start accessed; data descriptors do not. */
    orl $0x100, gdt2 + KCODE + 4
    orl $0x100, gdt2 + (UCODE & ~3) + 4
    lgdt gdt2r
    ljmp $KCODE, $1f
1:  movw $KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $LDT_SEL, %ax
    lldt %ax

    /* control registers */
    movl %cr0, %eax
    put "r0 cr0 at boot", %eax
    movl $0x0005003b, %eax         /* PE MP TS ET NE WP AM */
    movl %eax, %cr0
    movl %cr0, %eax
    put "r0 cr0 after mov", %eax
    clts
    movl %cr0, %eax
    put "r0 cr0 after clts", %eax
    movw $0x000e, %ax              /* lmsw cannot clear PE; sets MP EM TS */
    lmsw %ax
    movl %cr0, %eax
    put "r0 cr0 after lmsw 000e", %eax
    movl $0x00000031, %eax         /* PE ET NE: EM, TS, MP, WP, AM off again */
    movl %eax, %cr0
    movl %cr0, %eax
    put "r0 cr0 after mov", %eax
    movl $0x12345678, %eax
    movl %eax, %cr2
    movl %cr2, %eax
    put "r0 cr2 after mov", %eax
    movl $page_dir, %eax
    orl $0x18, %eax                /* PWT PCD */
    movl %eax, %cr3
    movl %cr3, %eax
    subl $page_dir, %eax
    put "r0 cr3-page_dir after mov", %eax
    movl %cr4, %eax
    put "r0 cr4 at boot", %eax
    movl $0x00000098, %eax         /* DE PSE PGE */
    movl %eax, %cr4
    movl %cr4, %eax
    put "r0 cr4 after mov", %eax
    movl $0x0000002a, %eax         /* MP TS NE: seen by smsw below, at both rings */
    orl $0x11, %eax
    movl %eax, %cr0

    table_probes r0
    ring3
    table_probes r3
    movw $0x07, %ax                /* a segment from the LDT */
    movw %ax, %fs
    movl %fs, %eax
    put "r3 fs from ldt", %eax
    ring0
    clts
    /* The guest's own GDT and LDT after all this: accessed bits of the segments loaded, the TSS busy.  The
       upper half of each descriptor is printed masked as lar reports it, without the base and limit bits
       (they hold addresses of this image). */
    movl $0, %ecx
2:  movl gdt2 + 4(,%ecx,8), %eax
    andl $0x00f0ff00, %eax
    put "gdt2 entry,hi&00f0ff00", %ecx, %eax
    incl %ecx
    cmpl $GDT2_END / 8, %ecx
    jne 2b
    movl ldt + 4, %eax
    andl $0x00f0ff00, %eax
    put "ldt entry 0 hi&00f0ff00", %eax
    exit 0

far_target:
    lret

    .section .data
    .align 8
gdt2:
    .space gdt_end - gdt
    .quad 0                        /* LDT_SEL, filled in */
    .quad 0x00CF9E000000FFFF       /* CONF_SEL */
    .quad 0x00CF12000000FFFF       /* NP_SEL */
    .quad 0                        /* GATE_SEL, filled in */
    .quad 0x0040F20000001234       /* SMALL_SEL */
gdt2_end:
    .align 8
ldt:
    .quad 0x00CFF2000000FFFF       /* 0x07: ring-3 data */
    .quad 0                        /* 0x0f: empty */
    .align 4
    .word 0
gdt2r:
    .word gdt2_end - gdt2 - 1
    .long gdt2
scratch: .long 0, 0
    .section .bss
    .align 4096
page_dir:
    .space 4096
