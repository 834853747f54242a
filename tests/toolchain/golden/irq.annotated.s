	.file	"irq.c"
	.text
.Ltext0:
	.cfi_sections	.debug_frame
	.file 0 "." "irq.c"
	.p2align 4
	.globl	load_gdt
	.type	load_gdt, @function
load_gdt:
.LVL0:
.LFB5:
	.file 1 "irq.c"
	.loc 1 27 1 view -0
	.cfi_startproc
	.loc 1 28 5 view .LVU1
	.loc 1 28 15 is_stmt 0 view .LVU2
	movl	4(%esp), %eax
	movl	%eax, gdtr+2
	.loc 1 29 5 is_stmt 1 view .LVU3
	.loc 1 29 16 is_stmt 0 view .LVU4
	movl	8(%esp), %eax
	movw	%ax, gdtr
	.loc 1 30 5 is_stmt 1 view .LVU5
	movl	$16, %eax
#APP
# 30 "irq.c" 1
	.Lpv_s1: lgdt gdtr ; .Lpv_i1: ; .arch .nop ; .if .Lpv_i1 - .Lpv_s1 > 16 ; .error "irq.c:30: lgdt instruction is longer than its 16-byte previrt site" ; .elseif 16 - (.Lpv_i1 - .Lpv_s1) > 11 ; .byte 0xeb, 16 - (.Lpv_i1 - .Lpv_s1) - 2 ; .nops 16 - (.Lpv_i1 - .Lpv_s1) - 2, 11 ; .else ; .nops 16 - (.Lpv_i1 - .Lpv_s1), 11 ; .endif ; .Lpv_e1: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s1 - . ; .byte 1, 4, .Lpv_e1 - .Lpv_s1, .Lpv_i1 - .Lpv_s1 ; .short 0, 0 ; .popsection
	.Lpv_s2: ljmp $0x08, $1f ; .Lpv_i2: ; .arch .nop ; .if .Lpv_i2 - .Lpv_s2 > 16 ; .error "irq.c:31: ljmp instruction is longer than its 16-byte previrt site" ; .elseif 16 - (.Lpv_i2 - .Lpv_s2) > 11 ; .byte 0xeb, 16 - (.Lpv_i2 - .Lpv_s2) - 2 ; .nops 16 - (.Lpv_i2 - .Lpv_s2) - 2, 11 ; .else ; .nops 16 - (.Lpv_i2 - .Lpv_s2), 11 ; .endif ; .Lpv_e2: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s2 - . ; .byte 1, 40, .Lpv_e2 - .Lpv_s2, .Lpv_i2 - .Lpv_s2 ; .short 0, 0 ; .popsection
1:	.Lpv_s3: movw %ax, %ds ; .Lpv_i3: ; .arch .nop ; .if .Lpv_i3 - .Lpv_s3 > 12 ; .error "irq.c:32: mov_to_seg instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i3 - .Lpv_s3) > 11 ; .byte 0xeb, 12 - (.Lpv_i3 - .Lpv_s3) - 2 ; .nops 12 - (.Lpv_i3 - .Lpv_s3) - 2, 11 ; .else ; .nops 12 - (.Lpv_i3 - .Lpv_s3), 11 ; .endif ; .Lpv_e3: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s3 - . ; .byte 1, 38, .Lpv_e3 - .Lpv_s3, .Lpv_i3 - .Lpv_s3 ; .short 0, 0 ; .popsection
	.Lpv_s4: movw %ax, %es ; .Lpv_i4: ; .arch .nop ; .if .Lpv_i4 - .Lpv_s4 > 12 ; .error "irq.c:33: mov_to_seg instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i4 - .Lpv_s4) > 11 ; .byte 0xeb, 12 - (.Lpv_i4 - .Lpv_s4) - 2 ; .nops 12 - (.Lpv_i4 - .Lpv_s4) - 2, 11 ; .else ; .nops 12 - (.Lpv_i4 - .Lpv_s4), 11 ; .endif ; .Lpv_e4: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s4 - . ; .byte 1, 38, .Lpv_e4 - .Lpv_s4, .Lpv_i4 - .Lpv_s4 ; .short 0, 0 ; .popsection
	.Lpv_s5: movw %ax, %ss ; .Lpv_i5: ; .arch .nop ; .if .Lpv_i5 - .Lpv_s5 > 12 ; .error "irq.c:34: mov_to_seg instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i5 - .Lpv_s5) > 11 ; .byte 0xeb, 12 - (.Lpv_i5 - .Lpv_s5) - 2 ; .nops 12 - (.Lpv_i5 - .Lpv_s5) - 2, 11 ; .else ; .nops 12 - (.Lpv_i5 - .Lpv_s5), 11 ; .endif ; .Lpv_e5: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s5 - . ; .byte 1, 38, .Lpv_e5 - .Lpv_s5, .Lpv_i5 - .Lpv_s5 ; .short 0, 0 ; .popsection
# 0 "" 2
	.loc 1 35 1 is_stmt 0 view .LVU6
#NO_APP
	ret
	.cfi_endproc
.LFE5:
	.size	load_gdt, .-load_gdt
	.p2align 4
	.globl	switch_mm
	.type	switch_mm, @function
switch_mm:
.LVL1:
.LFB6:
	.loc 1 38 1 is_stmt 1 view -0
	.cfi_startproc
	.loc 1 39 5 view .LVU8
	.loc 1 40 5 view .LVU9
	movl	4(%esp), %eax
#APP
# 40 "irq.c" 1
	.Lpv_s6: movl %eax, %cr3 ; .Lpv_i6: ; .arch .nop ; .if .Lpv_i6 - .Lpv_s6 > 12 ; .error "irq.c:40: mov_to_cr instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i6 - .Lpv_s6) > 11 ; .byte 0xeb, 12 - (.Lpv_i6 - .Lpv_s6) - 2 ; .nops 12 - (.Lpv_i6 - .Lpv_s6) - 2, 11 ; .else ; .nops 12 - (.Lpv_i6 - .Lpv_s6), 11 ; .endif ; .Lpv_e6: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s6 - . ; .byte 1, 13, .Lpv_e6 - .Lpv_s6, .Lpv_i6 - .Lpv_s6 ; .short 0, 0 ; .popsection
# 0 "" 2
	.loc 1 41 5 view .LVU10
# 41 "irq.c" 1
	.Lpv_s7: movl %cr0, %eax ; .Lpv_i7: ; .arch .nop ; .if .Lpv_i7 - .Lpv_s7 > 12 ; .error "irq.c:41: mov_from_cr instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i7 - .Lpv_s7) > 11 ; .byte 0xeb, 12 - (.Lpv_i7 - .Lpv_s7) - 2 ; .nops 12 - (.Lpv_i7 - .Lpv_s7) - 2, 11 ; .else ; .nops 12 - (.Lpv_i7 - .Lpv_s7), 11 ; .endif ; .Lpv_e7: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s7 - . ; .byte 1, 14, .Lpv_e7 - .Lpv_s7, .Lpv_i7 - .Lpv_s7 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL2:
	.loc 1 42 5 view .LVU11
	.loc 1 42 8 is_stmt 0 view .LVU12
#NO_APP
	testl	%eax, %eax
	js	.L3
	.loc 1 43 9 is_stmt 1 view .LVU13
	.loc 1 43 55 is_stmt 0 view .LVU14
	orl	$-2147483648, %eax
.LVL3:
	.loc 1 43 9 view .LVU15
#APP
# 43 "irq.c" 1
	.Lpv_s8: movl %eax, %cr0 ; .Lpv_i8: ; .arch .nop ; .if .Lpv_i8 - .Lpv_s8 > 12 ; .error "irq.c:43: mov_to_cr instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i8 - .Lpv_s8) > 11 ; .byte 0xeb, 12 - (.Lpv_i8 - .Lpv_s8) - 2 ; .nops 12 - (.Lpv_i8 - .Lpv_s8) - 2, 11 ; .else ; .nops 12 - (.Lpv_i8 - .Lpv_s8), 11 ; .endif ; .Lpv_e8: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s8 - . ; .byte 1, 13, .Lpv_e8 - .Lpv_s8, .Lpv_i8 - .Lpv_s8 ; .short 0, 0 ; .popsection
# 0 "" 2
#NO_APP
.L3:
	.loc 1 44 1 view .LVU16
	ret
	.cfi_endproc
.LFE6:
	.size	switch_mm, .-switch_mm
	.p2align 4
	.globl	pic_ack
	.type	pic_ack, @function
pic_ack:
.LVL4:
.LFB7:
	.loc 1 47 1 is_stmt 1 view -0
	.cfi_startproc
	.loc 1 48 5 view .LVU18
.LBB16:
.LBI16:
	.loc 1 12 19 view .LVU19
.LBB17:
	.loc 1 14 5 view .LVU20
	.loc 1 15 5 view .LVU21
.LBE17:
.LBE16:
	.loc 1 47 1 is_stmt 0 view .LVU22
	movl	4(%esp), %edx
.LBB19:
.LBB18:
	.loc 1 15 5 view .LVU23
#APP
# 15 "irq.c" 1
	.Lpv_s9: pushfl ; .Lpv_i9: ; .arch .nop ; .if .Lpv_i9 - .Lpv_s9 > 8 ; .error "irq.c:15: pushf instruction is longer than its 8-byte previrt site" ; .elseif 8 - (.Lpv_i9 - .Lpv_s9) > 11 ; .byte 0xeb, 8 - (.Lpv_i9 - .Lpv_s9) - 2 ; .nops 8 - (.Lpv_i9 - .Lpv_s9) - 2, 11 ; .else ; .nops 8 - (.Lpv_i9 - .Lpv_s9), 11 ; .endif ; .Lpv_e9: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s9 - . ; .byte 1, 24, .Lpv_e9 - .Lpv_s9, .Lpv_i9 - .Lpv_s9 ; .short 0, 0 ; .popsection
	popl %ecx
	.Lpv_s10: cli ; .Lpv_i10: ; .arch .nop ; .if .Lpv_i10 - .Lpv_s10 > 8 ; .error "irq.c:17: cli instruction is longer than its 8-byte previrt site" ; .elseif 8 - (.Lpv_i10 - .Lpv_s10) > 11 ; .byte 0xeb, 8 - (.Lpv_i10 - .Lpv_s10) - 2 ; .nops 8 - (.Lpv_i10 - .Lpv_s10) - 2, 11 ; .else ; .nops 8 - (.Lpv_i10 - .Lpv_s10), 11 ; .endif ; .Lpv_e10: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s10 - . ; .byte 1, 1, .Lpv_e10 - .Lpv_s10, .Lpv_i10 - .Lpv_s10 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL5:
	.loc 1 18 5 is_stmt 1 view .LVU24
	.loc 1 18 5 is_stmt 0 view .LVU25
#NO_APP
.LBE18:
.LBE19:
	.loc 1 49 5 is_stmt 1 view .LVU26
	.loc 1 49 8 is_stmt 0 view .LVU27
	cmpl	$7, %edx
	jle	.L6
	.loc 1 50 9 is_stmt 1 view .LVU28
.LVL6:
.LBB20:
.LBI20:
	.loc 1 6 20 view .LVU29
.LBB21:
	.loc 1 6 43 view .LVU30
	movl	$32, %eax
#APP
# 6 "irq.c" 1
	.Lpv_s11: outb %al, $160 ; .Lpv_i11: ; .arch .nop ; .if .Lpv_i11 - .Lpv_s11 > 12 ; .error "irq.c:6: out instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i11 - .Lpv_s11) > 11 ; .byte 0xeb, 12 - (.Lpv_i11 - .Lpv_s11) - 2 ; .nops 12 - (.Lpv_i11 - .Lpv_s11) - 2, 11 ; .else ; .nops 12 - (.Lpv_i11 - .Lpv_s11), 11 ; .endif ; .Lpv_e11: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s11 - . ; .byte 1, 21, .Lpv_e11 - .Lpv_s11, .Lpv_i11 - .Lpv_s11 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL7:
#NO_APP
.L6:
	.loc 1 6 43 is_stmt 0 view .LVU31
.LBE21:
.LBE20:
	.loc 1 51 5 is_stmt 1 view .LVU32
.LBB22:
.LBI22:
	.loc 1 6 20 view .LVU33
.LBB23:
	.loc 1 6 43 view .LVU34
	movl	$32, %eax
#APP
# 6 "irq.c" 1
	.Lpv_s12: outb %al, $32 ; .Lpv_i12: ; .arch .nop ; .if .Lpv_i12 - .Lpv_s12 > 12 ; .error "irq.c:6: out instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i12 - .Lpv_s12) > 11 ; .byte 0xeb, 12 - (.Lpv_i12 - .Lpv_s12) - 2 ; .nops 12 - (.Lpv_i12 - .Lpv_s12) - 2, 11 ; .else ; .nops 12 - (.Lpv_i12 - .Lpv_s12), 11 ; .endif ; .Lpv_e12: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s12 - . ; .byte 1, 21, .Lpv_e12 - .Lpv_s12, .Lpv_i12 - .Lpv_s12 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL8:
	.loc 1 6 43 is_stmt 0 view .LVU35
#NO_APP
.LBE23:
.LBE22:
	.loc 1 52 5 is_stmt 1 view .LVU36
	.loc 1 52 11 is_stmt 0 view .LVU37
	cmpl	$1, %edx
	adcl	$0, ticks
	.loc 1 53 5 is_stmt 1 view .LVU38
.LVL9:
.LBB24:
.LBI24:
	.loc 1 20 20 view .LVU39
.LBB25:
	.loc 1 20 45 view .LVU40
#APP
# 20 "irq.c" 1
	pushl %ecx; .Lpv_s13: popfl ; .Lpv_i13: ; .arch .nop ; .if .Lpv_i13 - .Lpv_s13 > 8 ; .error "irq.c:20: popf instruction is longer than its 8-byte previrt site" ; .elseif 8 - (.Lpv_i13 - .Lpv_s13) > 11 ; .byte 0xeb, 8 - (.Lpv_i13 - .Lpv_s13) - 2 ; .nops 8 - (.Lpv_i13 - .Lpv_s13) - 2, 11 ; .else ; .nops 8 - (.Lpv_i13 - .Lpv_s13), 11 ; .endif ; .Lpv_e13: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s13 - . ; .byte 1, 25, .Lpv_e13 - .Lpv_s13, .Lpv_i13 - .Lpv_s13 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL10:
	.loc 1 20 45 is_stmt 0 view .LVU41
#NO_APP
.LBE25:
.LBE24:
	.loc 1 54 5 is_stmt 1 view .LVU42
.LBB26:
.LBI26:
	.loc 1 7 18 view .LVU43
.LBB27:
	.loc 1 7 34 view .LVU44
	.loc 1 7 40 view .LVU45
#APP
# 7 "irq.c" 1
	.Lpv_s14: inb $33, %al ; .Lpv_i14: ; .arch .nop ; .if .Lpv_i14 - .Lpv_s14 > 12 ; .error "irq.c:7: in instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i14 - .Lpv_s14) > 11 ; .byte 0xeb, 12 - (.Lpv_i14 - .Lpv_s14) - 2 ; .nops 12 - (.Lpv_i14 - .Lpv_s14) - 2, 11 ; .else ; .nops 12 - (.Lpv_i14 - .Lpv_s14), 11 ; .endif ; .Lpv_e14: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s14 - . ; .byte 1, 20, .Lpv_e14 - .Lpv_s14, .Lpv_i14 - .Lpv_s14 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL11:
	.loc 1 7 95 view .LVU46
	.loc 1 7 95 is_stmt 0 view .LVU47
#NO_APP
.LBE27:
.LBE26:
	.loc 1 54 12 view .LVU48
	movzbl	%al, %eax
	.loc 1 55 1 view .LVU49
	ret
	.cfi_endproc
.LFE7:
	.size	pic_ack, .-pic_ack
	.p2align 4
	.globl	ata_read
	.type	ata_read, @function
ata_read:
.LVL12:
.LFB8:
	.loc 1 58 1 is_stmt 1 view -0
	.cfi_startproc
	.loc 1 59 5 view .LVU51
	.loc 1 58 1 is_stmt 0 view .LVU52
	pushl	%edi
	.cfi_def_cfa_offset 8
	.cfi_offset 7, -8
.LBB28:
.LBB29:
	.loc 1 7 40 view .LVU53
	movl	$503, %edx
	.p2align 4,,10
	.p2align 3
.L8:
.LBE29:
.LBE28:
	.loc 1 59 12 is_stmt 1 discriminator 1 view .LVU54
.LVL13:
.LBB31:
.LBI28:
	.loc 1 7 18 discriminator 1 view .LVU55
.LBB30:
	.loc 1 7 34 discriminator 1 view .LVU56
	.loc 1 7 40 discriminator 1 view .LVU57
#APP
# 7 "irq.c" 1
	.Lpv_s15: inb %dx, %al ; .Lpv_i15: ; .arch .nop ; .if .Lpv_i15 - .Lpv_s15 > 12 ; .error "irq.c:7: in instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i15 - .Lpv_s15) > 11 ; .byte 0xeb, 12 - (.Lpv_i15 - .Lpv_s15) - 2 ; .nops 12 - (.Lpv_i15 - .Lpv_s15) - 2, 11 ; .else ; .nops 12 - (.Lpv_i15 - .Lpv_s15), 11 ; .endif ; .Lpv_e15: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s15 - . ; .byte 1, 20, .Lpv_e15 - .Lpv_s15, .Lpv_i15 - .Lpv_s15 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL14:
	.loc 1 7 95 discriminator 1 view .LVU58
	.loc 1 7 95 is_stmt 0 discriminator 1 view .LVU59
#NO_APP
.LBE30:
.LBE31:
	.loc 1 59 12 discriminator 1 view .LVU60
	testb	%al, %al
	js	.L8
	.loc 1 61 5 is_stmt 1 view .LVU61
.LVL15:
.LBB32:
.LBI32:
	.loc 1 8 20 view .LVU62
.LBB33:
	.loc 1 10 5 view .LVU63
	movl	8(%esp), %edi
	movl	$256, %ecx
	movl	$496, %edx
#APP
# 10 "irq.c" 1
	cld; .Lpv_s16: rep insw ; .Lpv_i16: ; .arch .nop ; .if .Lpv_i16 - .Lpv_s16 > 16 ; .error "irq.c:10: ins instruction is longer than its 16-byte previrt site" ; .elseif 16 - (.Lpv_i16 - .Lpv_s16) > 11 ; .byte 0xeb, 16 - (.Lpv_i16 - .Lpv_s16) - 2 ; .nops 16 - (.Lpv_i16 - .Lpv_s16) - 2, 11 ; .else ; .nops 16 - (.Lpv_i16 - .Lpv_s16), 11 ; .endif ; .Lpv_e16: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s16 - . ; .byte 1, 22, .Lpv_e16 - .Lpv_s16, .Lpv_i16 - .Lpv_s16 ; .short 0, 0 ; .popsection
# 0 "" 2
.LVL16:
	.loc 1 10 5 is_stmt 0 view .LVU64
#NO_APP
.LBE33:
.LBE32:
	.loc 1 62 1 view .LVU65
	popl	%edi
	.cfi_restore 7
	.cfi_def_cfa_offset 4
	ret
	.cfi_endproc
.LFE8:
	.size	ata_read, .-ata_read
	.p2align 4
	.globl	idle
	.type	idle, @function
idle:
.LFB9:
	.loc 1 65 1 is_stmt 1 view -0
	.cfi_startproc
	.loc 1 66 5 view .LVU67
#APP
# 66 "irq.c" 1
	.Lpv_s17: sti ; .Lpv_i17: ; .arch .nop ; .if .Lpv_i17 - .Lpv_s17 > 12 ; .error "irq.c:66: sti instruction is longer than its 12-byte previrt site" ; .elseif 12 - (.Lpv_i17 - .Lpv_s17) > 11 ; .byte 0xeb, 12 - (.Lpv_i17 - .Lpv_s17) - 2 ; .nops 12 - (.Lpv_i17 - .Lpv_s17) - 2, 11 ; .else ; .nops 12 - (.Lpv_i17 - .Lpv_s17), 11 ; .endif ; .Lpv_e17: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s17 - . ; .byte 1, 2, .Lpv_e17 - .Lpv_s17, .Lpv_i17 - .Lpv_s17 ; .short 0, 0 ; .popsection; .Lpv_s18: hlt ; .Lpv_i18: ; .arch .nop ; .if .Lpv_i18 - .Lpv_s18 > 8 ; .error "irq.c:66: hlt instruction is longer than its 8-byte previrt site" ; .elseif 8 - (.Lpv_i18 - .Lpv_s18) > 11 ; .byte 0xeb, 8 - (.Lpv_i18 - .Lpv_s18) - 2 ; .nops 8 - (.Lpv_i18 - .Lpv_s18) - 2, 11 ; .else ; .nops 8 - (.Lpv_i18 - .Lpv_s18), 11 ; .endif ; .Lpv_e18: ; .pushsection .previrt.sites,"a" ; .balign 4 ; .long .Lpv_s18 - . ; .byte 1, 3, .Lpv_e18 - .Lpv_s18, .Lpv_i18 - .Lpv_s18 ; .short 0, 0 ; .popsection
# 0 "" 2
	.loc 1 67 1 is_stmt 0 view .LVU68
#NO_APP
	ret
	.cfi_endproc
.LFE9:
	.size	idle, .-idle
	.p2align 4
	.globl	count_ticks
	.type	count_ticks, @function
count_ticks:
.LVL17:
.LFB10:
	.loc 1 70 1 is_stmt 1 view -0
	.cfi_startproc
	.loc 1 71 5 view .LVU70
	.loc 1 72 5 view .LVU71
.LBB34:
	.loc 1 72 10 view .LVU72
	.loc 1 72 23 view .LVU73
.LBE34:
	.loc 1 70 1 is_stmt 0 view .LVU74
	pushl	%esi
	.cfi_def_cfa_offset 8
	.cfi_offset 6, -8
	pushl	%ebx
	.cfi_def_cfa_offset 12
	.cfi_offset 3, -12
	.loc 1 70 1 view .LVU75
	movl	16(%esp), %edx
.LBB35:
	.loc 1 72 23 view .LVU76
	testl	%edx, %edx
	jle	.L15
	movl	12(%esp), %eax
	.loc 1 73 25 view .LVU77
	movl	ticks, %esi
.LBE35:
	.loc 1 71 9 view .LVU78
	xorl	%ecx, %ecx
	leal	(%eax,%edx,4), %ebx
.LVL18:
	.p2align 4,,10
	.p2align 3
.L14:
.LBB36:
	.loc 1 73 9 is_stmt 1 discriminator 3 view .LVU79
	.loc 1 73 21 is_stmt 0 discriminator 3 view .LVU80
	movl	(%eax), %edx
	.loc 1 72 23 discriminator 3 view .LVU81
	addl	$4, %eax
	.loc 1 73 21 discriminator 3 view .LVU82
	leal	(%edx,%edx,2), %edx
	.loc 1 73 25 discriminator 3 view .LVU83
	addl	%esi, %edx
	.loc 1 73 13 discriminator 3 view .LVU84
	addl	%edx, %ecx
.LVL19:
	.loc 1 72 29 is_stmt 1 discriminator 3 view .LVU85
	.loc 1 72 23 discriminator 3 view .LVU86
	cmpl	%eax, %ebx
	jne	.L14
.LBE36:
	.loc 1 75 1 is_stmt 0 view .LVU87
	movl	%ecx, %eax
	popl	%ebx
	.cfi_remember_state
	.cfi_restore 3
	.cfi_def_cfa_offset 8
	popl	%esi
	.cfi_restore 6
	.cfi_def_cfa_offset 4
	ret
.LVL20:
	.p2align 4,,10
	.p2align 3
.L15:
	.cfi_restore_state
	.loc 1 71 9 view .LVU88
	xorl	%ecx, %ecx
	.loc 1 74 5 is_stmt 1 view .LVU89
	.loc 1 75 1 is_stmt 0 view .LVU90
	popl	%ebx
	.cfi_restore 3
	.cfi_def_cfa_offset 8
	popl	%esi
	.cfi_restore 6
	.cfi_def_cfa_offset 4
	movl	%ecx, %eax
	ret
	.cfi_endproc
.LFE10:
	.size	count_ticks, .-count_ticks
	.local	ticks
	.comm	ticks,4,4
	.local	gdtr
	.comm	gdtr,6,4
.Letext0:
	.section	.debug_info,"",@progbits
.Ldebug_info0:
	.long	0x3c5
	.value	0x5
	.byte	0x1
	.byte	0x4
	.long	.Ldebug_abbrev0
	.uleb128 0x14
	.long	.LASF20
	.byte	0x1d
	.long	.LASF0
	.long	.LASF1
	.long	.Ltext0
	.long	.Letext0-.Ltext0
	.long	.Ldebug_line0
	.uleb128 0x3
	.string	"u8"
	.byte	0x2
	.byte	0x17
	.long	0x30
	.uleb128 0x4
	.byte	0x1
	.byte	0x8
	.long	.LASF2
	.uleb128 0x3
	.string	"u16"
	.byte	0x3
	.byte	0x18
	.long	0x42
	.uleb128 0x4
	.byte	0x2
	.byte	0x7
	.long	.LASF3
	.uleb128 0x3
	.string	"u32"
	.byte	0x4
	.byte	0x16
	.long	0x59
	.uleb128 0x15
	.long	0x49
	.uleb128 0x4
	.byte	0x4
	.byte	0x7
	.long	.LASF4
	.uleb128 0x16
	.long	.LASF21
	.byte	0x6
	.byte	0x1
	.byte	0x16
	.byte	0x8
	.long	0x84
	.uleb128 0xc
	.long	.LASF5
	.byte	0x16
	.long	0x37
	.byte	0
	.uleb128 0xc
	.long	.LASF6
	.byte	0x21
	.long	0x49
	.byte	0x2
	.byte	0
	.uleb128 0xd
	.long	.LASF7
	.byte	0x17
	.byte	0x17
	.long	0x60
	.uleb128 0x5
	.byte	0x3
	.long	gdtr
	.uleb128 0xd
	.long	.LASF8
	.byte	0x18
	.byte	0xc
	.long	0x49
	.uleb128 0x5
	.byte	0x3
	.long	ticks
	.uleb128 0xe
	.long	.LASF9
	.byte	0x45
	.long	0x49
	.long	.LFB10
	.long	.LFE10-.LFB10
	.uleb128 0x1
	.byte	0x9c
	.long	0x107
	.uleb128 0x5
	.string	"v"
	.byte	0x45
	.byte	0x1c
	.long	0x107
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.uleb128 0x17
	.string	"n"
	.byte	0x1
	.byte	0x45
	.byte	0x23
	.long	0x10d
	.long	.LLST14
	.long	.LVUS14
	.uleb128 0x6
	.string	"sum"
	.byte	0x47
	.byte	0x9
	.long	0x49
	.long	.LLST15
	.long	.LVUS15
	.uleb128 0x7
	.long	.LLRL16
	.uleb128 0x6
	.string	"i"
	.byte	0x48
	.byte	0xe
	.long	0x10d
	.long	.LLST17
	.long	.LVUS17
	.byte	0
	.byte	0
	.uleb128 0x18
	.byte	0x4
	.long	0x54
	.uleb128 0x19
	.byte	0x4
	.byte	0x5
	.string	"int"
	.uleb128 0x1a
	.long	.LASF22
	.byte	0x1
	.byte	0x40
	.byte	0x6
	.long	.LFB9
	.long	.LFE9-.LFB9
	.uleb128 0x1
	.byte	0x9c
	.uleb128 0x8
	.long	.LASF11
	.byte	0x39
	.long	.LFB8
	.long	.LFE8-.LFB8
	.uleb128 0x1
	.byte	0x9c
	.long	0x1ba
	.uleb128 0x5
	.string	"buf"
	.byte	0x39
	.byte	0x15
	.long	0x1ba
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.uleb128 0xf
	.long	0x384
	.long	.LBI28
	.byte	.LVU55
	.long	.LLRL8
	.byte	0x3b
	.byte	0xc
	.long	0x17d
	.uleb128 0x1
	.long	0x395
	.long	.LLST9
	.long	.LVUS9
	.uleb128 0x7
	.long	.LLRL8
	.uleb128 0x10
	.long	0x3a0
	.long	.LLST10
	.long	.LVUS10
	.byte	0
	.byte	0
	.uleb128 0x11
	.long	0x35a
	.long	.LBI32
	.byte	.LVU62
	.long	.LBB32
	.long	.LBE32-.LBB32
	.byte	0x3d
	.byte	0x5
	.uleb128 0x1
	.long	0x37a
	.long	.LLST11
	.long	.LVUS11
	.uleb128 0x1
	.long	0x36f
	.long	.LLST12
	.long	.LVUS12
	.uleb128 0x1
	.long	0x364
	.long	.LLST13
	.long	.LVUS13
	.byte	0
	.byte	0
	.uleb128 0x1b
	.byte	0x4
	.uleb128 0xe
	.long	.LASF10
	.byte	0x2e
	.long	0x10d
	.long	.LFB7
	.long	.LFE7-.LFB7
	.uleb128 0x1
	.byte	0x9c
	.long	0x2bf
	.uleb128 0x5
	.string	"irq"
	.byte	0x2e
	.byte	0x11
	.long	0x10d
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.uleb128 0x12
	.string	"f"
	.byte	0x30
	.byte	0x9
	.long	0x49
	.uleb128 0xf
	.long	0x33c
	.long	.LBI16
	.byte	.LVU19
	.long	.LLRL1
	.byte	0x30
	.byte	0xd
	.long	0x20b
	.uleb128 0x7
	.long	.LLRL1
	.uleb128 0x1c
	.long	0x34d
	.byte	0
	.byte	0
	.uleb128 0x9
	.long	0x3aa
	.long	.LBI20
	.byte	.LVU29
	.long	.LBB20
	.long	.LBE20-.LBB20
	.byte	0x32
	.byte	0x9
	.long	0x23e
	.uleb128 0x1
	.long	0x3be
	.long	.LLST2
	.long	.LVUS2
	.uleb128 0x1
	.long	0x3b3
	.long	.LLST3
	.long	.LVUS3
	.byte	0
	.uleb128 0x9
	.long	0x3aa
	.long	.LBI22
	.byte	.LVU33
	.long	.LBB22
	.long	.LBE22-.LBB22
	.byte	0x33
	.byte	0x5
	.long	0x271
	.uleb128 0x1
	.long	0x3be
	.long	.LLST4
	.long	.LVUS4
	.uleb128 0x1
	.long	0x3b3
	.long	.LLST4
	.long	.LVUS4
	.byte	0
	.uleb128 0x9
	.long	0x326
	.long	.LBI24
	.byte	.LVU39
	.long	.LBB24
	.long	.LBE24-.LBB24
	.byte	0x35
	.byte	0x5
	.long	0x28f
	.uleb128 0x1d
	.long	0x330
	.byte	0
	.uleb128 0x11
	.long	0x384
	.long	.LBI26
	.byte	.LVU43
	.long	.LBB26
	.long	.LBE26-.LBB26
	.byte	0x36
	.byte	0xc
	.uleb128 0x1
	.long	0x395
	.long	.LLST6
	.long	.LVUS6
	.uleb128 0x10
	.long	0x3a0
	.long	.LLST7
	.long	.LVUS7
	.byte	0
	.byte	0
	.uleb128 0x8
	.long	.LASF12
	.byte	0x25
	.long	.LFB6
	.long	.LFE6-.LFB6
	.uleb128 0x1
	.byte	0x9c
	.long	0x2f5
	.uleb128 0xa
	.long	.LASF13
	.byte	0x25
	.byte	0x14
	.long	0x49
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.uleb128 0x6
	.string	"cr0"
	.byte	0x27
	.byte	0x9
	.long	0x49
	.long	.LLST0
	.long	.LVUS0
	.byte	0
	.uleb128 0x8
	.long	.LASF14
	.byte	0x1a
	.long	.LFB5
	.long	.LFE5-.LFB5
	.uleb128 0x1
	.byte	0x9c
	.long	0x326
	.uleb128 0xa
	.long	.LASF6
	.byte	0x1a
	.byte	0x13
	.long	0x49
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.uleb128 0xa
	.long	.LASF5
	.byte	0x1a
	.byte	0x1d
	.long	0x37
	.uleb128 0x2
	.byte	0x91
	.sleb128 4
	.byte	0
	.uleb128 0x13
	.long	.LASF16
	.byte	0x14
	.long	0x33c
	.uleb128 0x2
	.long	.LASF15
	.byte	0x14
	.byte	0x24
	.long	0x49
	.byte	0
	.uleb128 0x1e
	.long	.LASF19
	.byte	0x1
	.byte	0xc
	.byte	0x13
	.long	0x49
	.byte	0x3
	.long	0x35a
	.uleb128 0x1f
	.long	.LASF15
	.byte	0x1
	.byte	0xe
	.byte	0x9
	.long	0x49
	.byte	0
	.uleb128 0x13
	.long	.LASF17
	.byte	0x8
	.long	0x384
	.uleb128 0x2
	.long	.LASF18
	.byte	0x8
	.byte	0x1d
	.long	0x37
	.uleb128 0xb
	.string	"buf"
	.byte	0x8
	.byte	0x29
	.long	0x1ba
	.uleb128 0xb
	.string	"n"
	.byte	0x8
	.byte	0x32
	.long	0x49
	.byte	0
	.uleb128 0x20
	.string	"inb"
	.byte	0x1
	.byte	0x7
	.byte	0x12
	.long	0x26
	.byte	0x3
	.long	0x3aa
	.uleb128 0x2
	.long	.LASF18
	.byte	0x7
	.byte	0x1a
	.long	0x37
	.uleb128 0x12
	.string	"v"
	.byte	0x7
	.byte	0x25
	.long	0x26
	.byte	0
	.uleb128 0x21
	.long	.LASF23
	.byte	0x1
	.byte	0x6
	.byte	0x14
	.byte	0x3
	.uleb128 0x2
	.long	.LASF18
	.byte	0x6
	.byte	0x1d
	.long	0x37
	.uleb128 0xb
	.string	"v"
	.byte	0x6
	.byte	0x26
	.long	0x26
	.byte	0
	.byte	0
	.section	.debug_abbrev,"",@progbits
.Ldebug_abbrev0:
	.uleb128 0x1
	.uleb128 0x5
	.byte	0
	.uleb128 0x31
	.uleb128 0x13
	.uleb128 0x2
	.uleb128 0x17
	.uleb128 0x2137
	.uleb128 0x17
	.byte	0
	.byte	0
	.uleb128 0x2
	.uleb128 0x5
	.byte	0
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x3
	.uleb128 0x16
	.byte	0
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x4
	.uleb128 0x24
	.byte	0
	.uleb128 0xb
	.uleb128 0xb
	.uleb128 0x3e
	.uleb128 0xb
	.uleb128 0x3
	.uleb128 0xe
	.byte	0
	.byte	0
	.uleb128 0x5
	.uleb128 0x5
	.byte	0
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x2
	.uleb128 0x18
	.byte	0
	.byte	0
	.uleb128 0x6
	.uleb128 0x34
	.byte	0
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x2
	.uleb128 0x17
	.uleb128 0x2137
	.uleb128 0x17
	.byte	0
	.byte	0
	.uleb128 0x7
	.uleb128 0xb
	.byte	0x1
	.uleb128 0x55
	.uleb128 0x17
	.byte	0
	.byte	0
	.uleb128 0x8
	.uleb128 0x2e
	.byte	0x1
	.uleb128 0x3f
	.uleb128 0x19
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0x21
	.sleb128 6
	.uleb128 0x27
	.uleb128 0x19
	.uleb128 0x11
	.uleb128 0x1
	.uleb128 0x12
	.uleb128 0x6
	.uleb128 0x40
	.uleb128 0x18
	.uleb128 0x7a
	.uleb128 0x19
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x9
	.uleb128 0x1d
	.byte	0x1
	.uleb128 0x31
	.uleb128 0x13
	.uleb128 0x52
	.uleb128 0x1
	.uleb128 0x2138
	.uleb128 0xb
	.uleb128 0x11
	.uleb128 0x1
	.uleb128 0x12
	.uleb128 0x6
	.uleb128 0x58
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x59
	.uleb128 0xb
	.uleb128 0x57
	.uleb128 0xb
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0xa
	.uleb128 0x5
	.byte	0
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x2
	.uleb128 0x18
	.byte	0
	.byte	0
	.uleb128 0xb
	.uleb128 0x5
	.byte	0
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0xc
	.uleb128 0xd
	.byte	0
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0x21
	.sleb128 22
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x38
	.uleb128 0xb
	.byte	0
	.byte	0
	.uleb128 0xd
	.uleb128 0x34
	.byte	0
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x2
	.uleb128 0x18
	.byte	0
	.byte	0
	.uleb128 0xe
	.uleb128 0x2e
	.byte	0x1
	.uleb128 0x3f
	.uleb128 0x19
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0x21
	.sleb128 5
	.uleb128 0x27
	.uleb128 0x19
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x11
	.uleb128 0x1
	.uleb128 0x12
	.uleb128 0x6
	.uleb128 0x40
	.uleb128 0x18
	.uleb128 0x7a
	.uleb128 0x19
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0xf
	.uleb128 0x1d
	.byte	0x1
	.uleb128 0x31
	.uleb128 0x13
	.uleb128 0x52
	.uleb128 0x1
	.uleb128 0x2138
	.uleb128 0xb
	.uleb128 0x55
	.uleb128 0x17
	.uleb128 0x58
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x59
	.uleb128 0xb
	.uleb128 0x57
	.uleb128 0xb
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x10
	.uleb128 0x34
	.byte	0
	.uleb128 0x31
	.uleb128 0x13
	.uleb128 0x2
	.uleb128 0x17
	.uleb128 0x2137
	.uleb128 0x17
	.byte	0
	.byte	0
	.uleb128 0x11
	.uleb128 0x1d
	.byte	0x1
	.uleb128 0x31
	.uleb128 0x13
	.uleb128 0x52
	.uleb128 0x1
	.uleb128 0x2138
	.uleb128 0xb
	.uleb128 0x11
	.uleb128 0x1
	.uleb128 0x12
	.uleb128 0x6
	.uleb128 0x58
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x59
	.uleb128 0xb
	.uleb128 0x57
	.uleb128 0xb
	.byte	0
	.byte	0
	.uleb128 0x12
	.uleb128 0x34
	.byte	0
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x13
	.uleb128 0x2e
	.byte	0x1
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0x21
	.sleb128 20
	.uleb128 0x27
	.uleb128 0x19
	.uleb128 0x20
	.uleb128 0x21
	.sleb128 3
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x14
	.uleb128 0x11
	.byte	0x1
	.uleb128 0x25
	.uleb128 0xe
	.uleb128 0x13
	.uleb128 0xb
	.uleb128 0x3
	.uleb128 0x1f
	.uleb128 0x1b
	.uleb128 0x1f
	.uleb128 0x11
	.uleb128 0x1
	.uleb128 0x12
	.uleb128 0x6
	.uleb128 0x10
	.uleb128 0x17
	.byte	0
	.byte	0
	.uleb128 0x15
	.uleb128 0x26
	.byte	0
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x16
	.uleb128 0x13
	.byte	0x1
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0xb
	.uleb128 0xb
	.uleb128 0x3a
	.uleb128 0xb
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x17
	.uleb128 0x5
	.byte	0
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0xb
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x2
	.uleb128 0x17
	.uleb128 0x2137
	.uleb128 0x17
	.byte	0
	.byte	0
	.uleb128 0x18
	.uleb128 0xf
	.byte	0
	.uleb128 0xb
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x19
	.uleb128 0x24
	.byte	0
	.uleb128 0xb
	.uleb128 0xb
	.uleb128 0x3e
	.uleb128 0xb
	.uleb128 0x3
	.uleb128 0x8
	.byte	0
	.byte	0
	.uleb128 0x1a
	.uleb128 0x2e
	.byte	0
	.uleb128 0x3f
	.uleb128 0x19
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0xb
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x27
	.uleb128 0x19
	.uleb128 0x11
	.uleb128 0x1
	.uleb128 0x12
	.uleb128 0x6
	.uleb128 0x40
	.uleb128 0x18
	.uleb128 0x7a
	.uleb128 0x19
	.byte	0
	.byte	0
	.uleb128 0x1b
	.uleb128 0xf
	.byte	0
	.uleb128 0xb
	.uleb128 0xb
	.byte	0
	.byte	0
	.uleb128 0x1c
	.uleb128 0x34
	.byte	0
	.uleb128 0x31
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x1d
	.uleb128 0x5
	.byte	0
	.uleb128 0x31
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x1e
	.uleb128 0x2e
	.byte	0x1
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0xb
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x27
	.uleb128 0x19
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x20
	.uleb128 0xb
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x1f
	.uleb128 0x34
	.byte	0
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0xb
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x20
	.uleb128 0x2e
	.byte	0x1
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0xb
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x27
	.uleb128 0x19
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x20
	.uleb128 0xb
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x21
	.uleb128 0x2e
	.byte	0x1
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0xb
	.uleb128 0x3b
	.uleb128 0xb
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x27
	.uleb128 0x19
	.uleb128 0x20
	.uleb128 0xb
	.byte	0
	.byte	0
	.byte	0
	.section	.debug_loclists,"",@progbits
	.long	.Ldebug_loc3-.Ldebug_loc2
.Ldebug_loc2:
	.value	0x5
	.byte	0x4
	.byte	0
	.long	0
.Ldebug_loc0:
.LVUS14:
	.uleb128 0
	.uleb128 .LVU88
	.uleb128 .LVU88
	.uleb128 0
.LLST14:
	.byte	0x4
	.uleb128 .LVL17-.Ltext0
	.uleb128 .LVL20-.Ltext0
	.uleb128 0x2
	.byte	0x91
	.sleb128 4
	.byte	0x4
	.uleb128 .LVL20-.Ltext0
	.uleb128 .LFE10-.Ltext0
	.uleb128 0x1
	.byte	0x52
	.byte	0
.LVUS15:
	.uleb128 .LVU71
	.uleb128 .LVU79
	.uleb128 .LVU79
	.uleb128 .LVU88
	.uleb128 .LVU88
	.uleb128 0
.LLST15:
	.byte	0x4
	.uleb128 .LVL17-.Ltext0
	.uleb128 .LVL18-.Ltext0
	.uleb128 0x2
	.byte	0x30
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL18-.Ltext0
	.uleb128 .LVL20-.Ltext0
	.uleb128 0x1
	.byte	0x51
	.byte	0x4
	.uleb128 .LVL20-.Ltext0
	.uleb128 .LFE10-.Ltext0
	.uleb128 0x2
	.byte	0x30
	.byte	0x9f
	.byte	0
.LVUS17:
	.uleb128 .LVU73
	.uleb128 .LVU79
	.uleb128 .LVU88
	.uleb128 0
.LLST17:
	.byte	0x4
	.uleb128 .LVL17-.Ltext0
	.uleb128 .LVL18-.Ltext0
	.uleb128 0x2
	.byte	0x30
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL20-.Ltext0
	.uleb128 .LFE10-.Ltext0
	.uleb128 0x2
	.byte	0x30
	.byte	0x9f
	.byte	0
.LVUS9:
	.uleb128 .LVU55
	.uleb128 .LVU59
.LLST9:
	.byte	0x4
	.uleb128 .LVL13-.Ltext0
	.uleb128 .LVL14-.Ltext0
	.uleb128 0x4
	.byte	0xa
	.value	0x1f7
	.byte	0x9f
	.byte	0
.LVUS10:
	.uleb128 .LVU58
	.uleb128 .LVU59
.LLST10:
	.byte	0x4
	.uleb128 .LVL14-.Ltext0
	.uleb128 .LVL14-.Ltext0
	.uleb128 0x1
	.byte	0x50
	.byte	0
.LVUS11:
	.uleb128 .LVU62
	.uleb128 .LVU64
.LLST11:
	.byte	0x4
	.uleb128 .LVL15-.Ltext0
	.uleb128 .LVL16-.Ltext0
	.uleb128 0x4
	.byte	0xa
	.value	0x100
	.byte	0x9f
	.byte	0
.LVUS12:
	.uleb128 .LVU62
	.uleb128 .LVU64
.LLST12:
	.byte	0x4
	.uleb128 .LVL15-.Ltext0
	.uleb128 .LVL16-.Ltext0
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.byte	0
.LVUS13:
	.uleb128 .LVU62
	.uleb128 .LVU64
.LLST13:
	.byte	0x4
	.uleb128 .LVL15-.Ltext0
	.uleb128 .LVL16-.Ltext0
	.uleb128 0x4
	.byte	0xa
	.value	0x1f0
	.byte	0x9f
	.byte	0
.LVUS2:
	.uleb128 .LVU29
	.uleb128 .LVU31
.LLST2:
	.byte	0x4
	.uleb128 .LVL6-.Ltext0
	.uleb128 .LVL7-.Ltext0
	.uleb128 0x3
	.byte	0x8
	.byte	0x20
	.byte	0x9f
	.byte	0
.LVUS3:
	.uleb128 .LVU29
	.uleb128 .LVU31
.LLST3:
	.byte	0x4
	.uleb128 .LVL6-.Ltext0
	.uleb128 .LVL7-.Ltext0
	.uleb128 0x3
	.byte	0x8
	.byte	0xa0
	.byte	0x9f
	.byte	0
.LVUS4:
	.uleb128 .LVU33
	.uleb128 .LVU35
.LLST4:
	.byte	0x4
	.uleb128 .LVL7-.Ltext0
	.uleb128 .LVL8-.Ltext0
	.uleb128 0x3
	.byte	0x8
	.byte	0x20
	.byte	0x9f
	.byte	0
.LVUS6:
	.uleb128 .LVU43
	.uleb128 .LVU47
.LLST6:
	.byte	0x4
	.uleb128 .LVL10-.Ltext0
	.uleb128 .LVL11-.Ltext0
	.uleb128 0x3
	.byte	0x8
	.byte	0x21
	.byte	0x9f
	.byte	0
.LVUS7:
	.uleb128 .LVU46
	.uleb128 .LVU47
.LLST7:
	.byte	0x4
	.uleb128 .LVL11-.Ltext0
	.uleb128 .LVL11-.Ltext0
	.uleb128 0x1
	.byte	0x50
	.byte	0
.LVUS0:
	.uleb128 .LVU11
	.uleb128 .LVU15
.LLST0:
	.byte	0x4
	.uleb128 .LVL2-.Ltext0
	.uleb128 .LVL3-.Ltext0
	.uleb128 0x1
	.byte	0x50
	.byte	0
.Ldebug_loc3:
	.section	.debug_aranges,"",@progbits
	.long	0x1c
	.value	0x2
	.long	.Ldebug_info0
	.byte	0x4
	.byte	0
	.value	0
	.value	0
	.long	.Ltext0
	.long	.Letext0-.Ltext0
	.long	0
	.long	0
	.section	.debug_rnglists,"",@progbits
.Ldebug_ranges0:
	.long	.Ldebug_ranges3-.Ldebug_ranges2
.Ldebug_ranges2:
	.value	0x5
	.byte	0x4
	.byte	0
	.long	0
.LLRL1:
	.byte	0x4
	.uleb128 .LBB16-.Ltext0
	.uleb128 .LBE16-.Ltext0
	.byte	0x4
	.uleb128 .LBB19-.Ltext0
	.uleb128 .LBE19-.Ltext0
	.byte	0
.LLRL8:
	.byte	0x4
	.uleb128 .LBB28-.Ltext0
	.uleb128 .LBE28-.Ltext0
	.byte	0x4
	.uleb128 .LBB31-.Ltext0
	.uleb128 .LBE31-.Ltext0
	.byte	0
.LLRL16:
	.byte	0x4
	.uleb128 .LBB34-.Ltext0
	.uleb128 .LBE34-.Ltext0
	.byte	0x4
	.uleb128 .LBB35-.Ltext0
	.uleb128 .LBE35-.Ltext0
	.byte	0x4
	.uleb128 .LBB36-.Ltext0
	.uleb128 .LBE36-.Ltext0
	.byte	0
.Ldebug_ranges3:
	.section	.debug_line,"",@progbits
.Ldebug_line0:
	.section	.debug_str,"MS",@progbits,1
.LASF9:
	.string	"count_ticks"
.LASF4:
	.string	"unsigned int"
.LASF14:
	.string	"load_gdt"
.LASF2:
	.string	"unsigned char"
.LASF16:
	.string	"irq_restore"
.LASF7:
	.string	"gdtr"
.LASF22:
	.string	"idle"
.LASF23:
	.string	"outb"
.LASF5:
	.string	"limit"
.LASF18:
	.string	"port"
.LASF6:
	.string	"base"
.LASF19:
	.string	"irq_save"
.LASF15:
	.string	"flags"
.LASF8:
	.string	"ticks"
.LASF11:
	.string	"ata_read"
.LASF10:
	.string	"pic_ack"
.LASF17:
	.string	"insw"
.LASF3:
	.string	"short unsigned int"
.LASF20:
	.string	"GNU C17 12.2.0 -m32 -mtune=generic -march=i686 -g -O2 -ffreestanding -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables"
.LASF12:
	.string	"switch_mm"
.LASF13:
	.string	"pgdir"
.LASF21:
	.string	"gdt_ptr"
	.section	.debug_line_str,"MS",@progbits,1
.LASF0:
	.string	"irq.c"
.LASF1:
	.string	"."
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
	.section	.note.GNU-stack,"",@progbits
