/* Workload null: N null system calls (getpid) in a loop. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 10000), h = FNV_INIT;
    for (u32 i = 0; i < n; i++)
        h = fnv_u32(h, (u32)getpid() + i);
    printf("null: calls=%u checksum=%08x\n", n, h);
    return 0;
}
