/* Workload compute: generate N pseudo-random words, heap sort them, hash the result.
 * No system call until the end: no sensitive operation but the timer's. */
#include "ulib.h"

static void sift(u32 *a, u32 i, u32 n)
{
    for (;;) {
        u32 c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (a[i] >= a[c])
            return;
        u32 t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

int main(int argc, char **argv)
{
    u32 n = arg_n(argc, argv, 4096), s = 12345;
    u32 *a = sbrk((int)(n * 4));
    if ((i32)a < 0)
        die("sbrk");
    for (u32 i = 0; i < n; i++)
        a[i] = lcg(&s);
    for (u32 i = n / 2; i-- > 0;)
        sift(a, i, n);
    for (u32 end = n; end-- > 1;) {
        u32 t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift(a, 0, end);
    }
    for (u32 i = 1; i < n; i++)
        if (a[i - 1] > a[i])
            die("not sorted");
    printf("compute: n=%u checksum=%08x\n", n, fnv(FNV_INIT, a, n * 4));
    return 0;
}
