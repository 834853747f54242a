/* Hand-written i386 start-up and low-level code, as a kernel's .S files look after cpp.
 * Exercises: cpp macros, GAS macros with \@ labels, .rept/.irp bodies, prefixes written
 * every way, `;` statements, comments of both kinds, strings holding comment characters,
 * numeric local labels, section switching, a 16-bit block, a data section and a site
 * record written by hand. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define IO_DELAY outb %al, $0x80

	.macro SAVE_SEGS
	push %ds; push %es		# two statements, two sites
	pushl %fs
	.endm

	.macro RESTORE_SEGS tmp
	popl %fs
	pop %es
	pop %ds
\@:	/* \@ as a label of its own is fine too */
	.endm

	.macro LOAD_CR reg, n
	movl \reg, %cr\n		/* parameterized: left to the audit */
	.endm

	.code16
	.section .boot16, "ax"
	.globl boot16
boot16:
	cli				# 16-bit: never annotated
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl %cs:(gdt16 - boot16)
	movl %cr0, %eax
	orb $1, %al
	movl %eax, %cr0
	ljmpl $KERNEL_CS, $start32
gdt16:	.word 0x17; .long 0
	.code32

	.text
	.globl start32
	.type start32, @function
start32:
	movw $KERNEL_DS, %ax
	movw %ax, %ds; movw %ax, %es
	mov %ax, %ss
	lgdt gdt_desc
	lidt idt_desc ; lldt %ax	/* two sites on one line ; and a comment */
	ltr %ax
	ljmp $KERNEL_CS, $1f
1:	movl $stack_top, %esp
	SAVE_SEGS
	call kmain
	RESTORE_SEGS %eax
	jmp 1b				# back to the numeric label before the sites
	.size start32, .-start32

	.globl io_burst
	.type io_burst, @function
io_burst:
	movw $0x3f8, %dx
	movl 4(%esp), %esi
	movl 8(%esp), %ecx
	rep outsb			# rep prefix in the same statement
	rep; insl			# rep prefix as its own statement
	rep
	outsw				# rep prefix on the line before
	es outsb
	.rept 3
	IO_DELAY
	.endr
	.irp port, 0x20, 0xa0
	outb %al, $\port
	.endr
	inb $0x60, %al; INB $0x64, %al	/* upper case is still an instruction */
	ret
	.size io_burst, .-io_burst

	.pushsection .text.unlikely, "ax"
	.globl panic_halt
	.type panic_halt, @function
panic_halt:
	cli
2:	hlt
	jmp 2b
	.size panic_halt, .-panic_halt
	.popsection

	.globl probe
	.type probe, @function
probe:
	pushfl
	popl %eax
	movl %cr2, %edx ; movl %edx, %db7
	movl %dr6, %ecx
	movl %eax, %CR3			/* register names are case-blind too */
	smsw %ax
	str %bx
	sgdt gdt_copy
	sidt idt_copy
	sldt %cx
	lar %eax, %ebx
	lsl %eax, %ecx
	verr %ax
	verw %ax
	arpl %ax, %bx
	cpuid
	rdmsr; wrmsr; rdpmc
	clts; invd; wbinvd
	invlpg (%eax)
	lmsw %ax
	lds (%eax), %ebx; les (%eax), %ebx; lfs (%eax), %ebx; lgs (%eax), %ebx; lss (%eax), %esp
	int $0x80
	int3
	int $3				# GAS makes this int3
	into
	int1
	movl %eax, %ds:(%ebx)		# a segment override is not a segment move
	movl %fs:0x10, %eax
	mov %gs, %ax
	pushl %cs
	lcall $KERNEL_CS, $probe
	lcall *(%eax)
	jmp *(%eax)			# near: not sensitive
	lret $4
	iret
	.size probe, .-probe

	.globl patched_by_hand
	.type patched_by_hand, @function
patched_by_hand:
661:	popfl				/* a site somebody recorded by hand */
662:	.nops 6
663:
	.section .previrt.sites, "a"
	.balign 4
	.long 661b - .
	.byte 1, 25, 663b - 661b, 662b - 661b
	.short 2, 0
	.previous
	sti
	ret
	.size patched_by_hand, .-patched_by_hand

	.data
gdt_desc:	.word 0x17; .long 0
idt_desc:	.word 0x7ff; .long 0
gdt_copy:	.word 0; .long 0
idt_copy:	.word 0; .long 0
message:	.ascii "cli; sti # not code /* nor a comment */\n"
	.byte 0
not_code:
	cli				/* data sections do not execute: left alone */
	.section .bss
	.space 4096
stack_top:
