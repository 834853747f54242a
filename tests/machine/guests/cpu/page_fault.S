/* Paging with one page left not present: a write to it faults (#PF, CR2 = address, error code W), the handler
   maps the page and returns, the write is retried and its value read back.  Then a ring-3 read of a supervisor
   page faults with P|U. */
#include "guestkit.h"
#include "kit.h"
#define HOLE 0x00300000
#define SUPER 0x00301000
    .text
    .globl _start
_start:
    kit_init
    set_gate 14, pf_handler, INT_GATE
    /* page directory entry 0 → page table; identity map 0-4 MiB, user-accessible, except HOLE (absent) and
       SUPER (supervisor only) */
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
    movl $(SUPER | 3), page_table + (SUPER >> 12) * 4
    movl $page_dir, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax
    movl %eax, %cr0
    .globl pf_site
pf_site:
    movl $0xBEEF, HOLE + 0x10
    puts "value="
    puthex HOLE + 0x10
    puts "\n"
    to_ring3 user
user:
    .globl user_read
user_read:
    movl SUPER, %eax
1:  jmp 1b

pf_handler:
    pushal
    puts "PF cr2="
    movl %cr2, %eax
    puthex %eax
    puts " err="
    puthex 32(%esp)
    puts " eip="
    puthex 36(%esp)
    puts "\n"
    movl %cr2, %eax
    cmpl $SUPER, %eax
    je 2f
    movl $(HOLE | 7), page_table + (HOLE >> 12) * 4
    invlpg HOLE
    popal
    addl $4, %esp
    iret
2:  exit 0

    .section .bss
    .align 4096
page_dir:
    .space 4096
page_table:
    .space 4096
