	.file	"plain.c"
	.text
.Ltext0:
	.cfi_sections	.debug_frame
	.file 0 "." "plain.c"
	.p2align 4
	.globl	lookup
	.type	lookup, @function
lookup:
.LVL0:
.LFB0:
	.file 1 "plain.c"
	.loc 1 5 1 view -0
	.cfi_startproc
	.loc 1 6 5 view .LVU1
	.loc 1 5 1 is_stmt 0 view .LVU2
	movl	4(%esp), %eax
	.loc 1 6 12 is_stmt 1 view .LVU3
	.loc 1 5 1 is_stmt 0 view .LVU4
	movl	8(%esp), %edx
	.loc 1 6 12 view .LVU5
	testl	%eax, %eax
	jne	.L4
	jmp	.L5
.LVL1:
	.p2align 4,,10
	.p2align 3
.L3:
	.loc 1 6 17 is_stmt 1 view .LVU6
	movl	(%eax), %eax
.LVL2:
	.loc 1 6 12 view .LVU7
	testl	%eax, %eax
	je	.L5
.L4:
	.loc 1 7 9 view .LVU8
	.loc 1 7 12 is_stmt 0 view .LVU9
	cmpl	%edx, 4(%eax)
	jne	.L3
	.loc 1 8 13 is_stmt 1 view .LVU10
	.loc 1 8 21 is_stmt 0 view .LVU11
	movl	8(%eax), %eax
.LVL3:
	.loc 1 8 21 view .LVU12
	ret
.LVL4:
	.p2align 4,,10
	.p2align 3
.L5:
	.loc 1 9 12 view .LVU13
	movl	$-1, %eax
.LVL5:
	.loc 1 10 1 view .LVU14
	ret
	.cfi_endproc
.LFE0:
	.size	lookup, .-lookup
	.p2align 4
	.globl	checksum
	.type	checksum, @function
checksum:
.LVL6:
.LFB1:
	.loc 1 13 1 is_stmt 1 view -0
	.cfi_startproc
	.loc 1 13 1 is_stmt 0 view .LVU16
	pushl	%ebp
	.cfi_def_cfa_offset 8
	.cfi_offset 5, -8
	pushl	%edi
	.cfi_def_cfa_offset 12
	.cfi_offset 7, -12
	pushl	%esi
	.cfi_def_cfa_offset 16
	.cfi_offset 6, -16
	pushl	%ebx
	.cfi_def_cfa_offset 20
	.cfi_offset 3, -20
	subl	$4, %esp
	.cfi_def_cfa_offset 24
	.loc 1 13 1 view .LVU17
	movl	28(%esp), %eax
	movl	24(%esp), %edi
	.loc 1 14 5 is_stmt 1 view .LVU18
.LVL7:
	.loc 1 15 5 view .LVU19
	.loc 1 15 12 view .LVU20
	.loc 1 15 12 is_stmt 0 view .LVU21
	testl	%eax, %eax
	je	.L11
	addl	%edi, %eax
.LVL8:
	.loc 1 14 21 view .LVU22
	xorl	%ebx, %ebx
	.loc 1 14 14 view .LVU23
	movl	$1, %ecx
	.loc 1 16 11 view .LVU24
	movl	$-2146992015, %ebp
	movl	%eax, (%esp)
.LVL9:
	.p2align 4,,10
	.p2align 3
.L10:
	.loc 1 16 9 is_stmt 1 view .LVU25
	.loc 1 16 18 is_stmt 0 view .LVU26
	movzbl	(%edi), %esi
	.loc 1 16 20 view .LVU27
	addl	$1, %edi
.LVL10:
	.loc 1 16 16 view .LVU28
	addl	%ecx, %esi
	.loc 1 16 11 view .LVU29
	movl	%esi, %eax
	movl	%esi, %ecx
.LVL11:
	.loc 1 16 11 view .LVU30
	mull	%ebp
	shrl	$15, %edx
	imull	$65521, %edx, %eax
	subl	%eax, %ecx
.LVL12:
	.loc 1 17 9 is_stmt 1 view .LVU31
	.loc 1 17 16 is_stmt 0 view .LVU32
	leal	(%ecx,%ebx), %esi
	.loc 1 17 11 view .LVU33
	movl	%esi, %eax
	mull	%ebp
	movl	%edx, %ebx
.LVL13:
	.loc 1 17 11 view .LVU34
	shrl	$15, %ebx
	imull	$65521, %ebx, %eax
	movl	%esi, %ebx
	subl	%eax, %ebx
.LVL14:
	.loc 1 15 12 is_stmt 1 view .LVU35
	.loc 1 15 12 is_stmt 0 view .LVU36
	movl	(%esp), %eax
	cmpl	%eax, %edi
	jne	.L10
	.loc 1 19 15 view .LVU37
	movl	%ebx, %eax
	.loc 1 20 1 view .LVU38
	addl	$4, %esp
	.cfi_remember_state
	.cfi_def_cfa_offset 20
	.loc 1 19 15 view .LVU39
	sall	$16, %eax
	.loc 1 20 1 view .LVU40
	popl	%ebx
	.cfi_restore 3
	.cfi_def_cfa_offset 16
.LVL15:
	.loc 1 20 1 view .LVU41
	popl	%esi
	.cfi_restore 6
	.cfi_def_cfa_offset 12
.LVL16:
	.loc 1 19 22 view .LVU42
	orl	%ecx, %eax
	.loc 1 20 1 view .LVU43
	popl	%edi
	.cfi_restore 7
	.cfi_def_cfa_offset 8
.LVL17:
	.loc 1 20 1 view .LVU44
	popl	%ebp
	.cfi_restore 5
	.cfi_def_cfa_offset 4
	ret
.LVL18:
	.p2align 4,,10
	.p2align 3
.L11:
	.cfi_restore_state
	.loc 1 20 1 view .LVU45
	addl	$4, %esp
	.cfi_def_cfa_offset 20
	.loc 1 15 12 view .LVU46
	movl	$1, %eax
.LVL19:
	.loc 1 19 5 is_stmt 1 view .LVU47
	.loc 1 20 1 is_stmt 0 view .LVU48
	popl	%ebx
	.cfi_restore 3
	.cfi_def_cfa_offset 16
	popl	%esi
	.cfi_restore 6
	.cfi_def_cfa_offset 12
	popl	%edi
	.cfi_restore 7
	.cfi_def_cfa_offset 8
.LVL20:
	.loc 1 20 1 view .LVU49
	popl	%ebp
	.cfi_restore 5
	.cfi_def_cfa_offset 4
	ret
	.cfi_endproc
.LFE1:
	.size	checksum, .-checksum
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"?"
	.text
	.p2align 4
	.globl	name_of
	.type	name_of, @function
name_of:
.LVL21:
.LFB2:
	.loc 1 24 33 is_stmt 1 view -0
	.cfi_startproc
	.loc 1 24 35 view .LVU51
	.loc 1 24 33 is_stmt 0 view .LVU52
	movl	4(%esp), %edx
	.loc 1 24 59 view .LVU53
	movl	$.LC0, %eax
	cmpl	$3, %edx
	ja	.L14
	.loc 1 24 59 discriminator 1 view .LVU54
	movl	names(,%edx,4), %eax
.L14:
	.loc 1 24 66 view .LVU55
	ret
	.cfi_endproc
.LFE2:
	.size	name_of, .-name_of
	.section	.rodata.str1.1
.LC1:
	.string	"cli"
.LC2:
	.string	"sti; hlt"
.LC3:
	.string	"# not a comment"
.LC4:
	.string	"/* nor this */"
	.section	.rodata
	.align 4
	.type	names, @object
	.size	names, 16
names:
	.long	.LC1
	.long	.LC2
	.long	.LC3
	.long	.LC4
	.text
.Letext0:
	.section	.debug_info,"",@progbits
.Ldebug_info0:
	.long	0x182
	.value	0x5
	.byte	0x1
	.byte	0x4
	.long	.Ldebug_abbrev0
	.uleb128 0x8
	.long	.LASF10
	.byte	0x1d
	.long	.LASF0
	.long	.LASF1
	.long	.Ltext0
	.long	.Letext0-.Ltext0
	.long	.Ldebug_line0
	.uleb128 0x9
	.long	.LASF11
	.byte	0xc
	.byte	0x1
	.byte	0x2
	.byte	0x8
	.long	0x57
	.uleb128 0x6
	.long	.LASF2
	.byte	0x1c
	.long	0x5c
	.byte	0
	.uleb128 0xa
	.string	"key"
	.byte	0x1
	.byte	0x2
	.byte	0x26
	.long	0x61
	.byte	0x4
	.uleb128 0x6
	.long	.LASF3
	.byte	0x2b
	.long	0x61
	.byte	0x8
	.byte	0
	.uleb128 0x1
	.long	0x26
	.uleb128 0x2
	.long	0x26
	.uleb128 0xb
	.byte	0x4
	.byte	0x5
	.string	"int"
	.uleb128 0xc
	.long	0x89
	.long	0x78
	.uleb128 0xd
	.long	0x7d
	.byte	0x3
	.byte	0
	.uleb128 0x1
	.long	0x68
	.uleb128 0x4
	.byte	0x4
	.byte	0x7
	.long	.LASF4
	.uleb128 0x2
	.long	0x95
	.uleb128 0x1
	.long	0x84
	.uleb128 0x4
	.byte	0x1
	.byte	0x6
	.long	.LASF5
	.uleb128 0x1
	.long	0x8e
	.uleb128 0xe
	.long	.LASF12
	.byte	0x1
	.byte	0x16
	.byte	0x1a
	.long	0x78
	.uleb128 0x5
	.byte	0x3
	.long	names
	.uleb128 0x5
	.long	.LASF6
	.byte	0x18
	.byte	0xd
	.long	0x84
	.long	.LFB2
	.long	.LFE2-.LFB2
	.uleb128 0x1
	.byte	0x9c
	.long	0xd3
	.uleb128 0xf
	.string	"i"
	.byte	0x1
	.byte	0x18
	.byte	0x1e
	.long	0x7d
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.byte	0
	.uleb128 0x5
	.long	.LASF7
	.byte	0xc
	.byte	0xa
	.long	0x7d
	.long	.LFB1
	.long	.LFE1-.LFB1
	.uleb128 0x1
	.byte	0x9c
	.long	0x131
	.uleb128 0x3
	.string	"p"
	.byte	0xc
	.byte	0x28
	.long	0x131
	.long	.LLST2
	.long	.LVUS2
	.uleb128 0x3
	.string	"len"
	.byte	0xc
	.byte	0x34
	.long	0x7d
	.long	.LLST3
	.long	.LVUS3
	.uleb128 0x7
	.string	"a"
	.byte	0xe
	.long	0x7d
	.long	.LLST4
	.long	.LVUS4
	.uleb128 0x7
	.string	"b"
	.byte	0x15
	.long	0x7d
	.long	.LLST5
	.long	.LVUS5
	.byte	0
	.uleb128 0x2
	.long	0x13d
	.uleb128 0x4
	.byte	0x1
	.byte	0x8
	.long	.LASF8
	.uleb128 0x1
	.long	0x136
	.uleb128 0x5
	.long	.LASF9
	.byte	0x4
	.byte	0x5
	.long	0x61
	.long	.LFB0
	.long	.LFE0-.LFB0
	.uleb128 0x1
	.byte	0x9c
	.long	0x180
	.uleb128 0x3
	.string	"n"
	.byte	0x4
	.byte	0x1f
	.long	0x180
	.long	.LLST0
	.long	.LVUS0
	.uleb128 0x3
	.string	"key"
	.byte	0x4
	.byte	0x26
	.long	0x61
	.long	.LLST1
	.long	.LVUS1
	.byte	0
	.uleb128 0x2
	.long	0x57
	.byte	0
	.section	.debug_abbrev,"",@progbits
.Ldebug_abbrev0:
	.uleb128 0x1
	.uleb128 0x26
	.byte	0
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x2
	.uleb128 0xf
	.byte	0
	.uleb128 0xb
	.uleb128 0x21
	.sleb128 4
	.uleb128 0x49
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0x3
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
	.uleb128 0x17
	.uleb128 0x2137
	.uleb128 0x17
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
	.uleb128 0xb
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
	.uleb128 0x6
	.uleb128 0xd
	.byte	0
	.uleb128 0x3
	.uleb128 0xe
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0x21
	.sleb128 2
	.uleb128 0x39
	.uleb128 0xb
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x38
	.uleb128 0xb
	.byte	0
	.byte	0
	.uleb128 0x7
	.uleb128 0x34
	.byte	0
	.uleb128 0x3
	.uleb128 0x8
	.uleb128 0x3a
	.uleb128 0x21
	.sleb128 1
	.uleb128 0x3b
	.uleb128 0x21
	.sleb128 14
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
	.uleb128 0x8
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
	.uleb128 0x9
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
	.uleb128 0xa
	.uleb128 0xd
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
	.uleb128 0x38
	.uleb128 0xb
	.byte	0
	.byte	0
	.uleb128 0xb
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
	.uleb128 0xc
	.uleb128 0x1
	.byte	0x1
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x1
	.uleb128 0x13
	.byte	0
	.byte	0
	.uleb128 0xd
	.uleb128 0x21
	.byte	0
	.uleb128 0x49
	.uleb128 0x13
	.uleb128 0x2f
	.uleb128 0xb
	.byte	0
	.byte	0
	.uleb128 0xe
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
	.uleb128 0x2
	.uleb128 0x18
	.byte	0
	.byte	0
	.uleb128 0xf
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
	.uleb128 0x18
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
.LVUS2:
	.uleb128 0
	.uleb128 .LVU20
	.uleb128 .LVU20
	.uleb128 .LVU44
	.uleb128 .LVU45
	.uleb128 .LVU49
	.uleb128 .LVU49
	.uleb128 0
.LLST2:
	.byte	0x4
	.uleb128 .LVL6-.Ltext0
	.uleb128 .LVL7-.Ltext0
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.byte	0x4
	.uleb128 .LVL7-.Ltext0
	.uleb128 .LVL17-.Ltext0
	.uleb128 0x1
	.byte	0x57
	.byte	0x4
	.uleb128 .LVL18-.Ltext0
	.uleb128 .LVL20-.Ltext0
	.uleb128 0x1
	.byte	0x57
	.byte	0x4
	.uleb128 .LVL20-.Ltext0
	.uleb128 .LFE1-.Ltext0
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.byte	0
.LVUS3:
	.uleb128 0
	.uleb128 .LVU20
	.uleb128 .LVU20
	.uleb128 .LVU21
	.uleb128 .LVU21
	.uleb128 .LVU22
	.uleb128 .LVU22
	.uleb128 .LVU45
	.uleb128 .LVU45
	.uleb128 .LVU47
	.uleb128 .LVU47
	.uleb128 0
.LLST3:
	.byte	0x4
	.uleb128 .LVL6-.Ltext0
	.uleb128 .LVL7-.Ltext0
	.uleb128 0x2
	.byte	0x91
	.sleb128 4
	.byte	0x4
	.uleb128 .LVL7-.Ltext0
	.uleb128 .LVL7-.Ltext0
	.uleb128 0x1
	.byte	0x50
	.byte	0x4
	.uleb128 .LVL7-.Ltext0
	.uleb128 .LVL8-.Ltext0
	.uleb128 0x3
	.byte	0x70
	.sleb128 -1
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL8-.Ltext0
	.uleb128 .LVL18-.Ltext0
	.uleb128 0x6
	.byte	0x91
	.sleb128 4
	.byte	0x6
	.byte	0x31
	.byte	0x1c
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL18-.Ltext0
	.uleb128 .LVL19-.Ltext0
	.uleb128 0x3
	.byte	0x70
	.sleb128 -1
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL19-.Ltext0
	.uleb128 .LFE1-.Ltext0
	.uleb128 0x6
	.byte	0x91
	.sleb128 4
	.byte	0x6
	.byte	0x31
	.byte	0x1c
	.byte	0x9f
	.byte	0
.LVUS4:
	.uleb128 .LVU19
	.uleb128 .LVU25
	.uleb128 .LVU25
	.uleb128 .LVU30
	.uleb128 .LVU31
	.uleb128 .LVU45
	.uleb128 .LVU45
	.uleb128 0
.LLST4:
	.byte	0x4
	.uleb128 .LVL7-.Ltext0
	.uleb128 .LVL9-.Ltext0
	.uleb128 0x2
	.byte	0x31
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL9-.Ltext0
	.uleb128 .LVL11-.Ltext0
	.uleb128 0x1
	.byte	0x51
	.byte	0x4
	.uleb128 .LVL12-.Ltext0
	.uleb128 .LVL18-.Ltext0
	.uleb128 0x1
	.byte	0x51
	.byte	0x4
	.uleb128 .LVL18-.Ltext0
	.uleb128 .LFE1-.Ltext0
	.uleb128 0x2
	.byte	0x31
	.byte	0x9f
	.byte	0
.LVUS5:
	.uleb128 .LVU19
	.uleb128 .LVU25
	.uleb128 .LVU25
	.uleb128 .LVU34
	.uleb128 .LVU35
	.uleb128 .LVU41
	.uleb128 .LVU41
	.uleb128 .LVU42
	.uleb128 .LVU45
	.uleb128 0
.LLST5:
	.byte	0x4
	.uleb128 .LVL7-.Ltext0
	.uleb128 .LVL9-.Ltext0
	.uleb128 0x2
	.byte	0x30
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL9-.Ltext0
	.uleb128 .LVL13-.Ltext0
	.uleb128 0x1
	.byte	0x53
	.byte	0x4
	.uleb128 .LVL14-.Ltext0
	.uleb128 .LVL15-.Ltext0
	.uleb128 0x1
	.byte	0x53
	.byte	0x4
	.uleb128 .LVL15-.Ltext0
	.uleb128 .LVL16-.Ltext0
	.uleb128 0xc
	.byte	0x76
	.sleb128 0
	.byte	0x72
	.sleb128 0
	.byte	0x3f
	.byte	0x25
	.byte	0xa
	.value	0xfff1
	.byte	0x1e
	.byte	0x1c
	.byte	0x9f
	.byte	0x4
	.uleb128 .LVL18-.Ltext0
	.uleb128 .LFE1-.Ltext0
	.uleb128 0x2
	.byte	0x30
	.byte	0x9f
	.byte	0
.LVUS0:
	.uleb128 0
	.uleb128 .LVU6
	.uleb128 .LVU6
	.uleb128 .LVU12
	.uleb128 .LVU13
	.uleb128 .LVU14
.LLST0:
	.byte	0x4
	.uleb128 .LVL0-.Ltext0
	.uleb128 .LVL1-.Ltext0
	.uleb128 0x2
	.byte	0x91
	.sleb128 0
	.byte	0x4
	.uleb128 .LVL1-.Ltext0
	.uleb128 .LVL3-.Ltext0
	.uleb128 0x1
	.byte	0x50
	.byte	0x4
	.uleb128 .LVL4-.Ltext0
	.uleb128 .LVL5-.Ltext0
	.uleb128 0x1
	.byte	0x50
	.byte	0
.LVUS1:
	.uleb128 0
	.uleb128 .LVU6
	.uleb128 .LVU6
	.uleb128 0
.LLST1:
	.byte	0x4
	.uleb128 .LVL0-.Ltext0
	.uleb128 .LVL1-.Ltext0
	.uleb128 0x2
	.byte	0x91
	.sleb128 4
	.byte	0x4
	.uleb128 .LVL1-.Ltext0
	.uleb128 .LFE0-.Ltext0
	.uleb128 0x1
	.byte	0x52
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
	.section	.debug_line,"",@progbits
.Ldebug_line0:
	.section	.debug_str,"MS",@progbits,1
.LASF4:
	.string	"unsigned int"
.LASF8:
	.string	"unsigned char"
.LASF9:
	.string	"lookup"
.LASF5:
	.string	"char"
.LASF3:
	.string	"value"
.LASF2:
	.string	"next"
.LASF7:
	.string	"checksum"
.LASF6:
	.string	"name_of"
.LASF12:
	.string	"names"
.LASF10:
	.string	"GNU C17 12.2.0 -m32 -mtune=generic -march=i686 -g -O2 -ffreestanding -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables"
.LASF11:
	.string	"node"
	.section	.debug_line_str,"MS",@progbits,1
.LASF1:
	.string	"."
.LASF0:
	.string	"plain.c"
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
	.section	.note.GNU-stack,"",@progbits
