/* A mapping of the hypervisors' window present before paging is turned on: a 4 MiB PDE for linear 0xFC000000
   (physical 4 MiB, guest RAM) in the page directory loaded into CR3.  On the bare PC stores through the window
   land in guest RAM at 4 MiB. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"
#include "pagekit.h"

#define WINDOW 0xFC000000
#define FRAME  0x00400000

    .text
    .globl _start
_start:
    probe_init
    movl $0x33330000, FRAME
    movl $(FRAME | 0x87), PK_PDE(WINDOW)         /* 4 MiB page, user, writable */
    movl $(FRAME | 0x87), PK_PDE(FRAME)          /* and 4-8 MiB identity, to look at the frame */
    paging_on
    say "paging on with a 4 MiB pde for fc000000"
    movl WINDOW, %eax
    put "read fc000000", %eax
    movl $0x44440001, WINDOW + 0x3ff004
    put "4m+3ff004 after store to fc3ff004", FRAME+0x3ff004
    exit 0
