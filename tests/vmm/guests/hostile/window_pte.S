/* A mapping of the hypervisors' window (linear 0xFC000000), installed while paging is on: a new PDE for it
   pointing at a page table whose first PTE maps a frame of the guest's own RAM.  On the bare PC this is an
   ordinary mapping: stores through the window land in that frame. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"
#include "pagekit.h"

#define WINDOW 0xFC000000
#define FRAME  0x00300000

    .text
    .globl _start
_start:
    probe_init
    movl $0x11110000, FRAME
    paging_on
    say "paging on, window not mapped"
    movl $(FRAME | 7), window_pt
    movl $window_pt, %eax
    orl $7, %eax
    movl %eax, PK_PDE(WINDOW)
    invlpg WINDOW
    say "pde for fc000000 written"
    movl WINDOW, %eax
    put "read fc000000", %eax
    movl $0x22220001, WINDOW + 4
    put "frame+4 after store to fc000004", FRAME+4
    exit 0

    .section .bss
    .align 4096
window_pt:
    .space 4096
