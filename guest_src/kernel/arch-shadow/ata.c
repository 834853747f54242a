/* Block device on shadow: the block_io hypercall, synchronous (the sectors have moved when it returns; no ATA
 * register, no IRQ 14), on drive 0, the primary master. */
#include "../kernel.h"

#define MAX_SECTORS 8

static u32 sectors; /* 0: no disk */

void ata_init(void)
{
    i32 n = hypercall(HC_BLOCK_INFO, 0, 0);
    sectors = n > 0 ? (u32)n : 0;
}

u32 ata_sectors(void) { return sectors; }

/* Transfer count (1..8) sectors at lba to/from the kernel buffer buf. */
int ata_rw(int write, u32 lba, void *buf, u32 count)
{
    if (!sectors)
        return -ENODEV;
    if (count == 0 || count > MAX_SECTORS || lba >= sectors || count > sectors - lba)
        return -EINVAL;
    struct shadow_block_request req = {write ? BLOCK_WRITE : BLOCK_READ, lba, count, PV_PHYS(buf)};
    return hypercall(HC_BLOCK_IO, PV_PHYS(&req), 0) < 0 ? -EIO : (int)count;
}
