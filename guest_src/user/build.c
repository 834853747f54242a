/* Workload build (mixed): a tiny build. The parent reads the file table from the disk and forks
 * WORKERS compilers; each tokenizes every WORKERS-th source file, hashes and sorts its symbols and writes
 * one result sector; the parent waits, then "links": reads all results back and hashes them. N rounds. */
#include "ulib.h"

#define WORKERS 4
#define MAX_BYTES 16384
#define MAX_SYMS 2048
#define RESULT_MAGIC 0x544C5352u /* "RSLT" */

struct result {
    u32 magic, file, round, bytes, lines, words, idents, hash, symhash;
    u8 pad[512 - 9 * 4];
};

static u8 src[MAX_BYTES];
static u32 syms[MAX_SYMS];
static struct result res;

static int is_alpha(u8 c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(u8 c) { return c >= '0' && c <= '9'; }

static void shell_sort(u32 *a, u32 n)
{
    for (u32 gap = n / 2; gap; gap /= 2)
        for (u32 i = gap; i < n; i++) {
            u32 v = a[i], j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap)
                a[j] = a[j - gap];
            a[j] = v;
        }
}

static void compile(const struct disk_header *hd, u32 f, u32 round)
{
    const struct disk_file *df = &hd->files[f];
    u32 bytes = df->bytes < MAX_BYTES ? df->bytes : MAX_BYTES;
    u32 sectors = (bytes + 511) / 512;
    if (blkread(df->lba, src, sectors) != (int)sectors)
        die("compile: blkread");
    memset(&res, 0, sizeof res);
    res.magic = RESULT_MAGIC;
    res.file = f;
    res.round = round;
    res.bytes = bytes;
    u32 nsyms = 0;
    for (u32 i = 0; i < bytes;) {
        u8 c = src[i];
        if (c == '\n')
            res.lines++;
        if (is_alpha(c)) {
            u32 start = i;
            while (i < bytes && (is_alpha(src[i]) || is_digit(src[i])))
                i++;
            res.words++;
            res.idents++;
            if (nsyms < MAX_SYMS)
                syms[nsyms++] = fnv(FNV_INIT, &src[start], i - start);
        } else if (is_digit(c)) {
            while (i < bytes && is_digit(src[i]))
                i++;
            res.words++;
        } else {
            i++;
        }
    }
    shell_sort(syms, nsyms);
    u32 h = FNV_INIT;
    for (u32 i = 0; i < nsyms; i++)
        if (i == 0 || syms[i] != syms[i - 1])
            h = fnv_u32(h, syms[i]);
    res.symhash = h;
    res.hash = fnv(FNV_INIT ^ round, src, bytes);
    if (blkwrite(hd->results_lba + f, &res, 1) != 1)
        die("compile: blkwrite");
}

int main(int argc, char **argv)
{
    u32 rounds = arg_n(argc, argv, 1), h = FNV_INIT, lines = 0, words = 0;
    static struct disk_header hd;
    if (read_disk_header(&hd) < 0)
        die("no disk or bad disk header");
    for (u32 r = 0; r < rounds; r++) {
        for (u32 w = 0; w < WORKERS; w++) {
            int pid = fork();
            if (pid < 0)
                die("fork");
            if (pid == 0) {
                for (u32 f = w; f < hd.nfiles; f += WORKERS)
                    compile(&hd, f, r);
                exit(0);
            }
        }
        for (u32 w = 0; w < WORKERS; w++) {
            int status;
            if (wait(&status) < 0 || status != 0)
                die("a compiler failed");
        }
        for (u32 f = 0; f < hd.nfiles; f++) {
            if (blkread(hd.results_lba + f, &res, 1) != 1 || res.magic != RESULT_MAGIC || res.file != f ||
                res.round != r)
                die("bad result sector");
            lines += res.lines;
            words += res.words;
            h = fnv(h, &res, 9 * 4);
        }
    }
    printf("build: rounds=%u files=%u lines=%u words=%u checksum=%08x\n", rounds, hd.nfiles, lines, words, h);
    return 0;
}
