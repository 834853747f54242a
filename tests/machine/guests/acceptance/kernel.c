/* The acceptance guest's kernel: GDT/IDT/TSS, 8259A + 8254, ATA with interrupts, paging with a
   demand-mapped page, ring 3 with int $0x80 system calls and #GP faults skipped and counted. */
#include "pc.h"

#define COM1        0x3F8
#define EXIT_PORT   0xF4
#define PIC1        0x20
#define PIC2        0xA0
#define PIT_CH0     0x40
#define PIT_CMD     0x43
#define ATA_DATA    0x1F0
#define ATA_COUNT   0x1F2
#define ATA_LBA0    0x1F3
#define ATA_LBA1    0x1F4
#define ATA_LBA2    0x1F5
#define ATA_DEVICE  0x1F6
#define ATA_STATUS  0x1F7
#define ATA_CTRL    0x3F6
#define ST_BSY      0x80
#define ST_DRQ      0x08
#define ST_ERR      0x01

#define PTE_P       0x001
#define PTE_W       0x002
#define PTE_U       0x004
#define DEMAND_VA   0x00C00000u             /* page table present, pages not: mapped on #PF */
#define DEMAND_PA   0x00300000u             /* physical frames handed out by the #PF handler */
#define DISK_LBA    2
#define SUCCESS     0x2A                    /* exit value when every check passed */
#define FAILURE     0x40                    /* exit value base: 0x40 | number of failed checks */

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline u32 read_cr2(void) { u32 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }

/* ---- console ---------------------------------------------------------------------------------- */

static void putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20))         /* LSR.THRE */
        ;
    outb(COM1, (u8)c);
}

static void puts(const char *s) { while (*s) putc(*s++); }

static void puthex(u32 v)
{
    puts("0x");
    for (int i = 28; i >= 0; i -= 4)
        putc("0123456789abcdef"[(v >> i) & 15]);
}

static void putdec(u32 v)
{
    char b[11];
    int n = 0;
    do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putc(b[--n]);
}

static u32 failures;

static void check(int ok, const char *what)
{
    puts(what);
    puts(ok ? " ok\n" : " FAILED\n");
    if (!ok)
        failures++;
}

static void __attribute__((noreturn)) finish(void)
{
    puts(failures ? "acceptance: FAILED checks: " : "acceptance: all checks passed\n");
    if (failures) { putdec(failures); putc('\n'); }
    outb(EXIT_PORT, failures ? (u8)(FAILURE | failures) : SUCCESS);
    for (;;) __asm__ volatile("cli; hlt");
}

/* ---- descriptor tables ------------------------------------------------------------------------ */

struct tss {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi, es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
} __attribute__((packed));

static u32 gdt[12] __attribute__((aligned(8)));
static u32 idt[IDT_ENTRIES * 2] __attribute__((aligned(8)));
static struct tss tss __attribute__((aligned(16)));

static void set_segment(int i, u32 base, u32 limit, u8 access, u8 flags)
{
    gdt[2 * i] = (limit & 0xFFFF) | (base << 16);
    gdt[2 * i + 1] = ((base >> 16) & 0xFF) | ((u32)access << 8) | (limit & 0xF0000)
                   | ((u32)flags << 20) | (base & 0xFF000000);
}

static void set_gate(int vector, u32 handler, u8 type_attr)
{
    idt[2 * vector] = (handler & 0xFFFF) | ((u32)KERNEL_CS << 16);
    idt[2 * vector + 1] = (handler & 0xFFFF0000) | ((u32)type_attr << 8);
}

static void load_tables(void)
{
    struct { u16 limit; u32 base; } __attribute__((packed)) gdtr = { sizeof gdt - 1, (u32)gdt },
                                                             idtr = { sizeof idt - 1, (u32)idt };
    set_segment(1, 0, 0xFFFFF, 0x9A, 0xC);  /* kernel code */
    set_segment(2, 0, 0xFFFFF, 0x92, 0xC);  /* kernel data */
    set_segment(3, 0, 0xFFFFF, 0xFA, 0xC);  /* user code, DPL 3 */
    set_segment(4, 0, 0xFFFFF, 0xF2, 0xC);  /* user data, DPL 3 */
    set_segment(5, (u32)&tss, sizeof tss - 1, 0x89, 0x0);  /* 32-bit available TSS */
    tss.ss0 = KERNEL_DS;
    tss.esp0 = (u32)intr_stack_top;
    tss.iomap_base = sizeof tss;            /* no I/O bitmap: every port faults at CPL 3 */
    for (int v = 0; v < IDT_ENTRIES; v++)
        set_gate(v, isr_stubs[v], 0x8E);    /* present, DPL 0, 32-bit interrupt gate */
    set_gate(SYSCALL_VECTOR, isr_stubs[SYSCALL_VECTOR], 0xEF);  /* present, DPL 3, trap gate */
    __asm__ volatile("lgdt %0; lidt %1" :: "m"(gdtr), "m"(idtr));
    __asm__ volatile("ljmp %0, $1f; 1:" :: "i"(KERNEL_CS));
    __asm__ volatile("movw %w0, %%ds; movw %w0, %%es; movw %w0, %%fs; movw %w0, %%gs; movw %w0, %%ss"
                     :: "r"(KERNEL_DS));
    __asm__ volatile("ltr %w0" :: "r"(TSS_SEL));
}

/* The descriptor-table registers hold what load_tables put there (sgdt, sidt, str). */
static int tables_loaded(void)
{
    struct { u16 limit; u32 base; } __attribute__((packed)) g, i;
    u16 tr;
    __asm__ volatile("sgdt %0; sidt %1; str %2" : "=m"(g), "=m"(i), "=r"(tr));
    return g.base == (u32)gdt && g.limit == sizeof gdt - 1 && i.base == (u32)idt
        && i.limit == sizeof idt - 1 && tr == TSS_SEL;
}

/* ---- interrupt controller and timer ----------------------------------------------------------- */

static volatile u32 ticks, irq14, last_ata_status;

static void pic_init(u8 master_mask, u8 slave_mask)
{
    static const u8 icw[2][4] = { { 0x11, IRQ_BASE, 0x04, 0x01 }, { 0x11, IRQ_BASE + 8, 0x02, 0x01 } };
    for (int i = 0; i < 4; i++) {            /* ICW1 to the command port, ICW2-4 to the data port */
        outb(i ? PIC1 + 1 : PIC1, icw[0][i]);
        outb(i ? PIC2 + 1 : PIC2, icw[1][i]);
    }
    outb(PIC1 + 1, master_mask);             /* OCW1 */
    outb(PIC2 + 1, slave_mask);
}

static void pit_init(u16 divisor)
{
    outb(PIT_CMD, 0x34);                     /* channel 0, lobyte/hibyte, mode 2 */
    outb(PIT_CH0, divisor & 0xFF);
    outb(PIT_CH0, divisor >> 8);
}

/* Sleep with `sti; hlt` until *counter reaches target; returns with IF=0. */
static void wait_for(volatile u32 *counter, u32 target)
{
    for (;;) {
        cli();
        if (*counter >= target)
            return;
        __asm__ volatile("sti; hlt" ::: "memory");
    }
}

/* ---- ATA -------------------------------------------------------------------------------------- */

/* The disk waits have no bound of their own: how many instructions or timer ticks a transfer takes depends on
   the machine (QEMU's disk work runs at host speed), so any bound here could fail a good run on a loaded host.
   A drive that never answers (an empty channel reads 0xFF, always BSY) keeps the guest waiting until the run's
   own bound ends it: --max-instructions on previrt, the test's timeout on QEMU. */

/* Poll until BSY=0. */
static u8 ata_wait_not_busy(void)
{
    u8 st;
    while ((st = inb(ATA_STATUS)) & ST_BSY)
        ;
    return st;
}

/* Sleep until IRQ 14 number `n` arrived (the timer wakes the hlt too). */
static void ata_wait_irq(u32 n)
{
    while (irq14 < n)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

static void ata_command(u8 cmd, u32 lba, u8 count)
{
    outb(ATA_DEVICE, 0xE0 | ((lba >> 24) & 0x0F));
    outb(ATA_COUNT, count);
    outb(ATA_LBA0, lba & 0xFF);
    outb(ATA_LBA1, (lba >> 8) & 0xFF);
    outb(ATA_LBA2, (lba >> 16) & 0xFF);
    outb(ATA_STATUS, cmd);
}

static void ata_write_sector(u32 lba, const u16 *buf)
{
    u32 seen = irq14;
    ata_command(0x30, lba, 1);              /* WRITE SECTORS */
    ata_wait_not_busy();
    for (int i = 0; i < 256; i++)
        outw(ATA_DATA, buf[i]);
    ata_wait_irq(seen + 1);
}

static void ata_read_sector(u32 lba, u16 *buf)
{
    u32 seen = irq14;
    ata_command(0x20, lba, 1);              /* READ SECTORS */
    ata_wait_irq(seen + 1);
    for (int i = 0; i < 256; i++)
        buf[i] = inw(ATA_DATA);
}

static void disk_round_trip(void)
{
    static u16 out[256], in[256], before[256];
    static const char text[] = "previrt acceptance sector";
    u8 *o = (u8 *)out;
    int same = 1;

    outb(ATA_CTRL, 0);                       /* nIEN = 0 */
    ata_read_sector(DISK_LBA, before);
    for (int i = 0; i < 512; i++)
        o[i] = i < (int)sizeof text ? (u8)text[i] : (u8)(i * 7 + ((u8 *)before)[i]);
    ata_write_sector(DISK_LBA, out);
    ata_read_sector(DISK_LBA, in);
    for (int i = 0; i < 256; i++)
        same &= in[i] == out[i];
    check(same && !(last_ata_status & ST_ERR), "disk: sector written and read back with IRQ 14");
    puts("disk: irq14="); putdec(irq14); putc('\n');
}

/* ---- paging ----------------------------------------------------------------------------------- */

static u32 page_dir[1024] __attribute__((aligned(4096)));
static u32 page_tables[3][1024] __attribute__((aligned(4096)));   /* 0-4 MiB, 4-8 MiB, demand */
static u32 next_frame = DEMAND_PA;
static volatile u32 page_faults;

static void paging_init(void)
{
    u32 ustart = (u32)__user_start, uend = (u32)__user_end;
    for (u32 i = 0; i < 2048; i++) {
        u32 pa = i << 12, user = pa >= ustart && pa < uend ? PTE_U : 0;
        page_tables[i >> 10][i & 1023] = pa | PTE_P | PTE_W | user;
    }
    for (int t = 0; t < 3; t++)
        page_dir[t < 2 ? t : (int)(DEMAND_VA >> 22)] = (u32)page_tables[t] | PTE_P | PTE_W | PTE_U;
    __asm__ volatile("mov %0, %%cr3" :: "r"(page_dir));
    __asm__ volatile("mov %%cr0, %%eax; orl $0x80000000, %%eax; mov %%eax, %%cr0" ::: "eax");
}

static int paging_enabled(void)
{
    u32 cr0, cr3;
    __asm__ volatile("mov %%cr0, %0; mov %%cr3, %1" : "=r"(cr0), "=r"(cr3));
    return (cr0 & 0x80000000u) && cr3 == (u32)page_dir;
}

/* #PF: map the faulting page of the demand table to a fresh frame (user-accessible when the fault
   came from ring 3), print CR2 and the error code, and restart the instruction. */
static int page_fault(struct frame *f)
{
    u32 cr2 = read_cr2();
    if ((cr2 >> 22) != (DEMAND_VA >> 22))
        return 0;
    puts("page fault: cr2="); puthex(cr2); puts(" err="); puthex(f->err); putc('\n');
    page_tables[2][(cr2 >> 12) & 1023] = next_frame | PTE_P | PTE_W | (f->err & PTE_U);
    next_frame += 4096;
    __asm__ volatile("invlpg (%0)" :: "r"(cr2) : "memory");
    page_faults++;
    return 1;
}

/* ---- traps from ring 3 ------------------------------------------------------------------------ */

static u32 gp_faults, gp_by_kind[4], syscalls, user_frames_ok = 1;
static volatile u32 expect_kernel_gp, ud_seen;
static const char *const gp_kind_names[4] = { "cli/sti", "hlt", "in/out", "int $0x81" };

/* Length and kind of the instructions the user program uses to provoke #GP (opcode tables). */
static int gp_instruction(const u8 *ip, int *kind)
{
    switch (ip[0]) {
    case 0xFA: case 0xFB: *kind = 0; return 1;   /* cli, sti */
    case 0xF4: *kind = 1; return 1;               /* hlt */
    case 0xE4: case 0xE5: case 0xE6: case 0xE7: *kind = 2; return 2;   /* in/out imm8 */
    case 0xEC: case 0xED: case 0xEE: case 0xEF: *kind = 2; return 1;   /* in/out %dx */
    case 0xCD: *kind = 3; return 2;               /* int imm8 */
    }
    return 0;
}

static int user_gp(struct frame *f)
{
    int kind, len = gp_instruction((const u8 *)f->eip, &kind);
    u32 want_err = kind == 3 ? (KERNEL_VECTOR << 3) | 2 : 0;   /* IDT bit set for a gate fault */
    if (!len || f->err != want_err)
        return 0;
    f->eip += len;
    gp_faults++;
    gp_by_kind[kind]++;
    return 1;
}

static void syscall(struct frame *f)
{
    syscalls++;
    switch (f->eax) {
    case SYS_EXIT:
        leave_user(f->ebx);
    case SYS_WRITE:
        for (u32 i = 0; i < f->ecx; i++)
            putc(((const char *)f->ebx)[i]);
        f->eax = f->ecx;
        break;
    case SYS_GETPID:
        f->eax = 7;
        break;
    case SYS_TICKS_OK:
        f->eax = ticks > 0;
        break;
    default:
        f->eax = (u32)-1;
    }
}

static void __attribute__((noreturn)) fatal(struct frame *f)
{
    puts("unexpected trap: vector="); puthex(f->vector); puts(" err="); puthex(f->err);
    puts(" eip="); puthex(f->eip); puts(" cs="); puthex(f->cs); puts(" cr2="); puthex(read_cr2());
    putc('\n');
    failures++;
    finish();
}

static void irq(u32 line)
{
    if (line == 0)
        ticks++;
    else if (line == 14) {
        last_ata_status = inb(ATA_STATUS);   /* acknowledges INTRQ */
        irq14++;
    }
    if (line == 7 || line == 15)             /* possibly spurious: no EOI unless in service */
        return;
    if (line >= 8)
        outb(PIC2, 0x20);
    outb(PIC1, 0x20);                        /* OCW2 non-specific EOI */
}

void trap(struct frame *f)
{
    int from_user = (f->cs & 3) == 3;
    if (from_user && (f->user_ss != USER_DS || (u32)(f + 1) != (u32)intr_stack_top))
        user_frames_ok = 0;                  /* the CPU must switch to TSS ss0:esp0 with a full frame */
    if (f->vector >= IRQ_BASE && f->vector < IRQ_BASE + 16)
        irq(f->vector - IRQ_BASE);
    else if (f->vector == SYSCALL_VECTOR && from_user)
        syscall(f);
    else if (f->vector == KERNEL_VECTOR && !from_user)
        f->eax = 0x81;
    else if (f->vector == 14 && page_fault(f))
        ;
    else if (f->vector == 13 && from_user && user_gp(f))
        ;
    else if (f->vector == 13 && expect_kernel_gp && f->err == expect_kernel_gp) {
        puts("kernel #GP: err="); puthex(f->err); putc('\n');
        expect_kernel_gp = 0;
        f->eip += ((const u8 *)f->eip)[0] == 0x66 ? 3 : 2;   /* [66] 8E /r: mov r16, %ds */
    } else if (f->vector == 6 && !from_user && *(u16 *)f->eip == 0x0B0F) {
        puts("kernel #UD: ud2 skipped\n");
        ud_seen++;
        f->eip += 2;
    } else
        fatal(f);
}

/* ---- the run ---------------------------------------------------------------------------------- */

static void kernel_exceptions(void)
{
    u32 r;
    __asm__ volatile("ud2" ::: "memory");
    expect_kernel_gp = 0x48;                 /* selector 0x48 is past the GDT limit */
    __asm__ volatile("movw %w0, %%ds" :: "r"(0x48) : "memory");
    check(ud_seen == 1 && expect_kernel_gp == 0, "exceptions without a privilege change");
    __asm__ volatile("int $0x81" : "=a"(r) : "a"(0));
    check(r == 0x81, "int $0x81 through a DPL-0 gate from ring 0");
}

static void demand_paging(void)
{
    volatile u32 *p = (volatile u32 *)(DEMAND_VA + 0x123 * 4);
    *p = 0xC0FFEE;                           /* not present: #PF, mapped, restarted */
    check(*p == 0xC0FFEE && page_faults == 1, "kernel page fault fixed and the store restarted");
}

static void user_mode(void)
{
    u32 status = enter_user((u32)user_main, (u32)user_stack + USER_STACK_SIZE);
    cli();
    puts("back in ring 0: user exit status="); putdec(status); putc('\n');
    check(status == 0, "user program");
    check(user_frames_ok, "ring 3 traps switched to the TSS stack with ss:esp saved");
    for (int k = 0; k < 4; k++) {
        puts("#GP from ring 3 by "); puts(gp_kind_names[k]); puts(": "); putdec(gp_by_kind[k]); putc('\n');
    }
    check(gp_faults == 17, "17 #GP faults from ring 3 skipped");
    check(page_faults == 2, "user page fault fixed");
    puts("system calls: "); putdec(syscalls); putc('\n');
}

void kmain(u32 magic, u32 info)
{
    (void)info;
    puts("acceptance guest: multiboot magic "); puthex(magic); putc('\n');
    load_tables();
    check(tables_loaded(), "GDT, IDT and TSS loaded");
    pic_init(0xFA, 0xBF);                    /* IRQ 0, cascade, IRQ 14 */
    pit_init(1193);                          /* 1 kHz */
    wait_for(&ticks, 10);
    check(ticks >= 10, "timer: ticks>=10 with hlt");
    kernel_exceptions();
    disk_round_trip();
    paging_init();
    check(paging_enabled(), "paging on");
    demand_paging();
    user_mode();
    finish();
}
