/* Block driver of the kernel ported to `direct`: the block_io hypercall on the primary master, synchronous (no
 * command registers, no interrupt, no string I/O), on the same disk image the ATA model serves. */
#include "../kernel.h"

#define MAX_SECTORS 8

static u32 sectors; /* 0: no disk */

void ata_init(void)
{
    i32 r = pv_block_io(DIRECT_BLOCK_SIZE, 0, 0, NULL);
    sectors = r > 0 ? (u32)r : 0;
}

u32 ata_sectors(void) { return sectors; }

/* Transfer count (1..8) sectors at lba to/from the kernel buffer buf. */
int ata_rw(int write, u32 lba, void *buf, u32 count)
{
    if (!sectors)
        return -ENODEV;
    if (count == 0 || count > MAX_SECTORS || lba >= sectors || count > sectors - lba)
        return -EINVAL;
    i32 r = pv_block_io(write ? DIRECT_BLOCK_WRITE : DIRECT_BLOCK_READ, lba, count, buf);
    return r ? -EIO : (int)count;
}
