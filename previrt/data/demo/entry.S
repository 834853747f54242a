/* Multiboot header and entry point: interrupts off, a stack, main(), then halt for good. */
	.section .multiboot, "a"
	.balign 4
	.long 0x1BADB002, 0, -0x1BADB002

	.text
	.globl _start
	.type _start, @function
_start:
	cli
	movl $stack_top, %esp
	call main
	movb $0, %al
	outb %al, $0xf4         /* isa-debug-exit style exit port */
1:	hlt
	jmp 1b
	.size _start, . - _start

	.bss
	.balign 16
	.skip 4096
stack_top:

	.section .note.GNU-stack, "", @progbits
