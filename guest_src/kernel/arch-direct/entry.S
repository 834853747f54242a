/* Multiboot v1 entry of the kernel ported to `direct`: header, boot page directory (4 MiB PSE pages), paging on,
 * jump to the higher half.  Boot only, so its CR writes stay the native instructions (they trap and are emulated:
 * the window, with the shared page, is not there before paging is on).  The section .previrt.paravirt names the
 * hypervisor and ABI this kernel speaks: `previrt run` runs it only there, in mode paravirt. */

#include "direct_abi.h"

#define KERNEL_BASE 0xC0000000
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory information */
#define PDE_4M 0x83         /* present | writable | page size */

    .section .previrt.paravirt, "", @progbits
    .ascii "target=direct\nabi=2\n"

    .section .multiboot, "a"
    .balign 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    /* Identity map the first 8 MiB (needed until the jump) and map it again at KERNEL_BASE. */
    .section .data
    .balign 4096
    .globl boot_pgdir
boot_pgdir:
    .long 0x00000000 + PDE_4M
    .long 0x00400000 + PDE_4M
    .fill (KERNEL_BASE >> 22) - 2, 4, 0
    .long 0x00000000 + PDE_4M
    .long 0x00400000 + PDE_4M
    .fill 1024 - (KERNEL_BASE >> 22) - 2, 4, 0

    .section .bss
    .balign 4096
    .globl boot_stack
boot_stack:
    .skip 8192
    .globl boot_stack_top
boot_stack_top:

    .text
    .globl start
start:
    cld
    movl %eax, %edi                 /* Multiboot magic */
    movl %ebx, %esi                 /* physical address of the Multiboot information */
    movl $(boot_pgdir - KERNEL_BASE), %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x00000010, %eax           /* CR4.PSE */
    movl %eax, %cr4
    movl %cr0, %eax
    orl $0x80010000, %eax           /* CR0.PG | CR0.WP */
    movl %eax, %cr0
    movl $higher_half, %eax
    jmp *%eax
higher_half:
    movl $boot_stack_top, %esp
    xorl %ebp, %ebp
    pushl %esi
    pushl %edi
    call kmain
1:  movb $0, DIRECT_SHARED + DIRECT_VIF
    hlt
    jmp 1b
