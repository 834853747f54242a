/* pagekit.h: paging for the hostile guests: a page directory whose entry 0 maps 0-4 MiB through one page table,
   identity, user and writable; CR4.PSE on.  Include once, after probekit.h. */
#define PK_PTE(a) pk_page_table+((a)>>12)*4     /* the PTE of linear address a below 4 MiB (no spaces: a put operand) */
#define PK_PDE(a) pk_page_dir+((a)>>22)*4       /* the PDE of linear address a */

    .section .bss
    .align 4096
pk_page_dir:
    .space 4096
pk_page_table:
    .space 4096

/* paging_on: build the tables above and turn paging on.  Clobbers %eax, %ecx. */
.macro paging_on
    movl $pk_page_table, %eax
    orl $7, %eax
    movl %eax, pk_page_dir
    xorl %ecx, %ecx
9971:
    movl %ecx, %eax
    shll $12, %eax
    orl $7, %eax
    movl %eax, pk_page_table(,%ecx,4)
    incl %ecx
    cmpl $1024, %ecx
    jne 9971b
    movl %cr4, %eax
    orl $0x10, %eax
    movl %eax, %cr4
    movl $pk_page_dir, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax
    movl %eax, %cr0
.endm
