/* Multiboot v1 entry of the kernel ported to shadow's ABI 1: header, the note naming the hypervisor, boot page
 * directory (4 MiB PSE pages), paging on, jump to the higher half.  Runs in ring 1 from the first instruction: the
 * boot CR3 is a hypercall, CR4 and CR0 are written once by instructions that trap (PORT.md).
 * Loaded at physical 1 MiB, linked at 0xC0100000; kmain(magic, mbi_phys) takes over on the boot stack. */
#include "shadow_abi.h"

#define KERNEL_BASE 0xC0000000
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory information */
#define PDE_4M 0x83         /* present | writable | page size */

    .section .multiboot, "a"
    .balign 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    /* Not loaded: `previrt run` runs this image only on shadow, in mode paravirt. */
    .section .previrt.paravirt, "", @progbits
    .ascii "target=shadow\nabi=1\n"

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
    movl $(boot_stack_top - KERNEL_BASE), %esp      /* the hypercall page returns with ret: a stack first */
    movl $(boot_pgdir - KERNEL_BASE), %ecx
    movl $SHADOW_HC(HC_SET_CR3), %ebx   /* absolute: this code runs at its load address, not where it is linked */
    call *%ebx
    movl $0x00000010, %eax          /* CR4.PSE (CR4 is 0 at the Multiboot hand-over) */
    movl %eax, %cr4                 /* traps: emulated, once */
    xorl %ecx, %ecx
    movl $SHADOW_HC(HC_READ_CR), %ebx
    call *%ebx                      /* eax = CR0 */
    orl $0x80010000, %eax           /* CR0.PG | CR0.WP */
    movl %eax, %cr0                 /* traps: emulated, once */
    movl $ASSIST_EAGER_DIRTY, %ecx  /* this kernel never reads a dirty bit */
    movl $SHADOW_HC(HC_PAGING_ASSIST), %ebx
    call *%ebx
    movl $higher_half, %eax
    jmp *%eax
higher_half:
    movl $boot_stack_top, %esp
    xorl %ebp, %ebp
    pushl %esi
    pushl %edi
    call kmain
1:  movl $0, VCPU_VFLAGS
    hlt
    jmp 1b
