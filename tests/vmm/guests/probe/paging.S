/* Paging as the guest sees it: page faults (error code and CR2) from ring 0 and ring 3 on not-present,
   read-only and supervisor pages; a supervisor write to a read-only page with CR0.WP clear (succeeds) and set
   (#PF, error code 3); stores through an alias PTE and a 4 MiB alias PDE; PTE updates made visible with
   invlpg and with a CR3 reload; accessed and dirty bits the CPU writes into the guest's own tables. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

#define RO_SUP   0x300000          /* present, read-only, supervisor */
#define RO_USER  0x301000          /* present, read-only, user */
#define SUP      0x302000          /* present, writable, supervisor */
#define NP       0x303000          /* not present */
#define ALIAS    0x304000          /* maps FRAME_A, later FRAME_B, FRAME_C */
#define FRAME_A  0x305000
#define FRAME_B  0x306000
#define FRAME_C  0x307000
#define BIG      0x800000          /* 4 MiB page: linear 8 MiB -> physical 4 MiB */
#define PTE(a)   page_table+((a)>>12)*4   /* no spaces: an operand of put */

.macro fault_probes r
    catch "\r read ro_sup", movl RO_SUP + 0x10, %eax
    catch "\r write ro_sup", movl $0x1111, RO_SUP+0x10
    catch "\r read ro_user", movl RO_USER + 0x20, %eax
    catch "\r write ro_user", movl $0x2222, RO_USER + 0x20
    catch "\r read sup", movl SUP + 0x30, %eax
    catch "\r write sup", movl $0x3333, SUP + 0x30
    catch "\r read np", movl NP + 0x40, %eax
    catch "\r write np", movl $0x4444, NP + 0x40
    catch "\r read np via esi", lodsl
.endm

    .text
    .globl _start
_start:
    probe_init
    /* markers in the physical frames, before paging */
    movl $0xaaaa0000, FRAME_A
    movl $0xbbbb0000, FRAME_B
    movl $0xcccc0000, FRAME_C
    movl $0x5a5a5a5a, RO_SUP+0x10
    movl $0x0, 0x400010
    /* PDE 0 -> page_table (identity 0-4 MiB, user, writable, except the pages above); PDE 1: 4 MiB page,
       identity; PDE 2: 4 MiB page at BIG -> physical 4 MiB */
    movl $page_table, %eax
    orl $7, %eax
    movl %eax, page_dir
    movl $0x00400087, page_dir + 4
    movl $0x00400087, page_dir + 8
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    orl $7, %eax
    movl %eax, page_table(,%ecx,4)
    incl %ecx
    cmpl $1024, %ecx
    jne 1b
    movl $(RO_SUP | 1), PTE(RO_SUP)
    movl $(RO_USER | 5), PTE(RO_USER)
    movl $(SUP | 3), PTE(SUP)
    movl $0, PTE(NP)
    movl $(FRAME_A | 7), PTE(ALIAS)
    movl %cr4, %eax
    orl $0x10, %eax                /* PSE */
    movl %eax, %cr4
    movl $page_dir, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax
    movl %eax, %cr0
    movl %cr0, %eax
    put "r0 cr0 paging on", %eax
    movl %cr3, %eax
    subl $page_dir, %eax
    put "r0 cr3-page_dir", %eax

    /* WP clear: a supervisor write to a read-only page succeeds */
    catch "r0 wp=0 write ro_sup", movl $0x600d0001, RO_SUP+0x10
    put "r0 ro_sup after write", RO_SUP+0x10
    movl %cr0, %eax
    orl $0x10000, %eax
    movl %eax, %cr0
    movl %cr0, %eax
    put "r0 cr0 wp on", %eax
    movl $NP + 0x44, %esi
    fault_probes r0

    /* aliases */
    movl $0x12340001, ALIAS + 8
    put "r0 frame_a via identity", FRAME_A+8
    put "r0 frame_a marker via alias", ALIAS
    movl $(FRAME_B | 7), PTE(ALIAS)
    invlpg ALIAS
    put "r0 alias after pte write+invlpg", ALIAS
    movl $(FRAME_C | 7), PTE(ALIAS)
    movl %cr3, %eax
    movl %eax, %cr3
    put "r0 alias after pte write+cr3 reload", ALIAS
    movl $0x43210002, BIG + 0x10
    put "r0 4m page: 4m+10 after store to 8m+10", 0x400010

    ring3
    movl $NP + 0x48, %esi
    fault_probes r3
    movl $0x56780003, ALIAS + 12
    ring0
    put "r0 frame_c via identity after r3 store", FRAME_C+12

    /* accessed and dirty bits, in the guest's own tables */
    movl page_dir, %eax
    andl $0xfff, %eax
    put "pde 0 flags", %eax
    put "pde 1,pde 2", page_dir+4, page_dir+8
    .irp a, 0x100000, RO_SUP, RO_USER, SUP, NP, ALIAS, FRAME_A, FRAME_B, FRAME_C
    put "pte \a", PTE(\a)
    .endr
    exit 0

    .section .bss
    .align 4096
page_dir:
    .space 4096
page_table:
    .space 4096
