/* Boot: Multiboot information, device and memory set-up, then the workload named on the command line.
 * Command line: run=NAME [n=N] [fault=1] [panic=1] [apic=1]; an unknown workload powers off with EXIT_USAGE. */
#include "kernel.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_FLAG_MEM 0x001
#define MBI_FLAG_CMDLINE 0x004
#define CMDLINE_MAX 128
#define TIMER_HZ 100

struct multiboot_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline;
    /* the rest is not used */
};

int opt_panic_test;
static char cmdline[CMDLINE_MAX];

/* Value of key=... in the command line, copied into out; 0 when absent. */
static int cmdline_get(const char *key, char *out, u32 size)
{
    u32 klen = (u32)strlen(key);
    for (const char *s = cmdline; *s;) {
        while (*s == ' ')
            s++;
        const char *word = s;
        while (*s && *s != ' ')
            s++;
        if ((u32)(s - word) > klen && strncmp(word, key, klen) == 0 && word[klen] == '=') {
            u32 n = MIN((u32)(s - word) - klen - 1, size - 1);
            memcpy(out, word + klen + 1, n);
            out[n] = 0;
            return 1;
        }
    }
    return 0;
}

static int cmdline_flag(const char *key)
{
    char v[8];
    return cmdline_get(key, v, sizeof v) && strcmp(v, "0") != 0;
}

static void read_multiboot(u32 magic, u32 mbi_pa, u32 *mem_bytes)
{
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        panic("not booted by a Multiboot loader (eax=%08x)", magic);
    const struct multiboot_info *mbi = P2V(mbi_pa);
    if (!(mbi->flags & MBI_FLAG_MEM))
        panic("Multiboot information without memory size");
    *mem_bytes = (1u << 20) + mbi->mem_upper * 1024u;
    if (mbi->flags & MBI_FLAG_CMDLINE)
        strncpy0(cmdline, P2V(mbi->cmdline), sizeof cmdline);
}

static void __attribute__((noreturn)) start_workload(void)
{
    char name[16], n[16];
    if (!cmdline_get("run", name, sizeof name)) {
        kprintf("error: no workload on the command line (run=NAME n=N)\n");
        programs_list();
        poweroff(EXIT_USAGE);
    }
    int has_n = cmdline_get("n", n, sizeof n);
    kprintf("previrt guest kernel: run=%s n=%s\n", name, has_n ? n : "default");
    if (!program_find(name)) {
        kprintf("error: unknown workload '%s'\n", name);
        programs_list();
        poweroff(EXIT_USAGE);
    }
    opt_panic_test = cmdline_flag("panic");
    if (cmdline_flag("fault") && !proc_spawn("crash", NULL, NULL))
        panic("cannot start the faulting program");
    struct proc *init = proc_spawn(name, has_n ? n : NULL, NULL);
    if (!init)
        panic("cannot start workload %s", name);
    init_pid = init->pid;
    idle_loop();
}

void kmain(u32 magic, u32 mbi_pa)
{
    u32 mem_bytes = 0;
    desc_init();
    pic_init();
    console_init();
    read_multiboot(magic, mbi_pa, &mem_bytes);
    mm_init(mem_bytes);
    if (cmdline_flag("apic"))
        apic_init(); /* local APIC timer + I/O APIC instead of the PIT's IRQ 0 and the 8259As */
    proc_init();
    pit_init(TIMER_HZ);
    ata_init();
    start_workload();
}
