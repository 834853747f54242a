/* The acceptance guest's ring-3 program: system calls through int $0x80, instructions that must #GP at
   CPL 3 (skipped by the kernel), popf/sgdt that must not, a store to a not-present user page. In `.user`. */
#include "pc.h"

#define DEMAND_USER_VA 0x00C05000u

static inline u32 sys(u32 nr, u32 a, u32 b)
{
    u32 ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
    return ret;
}

static u32 length(const char *s)
{
    u32 n = 0;
    while (s[n]) n++;
    return n;
}

static void print(const char *s) { sys(SYS_WRITE, (u32)s, length(s)); }

static void print_dec(u32 v)
{
    char b[12];
    int n = 11;
    b[n] = 0;
    do { b[--n] = (char)('0' + v % 10); v /= 10; } while (v);
    print(b + n);
}

/* Each of these runs at CPL 3 with IOPL 0, so each raises #GP(0); the kernel skips it. */
static void privileged_instructions(void)
{
    __asm__ volatile("cli");
    __asm__ volatile("sti");
    __asm__ volatile("hlt");
    __asm__ volatile("inb $0x60, %%al" ::: "eax");
    __asm__ volatile("outb %%al, $0x80" :: "a"(0));
    __asm__ volatile("inb %%dx, %%al" :: "d"(0x3F8) : "eax");
    __asm__ volatile("outb %%al, %%dx" :: "a"('X'), "d"(0x3F8));
}

/* The classic non-virtualizable cases run at CPL 3 without a trap: popf drops an IF change, sgdt reads
   the real GDTR. Returns the number of unexpected outcomes. */
static u32 silent_sensitive(void)
{
    u32 before, after;
    struct { u16 limit; u32 base; } __attribute__((packed)) gdtr;
    __asm__ volatile("pushf; pop %0" : "=r"(before));
    __asm__ volatile("push %1; popf; pushf; pop %0" : "=r"(after) : "r"(before & ~0x200u) : "cc");
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    print("popf at CPL 3 kept IF=");
    print_dec((after >> 9) & 1);
    print(", sgdt at CPL 3 read limit ");
    print_dec(gdtr.limit);
    print("\n");
    return ((after >> 9) & 1) != 1 || gdtr.limit != 12 * 4 - 1;
}

void user_main(void)
{
    u32 cs, pid, bad = 0;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    print("hello from ring 3, cs&3=");
    print_dec(cs & 3);
    print("\n");
    pid = sys(SYS_GETPID, 0, 0);
    print("getpid() = ");
    print_dec(pid);
    print("\n");
    bad += pid != 7;
    bad += silent_sensitive();
    bad += sys(SYS_WRITE, (u32)"ring 3 write of 20B\n", 20) != 20;
    for (int round = 0; round < 3; round++) {
        if (round < 2)
            privileged_instructions();
        else {
            __asm__ volatile("cli; hlt");
            __asm__ volatile("int $0x81" ::: "memory");   /* DPL-0 gate: #GP(0x81*8+2) */
        }
    }
    *(volatile u32 *)DEMAND_USER_VA = 0x5E5E;             /* not present: #PF with U=1, mapped */
    bad += *(volatile u32 *)DEMAND_USER_VA != 0x5E5E;
    bad += !sys(SYS_TICKS_OK, 0, 0);
    print("user program done\n");
    sys(SYS_EXIT, bad, 0);
    for (;;)
        ;
}

char user_stack[USER_STACK_SIZE] __attribute__((aligned(16)));
