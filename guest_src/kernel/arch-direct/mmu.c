/* Page-table updates of the para-virtual kernel on `direct` (Linux's pv-ops set_pte and lazy MMU mode, Xen's
 * mmu_update): entries of frames the hypervisor typed as page tables are validated and written by it, in batches
 * queued here; CR3 loads and TLB flushes are hypercalls. */
#include "../kernel.h"

#define MMU_QUEUE_SIZE 128

struct mmu_request {
    u32 ptr; /* physical address of the entry */
    u32 val;
};

static struct mmu_request queue[MMU_QUEUE_SIZE];
u32 pv_mmu_count;     /* requests queued (trap.S flushes before returning to user mode) */
static u32 lazy;      /* lazy-mode nesting depth */
static int tlb_stale; /* an invlpg was deferred to the flush */

/* Whether the hypervisor typed the frame at phys as a page directory or table (its bitmap in the window). */
static int typed(u32 phys)
{
    u32 frame = phys >> 12;
    if (frame >= DIRECT_TYPED_FRAMES)
        return 0;
    return (((const volatile u8 *)DIRECT_TYPED_BITMAP)[frame >> 3] >> (frame & 7)) & 1;
}

static void mmu_update(const struct mmu_request *req, u32 count, u32 nr)
{
    i32 r;
    u32 done;
    __asm__ volatile("int $0x82" : "=a"(r), "=d"(done) : "a"(nr), "b"(req), "c"(count) : "memory");
    if (r)
        panic("mmu_update: request %u of %u (entry %08x <- %08x) refused: %d", done, count, req[done].ptr,
              req[done].val, r);
}

/* Hand the queue to the hypervisor's deferred queue in the shared page, which it applies, validated and in order, at
 * its next exit (before anything else: a CR3 load, a fault, an interrupt, any hypercall); trap.S asks for it with
 * mmu_flush before user code runs.  Interrupts off: an interrupt injected half way would apply half a batch.
 * 0 when it does not fit. */
static int publish(void)
{
    volatile u32 *shared = (volatile u32 *)(DIRECT_SHARED + DIRECT_MMU_QUEUE);
    u32 flags = irq_save();
    u32 used = PV_WORD(DIRECT_MMU_COUNT);
    if (used + pv_mmu_count > DIRECT_MMU_QUEUE_SIZE) {
        irq_restore(flags);
        return 0;
    }
    for (u32 i = 0; i < pv_mmu_count; i++) {
        shared[2 * (used + i)] = queue[i].ptr;
        shared[2 * (used + i) + 1] = queue[i].val;
    }
    __asm__ volatile("" : : : "memory");
    PV_WORD(DIRECT_MMU_COUNT) = used + pv_mmu_count; /* one store publishes the batch */
    irq_restore(flags);
    return 1;
}

/* The queue to the hypervisor: deferred to its next exit when no TLB flush waits and it fits, else (with a deferred
 * TLB flush fused in) by one mmu_update hypercall. */
void pv_mmu_flush(void)
{
    if (!pv_mmu_count && !tlb_stale)
        return;
    if (tlb_stale || !publish())
        mmu_update(queue, pv_mmu_count, tlb_stale ? HC_MMU_UPDATE_TLB : HC_MMU_UPDATE);
    pv_mmu_count = 0;
    tlb_stale = 0;
}

static void update(void *entry, u32 v)
{
    u32 phys = V2P(entry); /* page tables live in the kernel's direct map */
    if ((u32)entry < KERNEL_BASE || !typed(phys)) {
        *(volatile u32 *)entry = v; /* plain memory: not a table in use */
        return;
    }
    if (!lazy) {
        struct mmu_request one = {phys, v};
        mmu_update(&one, 1, HC_MMU_UPDATE);
        return;
    }
    queue[pv_mmu_count].ptr = phys;
    queue[pv_mmu_count].val = v;
    if (++pv_mmu_count == MMU_QUEUE_SIZE)
        pv_mmu_flush();
}

void set_pte(pte_t *ptep, u32 v) { update(ptep, v); }
void set_pde(pde_t *pdep, u32 v) { update(pdep, v); }

void arch_enter_lazy_mmu(void) { lazy++; }

void arch_leave_lazy_mmu(void)
{
    if (--lazy == 0)
        pv_mmu_flush();
}

void invlpg(u32 vaddr)
{
    if (lazy) {
        tlb_stale = 1;
        return;
    }
    hypercall2(HC_INVLPG, vaddr, 0);
}

void write_cr3(u32 v)
{
    pv_mmu_flush();
    i32 r = hypercall2(HC_SET_CR3, v, 0);
    if (r)
        panic("set_cr3 %08x refused: %d", v, r);
}
