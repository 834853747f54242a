/* `direct`'s para-virtual ABI version 2 as the guest sees it: the window's pages, the shared page's fields and the
 * hypercall numbers (hypervisors/direct/abi.py is the one source; tests/hypervisors/test_paravirt_direct.py checks
 * these against it).  Plain macros: C and assembly include it. */
#ifndef DIRECT_ABI_H
#define DIRECT_ABI_H

#define DIRECT_ABI_VERSION 2
#define DIRECT_HYPERCALL_VECTOR 0x82

#define DIRECT_SHARED 0xFC020000        /* the shared page (window base + 0x20000) */
#define DIRECT_TYPED_BITMAP 0xFC040000  /* bit f: guest frame f is a page table the hypervisor validated */
#define DIRECT_TYPED_FRAMES 0x80000     /* frames the bitmap describes (2 GiB; above: never typed) */

/* offsets in the shared page */
#define DIRECT_VIF 0x00                 /* byte: the guest's EFLAGS.IF */
#define DIRECT_PENDING 0x01             /* byte: an interrupt waits while vif is 0 */
#define DIRECT_CR0 0x04                 /* mirrors of the virtual control registers */
#define DIRECT_CR2 0x08
#define DIRECT_CR3 0x0C
#define DIRECT_CR4 0x10
#define DIRECT_EOI_EXIT 0x18            /* byte: 1 while a PIC has a request at an unmasked input */
#define DIRECT_EOI_MASTER 0x19          /* bytes: non-specific EOIs deferred, per PIC */
#define DIRECT_EOI_SLAVE 0x1A
#define DIRECT_MMU_COUNT 0x1C           /* entries in the hypervisor's deferred page-table queue */
#define DIRECT_MMU_QUEUE 0x100          /* (physical address of an entry, value) pairs, applied at every exit */
#define DIRECT_MMU_QUEUE_SIZE 64
#define DIRECT_CON_PROD 0x3C            /* the console ring: bytes the guest appended (free-running) */
#define DIRECT_CON_CONS 0x40            /* bytes the hypervisor sent out of COM1 (free-running) */
#define DIRECT_CON_RING 0xC00           /* the ring, DIRECT_CON_RING_SIZE bytes */
#define DIRECT_CON_RING_SIZE 0x400

/* hypercalls */
#define HC_IRET 3
#define HC_MMU_UPDATE 4
#define HC_MMU_FLUSH 5
#define HC_SET_CR3 6
#define HC_INVLPG 7
#define HC_IDLE 8
#define HC_IRQ_PENDING 9
#define HC_CONSOLE_WRITE 10
#define HC_BLOCK_IO 11
#define HC_MMU_UPDATE_TLB 12
#define HC_CONSOLE_READ 13

#define DIRECT_MMU_UPDATE_MAX 1024
#define DIRECT_CONSOLE_WRITE_MAX 4096
#define DIRECT_BLOCK_READ 0
#define DIRECT_BLOCK_WRITE 1
#define DIRECT_BLOCK_SIZE 2
#define DIRECT_BLOCK_MAX_SECTORS 256

#endif
