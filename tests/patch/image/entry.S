/* The entry and the rarer kinds, in assembly; built with previrt cc. */
	.text
	.globl _start
	.type _start, @function
_start:
	call enter
	call leave
	movl %cr0, %ebx
	movl %ebx, %cr0
	outb %al, $0x71
	int $0x80
	lgdt gdt_pointer
	ljmp $0x10, $1f
1:	iret
	iretw
	hlt
	.size _start, . - _start

	.data
gdt_pointer:
	.word 0
	.long 0
	.section .note.GNU-stack, "", @progbits
