/* Page-table-entry sites as the C source pass writes them (kinds 128 pte_store `movl %edx,(%eax)` and 129 pte_load
   `movl (%eax),%edx`, written here by hand): stores and loads through them to plain memory, to a not-present page,
   to a read-only page with CR0.WP set (each fault reported at the site, as the mov's own), and to the guest's page
   table (a new mapping read back through a load site and used at once, then one changed and made visible by
   invlpg).  Patched on direct, the wedge queues the page-table stores and makes the others itself. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"
#include "pagekit.h"

#define PLAIN    0x300000          /* present, writable */
#define RO_SUP   0x301000          /* present, read-only, supervisor */
#define NP       0x302000          /* not present, later mapped to FRAME_A, then FRAME_B */
#define FRAME_A  0x305000
#define FRAME_B  0x306000
#define PTE(a)   PK_PTE(a)

/* one recorded site: the instruction, then padding to 8 bytes, and its record (flags 1: the C source pass's) */
.macro pte_site kind, insn:vararg
9971\@:
    \insn
9972\@:
    .nops 8 - (9972\@b - 9971\@b)
9973\@:
    .pushsection .previrt.sites, "a"
    .balign 4
    .long 9971\@b - .
    .byte 1, \kind, 9973\@b - 9971\@b, 9972\@b - 9971\@b
    .short 1, 0
    .popsection
.endm
.macro pte_store
    pte_site 128, movl %edx, (%eax)
.endm
.macro pte_load
    pte_site 129, movl (%eax), %edx
.endm

    .text
    .globl _start
_start:
    probe_init
    movl $0xaaaa0000, FRAME_A
    movl $0xbbbb0000, FRAME_B
    paging_on
    movl $(RO_SUP | 1), PTE(RO_SUP)
    movl $0, PTE(NP)
    movl %cr3, %eax                /* the two entries changed: a CR3 reload makes them seen */
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x10000, %eax             /* WP */
    movl %eax, %cr0

    movl $PLAIN + 8, %eax
    movl $0x11112222, %edx
    catch "store plain", pte_store
    movl $0, %edx
    catch "load plain", pte_load
    put "loaded plain", %edx
    movl $NP + 4, %eax
    catch "store np", pte_store
    catch "load np", pte_load
    movl $RO_SUP + 8, %eax
    catch "store ro_sup wp", pte_store

    movl $PTE(NP), %eax            /* a new mapping, through the sites */
    movl $(FRAME_A | 3), %edx
    catch "map np", pte_store
    movl $0, %edx
    catch "load pte np", pte_load
    andl $~0x60, %edx
    put "pte np", %edx
    put "np now", NP
    movl $PTE(NP), %eax
    movl $(FRAME_B | 3), %edx
    catch "remap np", pte_store
    invlpg NP
    put "np after invlpg", NP
    movl $PTE(NP), %eax
    catch "load pte np again", pte_load
    andl $~0x60, %edx
    put "pte np again", %edx
    exit 0
