/* Page-table entries through pte_t (the C source pass makes each access a site; patched on direct, the wedge
 * queues stores to page tables and applies them in batches): what the guest reads back through pte_t, what its
 * accesses reach after a new mapping (no invlpg: a not-present entry is never cached), after a remap with invlpg,
 * after more stores than the queue holds, and pte_t memory that is no page table.  Accessed and dirty bits are
 * masked out of what is printed (bare sets them in the walk; see test_probes.py). */
#include "guestkit.h"

typedef unsigned int u32;
typedef u32 pte_t;
typedef u32 pde_t;

static pde_t dir[1024] __attribute__((aligned(4096)));
static pte_t low[1024] __attribute__((aligned(4096)));      /* 0-4 MiB, identity */
static pte_t plain[4];                                       /* pte_t memory that is no page table */

#define AD 0x60u
#define VA(i) ((i) << 12)

static void put(const char *label, u32 v)
{
    gk_puts(label);
    gk_putc(' ');
    gk_puthex(v);
    gk_putc('\n');
}

static void invlpg(u32 va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static u32 peek(u32 va) { return *(volatile u32 *)va; }
static void poke(u32 va, u32 v) { *(volatile u32 *)va = v; }

int main(unsigned magic, void *info)
{
    (void)magic, (void)info;
    for (u32 i = 0; i < 1024; i++)          /* before paging: the frames are no page tables yet */
        low[i] = i >= 0x380 ? 0 : VA(i) | 3;
    dir[0] = (u32)low | 3;
    __asm__ volatile("mov %0, %%cr3" :: "r"(dir) : "memory");
    u32 cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" :: "r"(cr0 | 0x80010000u) : "memory");   /* PG, WP */

    poke(0x300000, 0x1234);
    poke(0x301000, 0x5678);
    low[0x3F0] = 0x300000 | 3;              /* a new mapping */
    put("entry", low[0x3F0] & ~AD);
    put("through it", peek(VA(0x3F0)));
    poke(VA(0x3F0) + 4, 0xABCD);
    put("written", peek(0x300004));

    low[0x3F0] = 0x301000 | 3;              /* a remap, made visible by invlpg */
    invlpg(VA(0x3F0));
    put("remapped", peek(VA(0x3F0)));
    low[0x3F0] |= 0x100;                    /* a compound assignment: load and store of the same entry */
    put("or", low[0x3F0] & ~AD);

    u32 sum = 0;
    for (u32 i = 0; i < 70; i++) {          /* more stores than the queue holds */
        poke(0x300000 + VA(i), i * 3);
        low[0x380 + i] = (0x300000 + VA(i)) | 3;
    }
    for (u32 i = 0; i < 70; i++)
        sum += (low[0x380 + i] & ~AD) + peek(VA(0x380 + i));
    put("sum", sum);
    low[0x381] = 0;                         /* unmapped, then read back before and after invlpg */
    put("cleared", low[0x381]);
    invlpg(VA(0x381));
    put("still", low[0x382] & ~AD);

    plain[2] = 7;
    plain[2] += 5;
    put("plain", plain[2]);
    return 0;
}
