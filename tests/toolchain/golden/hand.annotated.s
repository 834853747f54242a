# 0 "hand.S"
# 0 "<built-in>"
# 0 "<command-line>"
# 1 "hand.S"
/* Hand-written i386 start-up and low-level code, as a kernel's .S files look after cpp.
 * Exercises: cpp macros, GAS macros with \@ labels, .rept/.irp bodies, prefixes written
 * every way, `;` statements, comments of both kinds, strings holding comment characters,
 * numeric local labels, section switching, a 16-bit block, a data section and a site
 * record written by hand. */




 .macro SAVE_SEGS
 .Lpv_s1_\@: push %ds ; .Lpv_i1_\@: ; .arch .nop ; .if .Lpv_i1_\@ - .Lpv_s1_\@ > 8 ; .error "hand.S:11: push_seg instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i1_\@ - .Lpv_s1_\@), 11 ; .endif ; .Lpv_e1_\@: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s1_\@ - . ; .byte 1, 36, .Lpv_e1_\@ - .Lpv_s1_\@, .Lpv_i1_\@ - .Lpv_s1_\@ ; .short 0, 0 ; .popsection; .Lpv_s2_\@: push %es ; .Lpv_i2_\@: ; .arch .nop ; .if .Lpv_i2_\@ - .Lpv_s2_\@ > 8 ; .error "hand.S:11: push_seg instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i2_\@ - .Lpv_s2_\@), 11 ; .endif ; .Lpv_e2_\@: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s2_\@ - . ; .byte 1, 36, .Lpv_e2_\@ - .Lpv_s2_\@, .Lpv_i2_\@ - .Lpv_s2_\@ ; .short 0, 0 ; .popsection # two statements, two sites
 .Lpv_s3_\@: pushl %fs ; .Lpv_i3_\@: ; .arch .nop ; .if .Lpv_i3_\@ - .Lpv_s3_\@ > 8 ; .error "hand.S:12: push_seg instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i3_\@ - .Lpv_s3_\@), 11 ; .endif ; .Lpv_e3_\@: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s3_\@ - . ; .byte 1, 36, .Lpv_e3_\@ - .Lpv_s3_\@, .Lpv_i3_\@ - .Lpv_s3_\@ ; .short 0, 0 ; .popsection
 .endm

 .macro RESTORE_SEGS tmp
 .Lpv_s4_\@: popl %fs ; .Lpv_i4_\@: ; .arch .nop ; .if .Lpv_i4_\@ - .Lpv_s4_\@ > 8 ; .error "hand.S:16: pop_seg instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i4_\@ - .Lpv_s4_\@), 11 ; .endif ; .Lpv_e4_\@: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s4_\@ - . ; .byte 1, 37, .Lpv_e4_\@ - .Lpv_s4_\@, .Lpv_i4_\@ - .Lpv_s4_\@ ; .short 0, 0 ; .popsection
 .Lpv_s5_\@: pop %es ; .Lpv_i5_\@: ; .arch .nop ; .if .Lpv_i5_\@ - .Lpv_s5_\@ > 8 ; .error "hand.S:17: pop_seg instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i5_\@ - .Lpv_s5_\@), 11 ; .endif ; .Lpv_e5_\@: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s5_\@ - . ; .byte 1, 37, .Lpv_e5_\@ - .Lpv_s5_\@, .Lpv_i5_\@ - .Lpv_s5_\@ ; .short 0, 0 ; .popsection
 .Lpv_s6_\@: pop %ds ; .Lpv_i6_\@: ; .arch .nop ; .if .Lpv_i6_\@ - .Lpv_s6_\@ > 8 ; .error "hand.S:18: pop_seg instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i6_\@ - .Lpv_s6_\@), 11 ; .endif ; .Lpv_e6_\@: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s6_\@ - . ; .byte 1, 37, .Lpv_e6_\@ - .Lpv_s6_\@, .Lpv_i6_\@ - .Lpv_s6_\@ ; .short 0, 0 ; .popsection
\@: /* \@ as a label of its own is fine too */
 .endm

 .macro LOAD_CR reg, n
 movl \reg, %cr\n /* parameterized: left to the audit */
 .endm

 .code16
 .section .boot16, "ax"
 .globl boot16
boot16:
 cli # 16-bit: never annotated
 xorw %ax, %ax
 movw %ax, %ds
 lgdtl %cs:(gdt16 - boot16)
 movl %cr0, %eax
 orb $1, %al
 movl %eax, %cr0
 ljmpl $0x08, $start32
gdt16: .word 0x17; .long 0
 .code32

 .text
 .globl start32
 .type start32, @function
start32:
 movw $0x10, %ax
 .Lpv_s7: movw %ax, %ds ; .Lpv_i7: ; .arch .nop ; .if .Lpv_i7 - .Lpv_s7 > 12 ; .error "hand.S:46: mov_to_seg instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i7 - .Lpv_s7), 11 ; .endif ; .Lpv_e7: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s7 - . ; .byte 1, 38, .Lpv_e7 - .Lpv_s7, .Lpv_i7 - .Lpv_s7 ; .short 0, 0 ; .popsection; .Lpv_s8: movw %ax, %es ; .Lpv_i8: ; .arch .nop ; .if .Lpv_i8 - .Lpv_s8 > 12 ; .error "hand.S:46: mov_to_seg instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i8 - .Lpv_s8), 11 ; .endif ; .Lpv_e8: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s8 - . ; .byte 1, 38, .Lpv_e8 - .Lpv_s8, .Lpv_i8 - .Lpv_s8 ; .short 0, 0 ; .popsection
 .Lpv_s9: mov %ax, %ss ; .Lpv_i9: ; .arch .nop ; .if .Lpv_i9 - .Lpv_s9 > 12 ; .error "hand.S:47: mov_to_seg instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i9 - .Lpv_s9), 11 ; .endif ; .Lpv_e9: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s9 - . ; .byte 1, 38, .Lpv_e9 - .Lpv_s9, .Lpv_i9 - .Lpv_s9 ; .short 0, 0 ; .popsection
 .Lpv_s10: lgdt gdt_desc ; .Lpv_i10: ; .arch .nop ; .if .Lpv_i10 - .Lpv_s10 > 16 ; .error "hand.S:48: lgdt instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i10 - .Lpv_s10), 11 ; .endif ; .Lpv_e10: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s10 - . ; .byte 1, 4, .Lpv_e10 - .Lpv_s10, .Lpv_i10 - .Lpv_s10 ; .short 0, 0 ; .popsection
 .Lpv_s11: lidt idt_desc ; .Lpv_i11: ; .arch .nop ; .if .Lpv_i11 - .Lpv_s11 > 16 ; .error "hand.S:49: lidt instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i11 - .Lpv_s11), 11 ; .endif ; .Lpv_e11: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s11 - . ; .byte 1, 5, .Lpv_e11 - .Lpv_s11, .Lpv_i11 - .Lpv_s11 ; .short 0, 0 ; .popsection ; .Lpv_s12: lldt %ax ; .Lpv_i12: ; .arch .nop ; .if .Lpv_i12 - .Lpv_s12 > 12 ; .error "hand.S:49: lldt instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i12 - .Lpv_s12), 11 ; .endif ; .Lpv_e12: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s12 - . ; .byte 1, 6, .Lpv_e12 - .Lpv_s12, .Lpv_i12 - .Lpv_s12 ; .short 0, 0 ; .popsection /* two sites on one line ; and a comment */
 .Lpv_s13: ltr %ax ; .Lpv_i13: ; .arch .nop ; .if .Lpv_i13 - .Lpv_s13 > 12 ; .error "hand.S:50: ltr instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i13 - .Lpv_s13), 11 ; .endif ; .Lpv_e13: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s13 - . ; .byte 1, 7, .Lpv_e13 - .Lpv_s13, .Lpv_i13 - .Lpv_s13 ; .short 0, 0 ; .popsection
 .Lpv_s14: ljmp $0x08, $1f ; .Lpv_i14: ; .arch .nop ; .if .Lpv_i14 - .Lpv_s14 > 16 ; .error "hand.S:51: ljmp instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i14 - .Lpv_s14), 11 ; .endif ; .Lpv_e14: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s14 - . ; .byte 1, 40, .Lpv_e14 - .Lpv_s14, .Lpv_i14 - .Lpv_s14 ; .short 0, 0 ; .popsection
1: movl $stack_top, %esp
 SAVE_SEGS
 call kmain
 RESTORE_SEGS %eax
 jmp 1b # back to the numeric label before the sites
 .size start32, .-start32

 .globl io_burst
 .type io_burst, @function
io_burst:
 movw $0x3f8, %dx
 movl 4(%esp), %esi
 movl 8(%esp), %ecx
 .Lpv_s15: rep outsb ; .Lpv_i15: ; .arch .nop ; .if .Lpv_i15 - .Lpv_s15 > 16 ; .error "hand.S:65: outs instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i15 - .Lpv_s15), 11 ; .endif ; .Lpv_e15: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s15 - . ; .byte 1, 23, .Lpv_e15 - .Lpv_s15, .Lpv_i15 - .Lpv_s15 ; .short 0, 0 ; .popsection # rep prefix in the same statement
 .Lpv_s16: rep; insl ; .Lpv_i16: ; .arch .nop ; .if .Lpv_i16 - .Lpv_s16 > 16 ; .error "hand.S:66: ins instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i16 - .Lpv_s16), 11 ; .endif ; .Lpv_e16: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s16 - . ; .byte 1, 22, .Lpv_e16 - .Lpv_s16, .Lpv_i16 - .Lpv_s16 ; .short 0, 0 ; .popsection # rep prefix as its own statement
 .Lpv_s17: rep
 outsw ; .Lpv_i17: ; .arch .nop ; .if .Lpv_i17 - .Lpv_s17 > 16 ; .error "hand.S:68: outs instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i17 - .Lpv_s17), 11 ; .endif ; .Lpv_e17: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s17 - . ; .byte 1, 23, .Lpv_e17 - .Lpv_s17, .Lpv_i17 - .Lpv_s17 ; .short 0, 0 ; .popsection # rep prefix on the line before
 .Lpv_s18: es outsb ; .Lpv_i18: ; .arch .nop ; .if .Lpv_i18 - .Lpv_s18 > 16 ; .error "hand.S:69: outs instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i18 - .Lpv_s18), 11 ; .endif ; .Lpv_e18: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s18 - . ; .byte 1, 23, .Lpv_e18 - .Lpv_s18, .Lpv_i18 - .Lpv_s18 ; .short 0, 0 ; .popsection
 .rept 3
 97701: outb %al, $0x80 ; 97702: ; .arch .nop ; .if 97702b - 97701b > 12 ; .error "hand.S:71: out instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (97702b - 97701b), 11 ; .endif ; 97703: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long 97701b - . ; .byte 1, 21, 97703b - 97701b, 97702b - 97701b ; .short 0, 0 ; .popsection
 .endr
 .irp port, 0x20, 0xa0
 97701: outb %al, $\port ; 97702: ; .arch .nop ; .if 97702b - 97701b > 12 ; .error "hand.S:74: out instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (97702b - 97701b), 11 ; .endif ; 97703: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long 97701b - . ; .byte 1, 21, 97703b - 97701b, 97702b - 97701b ; .short 0, 0 ; .popsection
 .endr
 .Lpv_s19: inb $0x60, %al ; .Lpv_i19: ; .arch .nop ; .if .Lpv_i19 - .Lpv_s19 > 12 ; .error "hand.S:76: in instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i19 - .Lpv_s19), 11 ; .endif ; .Lpv_e19: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s19 - . ; .byte 1, 20, .Lpv_e19 - .Lpv_s19, .Lpv_i19 - .Lpv_s19 ; .short 0, 0 ; .popsection; .Lpv_s20: INB $0x64, %al ; .Lpv_i20: ; .arch .nop ; .if .Lpv_i20 - .Lpv_s20 > 12 ; .error "hand.S:76: in instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i20 - .Lpv_s20), 11 ; .endif ; .Lpv_e20: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s20 - . ; .byte 1, 20, .Lpv_e20 - .Lpv_s20, .Lpv_i20 - .Lpv_s20 ; .short 0, 0 ; .popsection /* upper case is still an instruction */
 ret
 .size io_burst, .-io_burst

 .pushsection .text.unlikely, "ax"
 .globl panic_halt
 .type panic_halt, @function
panic_halt:
 .Lpv_s21: cli ; .Lpv_i21: ; .arch .nop ; .if .Lpv_i21 - .Lpv_s21 > 8 ; .error "hand.S:84: cli instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i21 - .Lpv_s21), 11 ; .endif ; .Lpv_e21: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s21 - . ; .byte 1, 1, .Lpv_e21 - .Lpv_s21, .Lpv_i21 - .Lpv_s21 ; .short 0, 0 ; .popsection
2: .Lpv_s22: hlt ; .Lpv_i22: ; .arch .nop ; .if .Lpv_i22 - .Lpv_s22 > 8 ; .error "hand.S:85: hlt instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i22 - .Lpv_s22), 11 ; .endif ; .Lpv_e22: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s22 - . ; .byte 1, 3, .Lpv_e22 - .Lpv_s22, .Lpv_i22 - .Lpv_s22 ; .short 0, 0 ; .popsection
 jmp 2b
 .size panic_halt, .-panic_halt
 .popsection

 .globl probe
 .type probe, @function
probe:
 .Lpv_s23: pushfl ; .Lpv_i23: ; .arch .nop ; .if .Lpv_i23 - .Lpv_s23 > 8 ; .error "hand.S:93: pushf instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i23 - .Lpv_s23), 11 ; .endif ; .Lpv_e23: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s23 - . ; .byte 1, 24, .Lpv_e23 - .Lpv_s23, .Lpv_i23 - .Lpv_s23 ; .short 0, 0 ; .popsection
 popl %eax
 .Lpv_s24: movl %cr2, %edx ; .Lpv_i24: ; .arch .nop ; .if .Lpv_i24 - .Lpv_s24 > 12 ; .error "hand.S:95: mov_from_cr instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i24 - .Lpv_s24), 11 ; .endif ; .Lpv_e24: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s24 - . ; .byte 1, 14, .Lpv_e24 - .Lpv_s24, .Lpv_i24 - .Lpv_s24 ; .short 0, 0 ; .popsection ; .Lpv_s25: movl %edx, %db7 ; .Lpv_i25: ; .arch .nop ; .if .Lpv_i25 - .Lpv_s25 > 12 ; .error "hand.S:95: mov_to_dr instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i25 - .Lpv_s25), 11 ; .endif ; .Lpv_e25: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s25 - . ; .byte 1, 15, .Lpv_e25 - .Lpv_s25, .Lpv_i25 - .Lpv_s25 ; .short 0, 0 ; .popsection
 .Lpv_s26: movl %dr6, %ecx ; .Lpv_i26: ; .arch .nop ; .if .Lpv_i26 - .Lpv_s26 > 12 ; .error "hand.S:96: mov_from_dr instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i26 - .Lpv_s26), 11 ; .endif ; .Lpv_e26: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s26 - . ; .byte 1, 16, .Lpv_e26 - .Lpv_s26, .Lpv_i26 - .Lpv_s26 ; .short 0, 0 ; .popsection
 .Lpv_s27: movl %eax, %CR3 ; .Lpv_i27: ; .arch .nop ; .if .Lpv_i27 - .Lpv_s27 > 12 ; .error "hand.S:97: mov_to_cr instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i27 - .Lpv_s27), 11 ; .endif ; .Lpv_e27: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s27 - . ; .byte 1, 13, .Lpv_e27 - .Lpv_s27, .Lpv_i27 - .Lpv_s27 ; .short 0, 0 ; .popsection /* register names are case-blind too */
 .Lpv_s28: smsw %ax ; .Lpv_i28: ; .arch .nop ; .if .Lpv_i28 - .Lpv_s28 > 12 ; .error "hand.S:98: smsw instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i28 - .Lpv_s28), 11 ; .endif ; .Lpv_e28: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s28 - . ; .byte 1, 31, .Lpv_e28 - .Lpv_s28, .Lpv_i28 - .Lpv_s28 ; .short 0, 0 ; .popsection
 .Lpv_s29: str %bx ; .Lpv_i29: ; .arch .nop ; .if .Lpv_i29 - .Lpv_s29 > 12 ; .error "hand.S:99: str instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i29 - .Lpv_s29), 11 ; .endif ; .Lpv_e29: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s29 - . ; .byte 1, 30, .Lpv_e29 - .Lpv_s29, .Lpv_i29 - .Lpv_s29 ; .short 0, 0 ; .popsection
 .Lpv_s30: sgdt gdt_copy ; .Lpv_i30: ; .arch .nop ; .if .Lpv_i30 - .Lpv_s30 > 16 ; .error "hand.S:100: sgdt instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i30 - .Lpv_s30), 11 ; .endif ; .Lpv_e30: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s30 - . ; .byte 1, 27, .Lpv_e30 - .Lpv_s30, .Lpv_i30 - .Lpv_s30 ; .short 0, 0 ; .popsection
 .Lpv_s31: sidt idt_copy ; .Lpv_i31: ; .arch .nop ; .if .Lpv_i31 - .Lpv_s31 > 16 ; .error "hand.S:101: sidt instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i31 - .Lpv_s31), 11 ; .endif ; .Lpv_e31: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s31 - . ; .byte 1, 28, .Lpv_e31 - .Lpv_s31, .Lpv_i31 - .Lpv_s31 ; .short 0, 0 ; .popsection
 .Lpv_s32: sldt %cx ; .Lpv_i32: ; .arch .nop ; .if .Lpv_i32 - .Lpv_s32 > 12 ; .error "hand.S:102: sldt instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i32 - .Lpv_s32), 11 ; .endif ; .Lpv_e32: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s32 - . ; .byte 1, 29, .Lpv_e32 - .Lpv_s32, .Lpv_i32 - .Lpv_s32 ; .short 0, 0 ; .popsection
 .Lpv_s33: lar %eax, %ebx ; .Lpv_i33: ; .arch .nop ; .if .Lpv_i33 - .Lpv_s33 > 16 ; .error "hand.S:103: lar instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i33 - .Lpv_s33), 11 ; .endif ; .Lpv_e33: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s33 - . ; .byte 1, 32, .Lpv_e33 - .Lpv_s33, .Lpv_i33 - .Lpv_s33 ; .short 0, 0 ; .popsection
 .Lpv_s34: lsl %eax, %ecx ; .Lpv_i34: ; .arch .nop ; .if .Lpv_i34 - .Lpv_s34 > 16 ; .error "hand.S:104: lsl instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i34 - .Lpv_s34), 11 ; .endif ; .Lpv_e34: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s34 - . ; .byte 1, 33, .Lpv_e34 - .Lpv_s34, .Lpv_i34 - .Lpv_s34 ; .short 0, 0 ; .popsection
 .Lpv_s35: verr %ax ; .Lpv_i35: ; .arch .nop ; .if .Lpv_i35 - .Lpv_s35 > 12 ; .error "hand.S:105: verr instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i35 - .Lpv_s35), 11 ; .endif ; .Lpv_e35: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s35 - . ; .byte 1, 34, .Lpv_e35 - .Lpv_s35, .Lpv_i35 - .Lpv_s35 ; .short 0, 0 ; .popsection
 .Lpv_s36: verw %ax ; .Lpv_i36: ; .arch .nop ; .if .Lpv_i36 - .Lpv_s36 > 12 ; .error "hand.S:106: verw instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i36 - .Lpv_s36), 11 ; .endif ; .Lpv_e36: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s36 - . ; .byte 1, 35, .Lpv_e36 - .Lpv_s36, .Lpv_i36 - .Lpv_s36 ; .short 0, 0 ; .popsection
 .Lpv_s37: arpl %ax, %bx ; .Lpv_i37: ; .arch .nop ; .if .Lpv_i37 - .Lpv_s37 > 12 ; .error "hand.S:107: arpl instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i37 - .Lpv_s37), 11 ; .endif ; .Lpv_e37: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s37 - . ; .byte 1, 52, .Lpv_e37 - .Lpv_s37, .Lpv_i37 - .Lpv_s37 ; .short 0, 0 ; .popsection
 .Lpv_s38: cpuid ; .Lpv_i38: ; .arch .nop ; .if .Lpv_i38 - .Lpv_s38 > 8 ; .error "hand.S:108: cpuid instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i38 - .Lpv_s38), 11 ; .endif ; .Lpv_e38: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s38 - . ; .byte 1, 51, .Lpv_e38 - .Lpv_s38, .Lpv_i38 - .Lpv_s38 ; .short 0, 0 ; .popsection
 .Lpv_s39: rdmsr ; .Lpv_i39: ; .arch .nop ; .if .Lpv_i39 - .Lpv_s39 > 8 ; .error "hand.S:109: rdmsr instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i39 - .Lpv_s39), 11 ; .endif ; .Lpv_e39: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s39 - . ; .byte 1, 17, .Lpv_e39 - .Lpv_s39, .Lpv_i39 - .Lpv_s39 ; .short 0, 0 ; .popsection; .Lpv_s40: wrmsr ; .Lpv_i40: ; .arch .nop ; .if .Lpv_i40 - .Lpv_s40 > 8 ; .error "hand.S:109: wrmsr instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i40 - .Lpv_s40), 11 ; .endif ; .Lpv_e40: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s40 - . ; .byte 1, 18, .Lpv_e40 - .Lpv_s40, .Lpv_i40 - .Lpv_s40 ; .short 0, 0 ; .popsection; .Lpv_s41: rdpmc ; .Lpv_i41: ; .arch .nop ; .if .Lpv_i41 - .Lpv_s41 > 8 ; .error "hand.S:109: rdpmc instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i41 - .Lpv_s41), 11 ; .endif ; .Lpv_e41: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s41 - . ; .byte 1, 19, .Lpv_e41 - .Lpv_s41, .Lpv_i41 - .Lpv_s41 ; .short 0, 0 ; .popsection
 .Lpv_s42: clts ; .Lpv_i42: ; .arch .nop ; .if .Lpv_i42 - .Lpv_s42 > 8 ; .error "hand.S:110: clts instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i42 - .Lpv_s42), 11 ; .endif ; .Lpv_e42: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s42 - . ; .byte 1, 9, .Lpv_e42 - .Lpv_s42, .Lpv_i42 - .Lpv_s42 ; .short 0, 0 ; .popsection; .Lpv_s43: invd ; .Lpv_i43: ; .arch .nop ; .if .Lpv_i43 - .Lpv_s43 > 8 ; .error "hand.S:110: invd instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i43 - .Lpv_s43), 11 ; .endif ; .Lpv_e43: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s43 - . ; .byte 1, 10, .Lpv_e43 - .Lpv_s43, .Lpv_i43 - .Lpv_s43 ; .short 0, 0 ; .popsection; .Lpv_s44: wbinvd ; .Lpv_i44: ; .arch .nop ; .if .Lpv_i44 - .Lpv_s44 > 8 ; .error "hand.S:110: wbinvd instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i44 - .Lpv_s44), 11 ; .endif ; .Lpv_e44: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s44 - . ; .byte 1, 11, .Lpv_e44 - .Lpv_s44, .Lpv_i44 - .Lpv_s44 ; .short 0, 0 ; .popsection
 .Lpv_s45: invlpg (%eax) ; .Lpv_i45: ; .arch .nop ; .if .Lpv_i45 - .Lpv_s45 > 16 ; .error "hand.S:111: invlpg instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i45 - .Lpv_s45), 11 ; .endif ; .Lpv_e45: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s45 - . ; .byte 1, 12, .Lpv_e45 - .Lpv_s45, .Lpv_i45 - .Lpv_s45 ; .short 0, 0 ; .popsection
 .Lpv_s46: lmsw %ax ; .Lpv_i46: ; .arch .nop ; .if .Lpv_i46 - .Lpv_s46 > 12 ; .error "hand.S:112: lmsw instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i46 - .Lpv_s46), 11 ; .endif ; .Lpv_e46: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s46 - . ; .byte 1, 8, .Lpv_e46 - .Lpv_s46, .Lpv_i46 - .Lpv_s46 ; .short 0, 0 ; .popsection
 .Lpv_s47: lds (%eax), %ebx ; .Lpv_i47: ; .arch .nop ; .if .Lpv_i47 - .Lpv_s47 > 16 ; .error "hand.S:113: lds instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i47 - .Lpv_s47), 11 ; .endif ; .Lpv_e47: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s47 - . ; .byte 1, 43, .Lpv_e47 - .Lpv_s47, .Lpv_i47 - .Lpv_s47 ; .short 0, 0 ; .popsection; .Lpv_s48: les (%eax), %ebx ; .Lpv_i48: ; .arch .nop ; .if .Lpv_i48 - .Lpv_s48 > 16 ; .error "hand.S:113: les instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i48 - .Lpv_s48), 11 ; .endif ; .Lpv_e48: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s48 - . ; .byte 1, 44, .Lpv_e48 - .Lpv_s48, .Lpv_i48 - .Lpv_s48 ; .short 0, 0 ; .popsection; .Lpv_s49: lfs (%eax), %ebx ; .Lpv_i49: ; .arch .nop ; .if .Lpv_i49 - .Lpv_s49 > 16 ; .error "hand.S:113: lfs instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i49 - .Lpv_s49), 11 ; .endif ; .Lpv_e49: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s49 - . ; .byte 1, 45, .Lpv_e49 - .Lpv_s49, .Lpv_i49 - .Lpv_s49 ; .short 0, 0 ; .popsection; .Lpv_s50: lgs (%eax), %ebx ; .Lpv_i50: ; .arch .nop ; .if .Lpv_i50 - .Lpv_s50 > 16 ; .error "hand.S:113: lgs instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i50 - .Lpv_s50), 11 ; .endif ; .Lpv_e50: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s50 - . ; .byte 1, 46, .Lpv_e50 - .Lpv_s50, .Lpv_i50 - .Lpv_s50 ; .short 0, 0 ; .popsection; .Lpv_s51: lss (%eax), %esp ; .Lpv_i51: ; .arch .nop ; .if .Lpv_i51 - .Lpv_s51 > 16 ; .error "hand.S:113: lss instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i51 - .Lpv_s51), 11 ; .endif ; .Lpv_e51: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s51 - . ; .byte 1, 47, .Lpv_e51 - .Lpv_s51, .Lpv_i51 - .Lpv_s51 ; .short 0, 0 ; .popsection
 .Lpv_s52: int $0x80 ; .Lpv_i52: ; .arch .nop ; .if .Lpv_i52 - .Lpv_s52 > 8 ; .error "hand.S:114: int instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i52 - .Lpv_s52), 11 ; .endif ; .Lpv_e52: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s52 - . ; .byte 1, 48, .Lpv_e52 - .Lpv_s52, .Lpv_i52 - .Lpv_s52 ; .short 0, 0 ; .popsection
 .Lpv_s53: int3 ; .Lpv_i53: ; .arch .nop ; .if .Lpv_i53 - .Lpv_s53 > 8 ; .error "hand.S:115: int3 instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i53 - .Lpv_s53), 11 ; .endif ; .Lpv_e53: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s53 - . ; .byte 1, 49, .Lpv_e53 - .Lpv_s53, .Lpv_i53 - .Lpv_s53 ; .short 0, 0 ; .popsection
 .Lpv_s54: int $3 ; .Lpv_i54: ; .arch .nop ; .if .Lpv_i54 - .Lpv_s54 > 8 ; .error "hand.S:116: int3 instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i54 - .Lpv_s54), 11 ; .endif ; .Lpv_e54: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s54 - . ; .byte 1, 49, .Lpv_e54 - .Lpv_s54, .Lpv_i54 - .Lpv_s54 ; .short 0, 0 ; .popsection # GAS makes this int3
 .Lpv_s55: into ; .Lpv_i55: ; .arch .nop ; .if .Lpv_i55 - .Lpv_s55 > 8 ; .error "hand.S:117: into instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i55 - .Lpv_s55), 11 ; .endif ; .Lpv_e55: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s55 - . ; .byte 1, 50, .Lpv_e55 - .Lpv_s55, .Lpv_i55 - .Lpv_s55 ; .short 0, 0 ; .popsection
 .Lpv_s56: int1 ; .Lpv_i56: ; .arch .nop ; .if .Lpv_i56 - .Lpv_s56 > 8 ; .error "hand.S:118: int1 instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i56 - .Lpv_s56), 11 ; .endif ; .Lpv_e56: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s56 - . ; .byte 1, 53, .Lpv_e56 - .Lpv_s56, .Lpv_i56 - .Lpv_s56 ; .short 0, 0 ; .popsection
 movl %eax, %ds:(%ebx) # a segment override is not a segment move
 movl %fs:0x10, %eax
 .Lpv_s57: mov %gs, %ax ; .Lpv_i57: ; .arch .nop ; .if .Lpv_i57 - .Lpv_s57 > 12 ; .error "hand.S:121: mov_from_seg instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i57 - .Lpv_s57), 11 ; .endif ; .Lpv_e57: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s57 - . ; .byte 1, 39, .Lpv_e57 - .Lpv_s57, .Lpv_i57 - .Lpv_s57 ; .short 0, 0 ; .popsection
 .Lpv_s58: pushl %cs ; .Lpv_i58: ; .arch .nop ; .if .Lpv_i58 - .Lpv_s58 > 8 ; .error "hand.S:122: push_seg instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i58 - .Lpv_s58), 11 ; .endif ; .Lpv_e58: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s58 - . ; .byte 1, 36, .Lpv_e58 - .Lpv_s58, .Lpv_i58 - .Lpv_s58 ; .short 0, 0 ; .popsection
 .Lpv_s59: lcall $0x08, $probe ; .Lpv_i59: ; .arch .nop ; .if .Lpv_i59 - .Lpv_s59 > 16 ; .error "hand.S:123: lcall instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i59 - .Lpv_s59), 11 ; .endif ; .Lpv_e59: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s59 - . ; .byte 1, 41, .Lpv_e59 - .Lpv_s59, .Lpv_i59 - .Lpv_s59 ; .short 0, 0 ; .popsection
 .Lpv_s60: lcall *(%eax) ; .Lpv_i60: ; .arch .nop ; .if .Lpv_i60 - .Lpv_s60 > 16 ; .error "hand.S:124: lcall instruction is longer than its 16-byte previrt site" ; .else ; .nops 16 - (.Lpv_i60 - .Lpv_s60), 11 ; .endif ; .Lpv_e60: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s60 - . ; .byte 1, 41, .Lpv_e60 - .Lpv_s60, .Lpv_i60 - .Lpv_s60 ; .short 0, 0 ; .popsection
 jmp *(%eax) # near: not sensitive
 .Lpv_s61: lret $4 ; .Lpv_i61: ; .arch .nop ; .if .Lpv_i61 - .Lpv_s61 > 8 ; .error "hand.S:126: lret instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i61 - .Lpv_s61), 11 ; .endif ; .Lpv_e61: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s61 - . ; .byte 1, 42, .Lpv_e61 - .Lpv_s61, .Lpv_i61 - .Lpv_s61 ; .short 0, 0 ; .popsection
 .Lpv_s62: iret ; .Lpv_i62: ; .arch .nop ; .if .Lpv_i62 - .Lpv_s62 > 8 ; .error "hand.S:127: iret instruction is longer than its 8-byte previrt site" ; .else ; .nops 8 - (.Lpv_i62 - .Lpv_s62), 11 ; .endif ; .Lpv_e62: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s62 - . ; .byte 1, 26, .Lpv_e62 - .Lpv_s62, .Lpv_i62 - .Lpv_s62 ; .short 0, 0 ; .popsection
 .size probe, .-probe

 .globl patched_by_hand
 .type patched_by_hand, @function
patched_by_hand:
661: popfl /* a site somebody recorded by hand */
662: .nops 6
663:
 .section .previrt.sites, "a"
 .balign 4
 .long 661b - .
 .byte 1, 25, 663b - 661b, 662b - 661b
 .short 2, 0
 .previous
 .Lpv_s63: sti ; .Lpv_i63: ; .arch .nop ; .if .Lpv_i63 - .Lpv_s63 > 12 ; .error "hand.S:142: sti instruction is longer than its 12-byte previrt site" ; .else ; .nops 12 - (.Lpv_i63 - .Lpv_s63), 11 ; .endif ; .Lpv_e63: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s63 - . ; .byte 1, 2, .Lpv_e63 - .Lpv_s63, .Lpv_i63 - .Lpv_s63 ; .short 0, 0 ; .popsection
 ret
 .size patched_by_hand, .-patched_by_hand

 .data
gdt_desc: .word 0x17; .long 0
idt_desc: .word 0x7ff; .long 0
gdt_copy: .word 0; .long 0
idt_copy: .word 0; .long 0
message: .ascii "cli; sti # not code /* nor a comment */\n"
 .byte 0
not_code:
 cli /* data sections do not execute: left alone */
 .section .bss
 .space 4096
stack_top:
