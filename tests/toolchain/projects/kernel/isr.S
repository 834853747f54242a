/* Descriptor-table loads and an interrupt stub: segment moves, far jump, iret. */
#include "asm.h"

	.text
/* void gdt_flush(const void *gdtr): load the GDT, reload every segment register. */
ENTRY(gdt_flush)
	movl 4(%esp), %eax
	lgdt (%eax)
	movw $KERNEL_DS, %ax
	movw %ax, %ds ; movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	ljmp $KERNEL_CS, $2f
2:	ret
END(gdt_flush)

ENTRY(isr_stub)
	pushal
	push %ds
	push %es
	movw $KERNEL_DS, %ax
	movw %ax, %ds
	movw %ax, %es
	pushl $32
	call isr_handler
	addl $4, %esp
	pop %es
	pop %ds
	popal
	iret
END(isr_stub)

	.section .note.GNU-stack, "", @progbits
