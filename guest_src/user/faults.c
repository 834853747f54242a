/* Workload faults: children that each die of one exception (null read, write to text, cli, divide by
 * zero, kernel address, the reserved VMM window, int3) and two that must survive (a system call made
 * with null data segments, a stack grown 256 KiB deep), then the `crash` program started with spawn();
 * the parent checks every wait status. */
#include "ulib.h"

#define VEC_DE 0
#define VEC_GP 13
#define VEC_PF 14

static volatile u32 zero;

static void null_read(void) { zero = *(volatile u32 *)0; }
static void text_write(void) { *(volatile u8 *)(u32)&null_read = 0xC3; }
static void priv_cli(void) { __asm__ volatile("cli"); }
static void divide(void) { zero = 100 / zero; }
static void kernel_read(void) { zero = *(volatile u32 *)0xC0100000; }
static void vmm_window_read(void) { zero = *(volatile u32 *)0xFC000000; } /* never mapped: err 4, not 5 */
static void breakpoint(void) { __asm__ volatile("int3"); }

/* Load null selectors into %ds/%es, then make a system call: the kernel must repair them, not die. */
static void null_segments(void)
{
    int pid;
    __asm__ volatile("movw %%ax, %%ds; movw %%ax, %%es; movl %1, %%eax; int $0x80"
                     : "=a"(pid) : "i"(SYS_getpid), "a"(0) : "memory");
    exit(pid > 0 ? 42 : 1);
}

/* Touch the stack 256 KiB down: demand-zero stack growth. */
static u32 __attribute__((noinline)) recurse(u32 depth)
{
    volatile u8 frame[1024];
    frame[0] = (u8)depth;
    u32 below = depth ? recurse(depth - 1) : 0;
    return below + frame[0]; /* read after the call: every level keeps its own frame */
}
static void deep_stack(void)
{
    u32 want = 0;
    for (u32 d = 1; d <= 256; d++)
        want += (u8)d;
    exit(recurse(256) == want ? 43 : 1);
}

static const struct {
    void (*fn)(void);
    int status; /* expected wait status */
} cases[] = {
    {null_read, WAIT_KILLED | VEC_PF}, {text_write, WAIT_KILLED | VEC_PF}, {priv_cli, WAIT_KILLED | VEC_GP},
    {divide, WAIT_KILLED | VEC_DE},    {kernel_read, WAIT_KILLED | VEC_PF}, {vmm_window_read, WAIT_KILLED | VEC_PF},
    {breakpoint, WAIT_KILLED | VEC_GP},
    {null_segments, 42},               {deep_stack, 43},
};

int main(int argc, char **argv)
{
    u32 rounds = arg_n(argc, argv, 1), ok = 0, h = FNV_INIT, ncases = sizeof cases / sizeof cases[0];
    for (u32 r = 0; r < rounds; r++)
        for (u32 i = 0; i < ncases; i++) {
            int pid = fork();
            if (pid == 0) {
                cases[i].fn();
                exit(0); /* survived: wrong */
            }
            int status = -1;
            if (pid < 0 || wait(&status) != pid)
                die("fork/wait");
            ok += status == cases[i].status;
            h = fnv_u32(h, (u32)status);
        }
    /* a separate program, started with spawn(): it writes to address 0 */
    int pid = spawn("crash", NULL), status = -1;
    if (pid < 0 || wait(&status) != pid)
        die("spawn/wait");
    ok += status == (WAIT_KILLED | VEC_PF);
    h = fnv_u32(h, (u32)status);
    u32 expected = rounds * ncases + 1;
    printf("faults: as_expected=%u of %u checksum=%08x\n", ok, expected, h);
    return ok == expected ? 0 : 1;
}
