/* Workload fork: N times fork a child that exits at once with a status; the parent waits for it. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 100), h = FNV_INIT;
    int first = -1;
    for (u32 i = 0; i < n; i++) {
        int pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            exit((int)(i & 0x7F));
        if (first < 0)
            first = pid;
        int status;
        if (wait(&status) != pid)
            die("wait");
        h = fnv_u32(h, (u32)(pid - first) * 256u + (u32)status);
    }
    printf("fork: children=%u checksum=%08x\n", n, h);
    return 0;
}
