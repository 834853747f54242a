/* Workload sleep: sleep for N timer ticks (the machine idles in hlt meanwhile). */
#include "ulib.h"

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 10);
    u32 t0 = uptime();
    sleep(n);
    u32 slept = uptime() - t0;
    /* Only the requested count is printed: the measured one depends on timing. */
    printf("sleep: slept %u ticks %s checksum=%08x\n", n, slept >= n ? "ok" : "SHORT", fnv_u32(FNV_INIT, n));
    return slept >= n ? 0 : 1;
}
