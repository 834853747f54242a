/* Workload input: read N bytes from the console (interrupt-driven UART receive), report their hash.
 * Needs serial input: previrt run --serial-in FILE, or QEMU's stdin. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 16), got = 0, lines = 0, h = FNV_INIT;
    char buf[64];
    while (got < n) {
        int r = read(0, buf, n - got < sizeof buf ? n - got : sizeof buf);
        if (r <= 0)
            die("read");
        for (int i = 0; i < r; i++)
            lines += buf[i] == '\n';
        h = fnv(h, buf, (u32)r);
        got += (u32)r;
    }
    printf("input: bytes=%u lines=%u checksum=%08x\n", got, lines, h);
    return 0;
}
