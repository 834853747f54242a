/* The port's own state: lazy MMU mode and the queue of page invalidations invlpg() fills in it, sent as one
 * invlpg_many hypercall at the leave (or when full). */
#include "../kernel.h"

u32 pv_invlpg_queue[INVLPG_BATCH];
u32 pv_invlpg_count;
int pv_lazy_mmu;

void pv_invlpg_flush(void)
{
    u32 n = pv_invlpg_count;
    if (n == 1)
        hypercall(HC_INVLPG, pv_invlpg_queue[0], 0);
    else if (n)
        hypercall(HC_INVLPG_MANY, PV_PHYS(pv_invlpg_queue), n);
    pv_invlpg_count = 0;
}
