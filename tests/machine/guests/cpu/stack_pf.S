/* Faults while delivering: ring-0 stack (TSS esp0) on a not-present page.  A #GP from ring 3 faults on its first
   push (#PF, W, CR2 = esp0 - 4); that #PF faults the same way (#PF on #PF: #DF), and so does the #DF: triple
   fault. */
#include "guestkit.h"
#include "kit.h"
#define HOLE 0x00300000
    .text
    .globl _start
_start:
    kit_init
    set_gate 13, never, INT_GATE
    set_gate 14, never, INT_GATE
    set_gate 8, never, INT_GATE
    movl $page_table, %eax
    orl $7, %eax
    movl %eax, page_dir
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    orl $7, %eax
    movl %eax, page_table(,%ecx,4)
    incl %ecx
    cmpl $1024, %ecx
    jne 1b
    movl $0, page_table + (HOLE >> 12) * 4
    movl $page_dir, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax
    movl %eax, %cr0
    movl $(HOLE + 0x1000), tss + TSS_ESP0
    puts "ring 3\n"
    to_ring3 user
user:
    cli
never:
    exit 1
    .section .bss
    .align 4096
page_dir:
    .space 4096
page_table:
    .space 4096
