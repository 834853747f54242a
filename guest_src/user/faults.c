/* Workload faults: children that each die of one exception (null read, write to text, cli, divide by
 * zero, kernel address, int3); the parent checks every wait status and that it still runs. */
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
static void breakpoint(void) { __asm__ volatile("int3"); }

static const struct {
    void (*fn)(void);
    int vector;
} cases[] = {
    {null_read, VEC_PF}, {text_write, VEC_PF}, {priv_cli, VEC_GP},
    {divide, VEC_DE},    {kernel_read, VEC_PF}, {breakpoint, VEC_GP},
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
            ok += status == (WAIT_KILLED | cases[i].vector);
            h = fnv_u32(h, (u32)status);
        }
    printf("faults: killed=%u expected=%u checksum=%08x\n", ok, rounds * ncases, h);
    return ok == rounds * ncases ? 0 : 1;
}
