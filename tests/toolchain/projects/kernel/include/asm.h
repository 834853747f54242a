/* Shared by C and assembly: segment selectors and Multiboot constants. */
#ifndef ASM_H
#define ASM_H

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

#define MULTIBOOT_MAGIC 0x1BADB002
#define MULTIBOOT_FLAGS 0x00000003 /* page-align modules, memory map */

#ifdef __ASSEMBLY__
#define ENTRY(name) .globl name; .type name, @function; name:
#define END(name) .size name, . - name
#endif

#endif
