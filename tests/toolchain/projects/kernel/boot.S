/* Multiboot header and entry: stack, then kmain(magic, info), then idle with interrupts off. */
#include "asm.h"

	.section .multiboot, "a"
	.balign 4
multiboot_header:
	.long MULTIBOOT_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

	.text
ENTRY(_start)
	cli
	movl $stack_top, %esp
	pushl $0
	popfl
	pushl %ebx
	pushl %eax
	call kmain
	jmp idle_forever
END(_start)

ENTRY(idle_forever)
1:	cli; hlt
	jmp 1b
END(idle_forever)

	.bss
	.balign 16
stack:	.skip 8192
stack_top:

	.section .note.GNU-stack, "", @progbits
