/* Workload console: N lines of text on the console, then one summary line. */
#include "ulib.h"

static const char *const words[8] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"};

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 100), h = FNV_INIT;
    char line[96];
    for (u32 i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line, "line %05u %s %s %s\n", i, words[i % 8], words[(i / 8) % 8],
                           words[(i * 7) % 8]);
        h = fnv(h, line, (u32)len);
        write(1, line, (u32)len);
    }
    printf("console: lines=%u checksum=%08x\n", n, h);
    return 0;
}
