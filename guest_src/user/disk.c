/* Workload disk: write N 4 KiB blocks to the scratch area of the disk, read them back, verify. */
#include "ulib.h"

#define BLOCK_SECTORS 8
#define BLOCK_WORDS (BLOCK_SECTORS * 512 / 4)

static u32 block[BLOCK_WORDS];

static void fill(u32 i)
{
    u32 s = i * 2654435761u + 1;
    for (u32 k = 0; k < BLOCK_WORDS; k++)
        block[k] = lcg(&s);
}

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 16), h = FNV_INIT, bad = 0;
    struct disk_header hd;
    if (read_disk_header(&hd) < 0)
        die("no disk or bad disk header");
    if (n * BLOCK_SECTORS > hd.scratch_sectors)
        die("scratch area too small");
    for (u32 i = 0; i < n; i++) {
        fill(i);
        if (blkwrite(hd.scratch_lba + i * BLOCK_SECTORS, block, BLOCK_SECTORS) != BLOCK_SECTORS)
            die("blkwrite");
    }
    for (u32 i = 0; i < n; i++) {
        if (blkread(hd.scratch_lba + i * BLOCK_SECTORS, block, BLOCK_SECTORS) != BLOCK_SECTORS)
            die("blkread");
        h = fnv(h, block, sizeof block);
        u32 s = i * 2654435761u + 1;
        for (u32 k = 0; k < BLOCK_WORDS; k++)
            if (block[k] != lcg(&s)) {
                bad++;
                break;
            }
    }
    printf("disk: blocks=%u bad=%u checksum=%08x\n", n, bad, h);
    return bad != 0;
}
