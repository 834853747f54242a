/* Workload pagetouch: N rounds of grow the heap by 16 pages, touch each (demand-zero faults), shrink
 * it again (PTE clears and invlpg). */
#include "ulib.h"

#define PAGES 16
#define PAGE 4096

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 100), h = FNV_INIT;
    for (u32 r = 0; r < n; r++) {
        u8 *base = sbrk(PAGES * PAGE);
        if ((i32)base < 0)
            die("sbrk grow");
        for (u32 p = 0; p < PAGES; p++) {
            u32 *w = (u32 *)(base + p * PAGE + (r * 64u + p * 4u) % PAGE);
            h = fnv_u32(h, *w); /* demand-zero: must read 0 */
            *w = r * PAGES + p;
            h = fnv_u32(h, *w);
        }
        if ((i32)sbrk(-(PAGES * PAGE)) < 0)
            die("sbrk shrink");
    }
    printf("pagetouch: rounds=%u pages=%u checksum=%08x\n", n, n * PAGES, h);
    return 0;
}
