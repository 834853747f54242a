/* The PC-parts conformance guest: what a PC kernel finds and uses beyond the 8259A/PIT path, each step printed on the
   UART (and the first lines also on the CGA screen):
   - the BIOS data area (COM1 base, base memory, EBDA segment) and the MP floating pointer by the standard search
     (EBDA first KiB, last KiB of base memory, 0xF0000-0xFFFFF), both checksums, the processor / ISA bus / I/O APIC /
     interrupt entries it needs (ISA IRQ -> I/O APIC input);
   - the local APIC (ID, version, software enable, TPR and priority, ISR in a handler, self IPIs, INIT/STARTUP to an
     absent CPU) and its timer, periodic and one-shot, with the 8259As masked;
   - the I/O APIC (version, redirection entries read back) routing the UART, the disk and the keyboard (a byte put in
     the 8042's output buffer by command 0xD2) to the local APIC;
   - the CGA screen: text written to 0xB8000, the cursor set and read back through the CRT controller.
   Everything printed is timing-independent (QEMU's APIC timer runs on its own clock): counts are checked against a
   bound, never printed.  Exit 0 when every check passed, 1 otherwise. */
#include "guestkit.h"

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define LAPIC ((volatile u32 *)0xFEE00000)
#define IOAPIC_SEL (*(volatile u32 *)0xFEC00000)
#define IOAPIC_WIN (*(volatile u32 *)0xFEC00010)
#define VGA ((volatile u16 *)0xB8000)

#define V_TIMER 0x40
#define V_KBD 0x41
#define V_UART 0x44
#define V_IPI_LOW 0x48
#define V_IPI_HIGH 0x68
#define V_DISK 0x4E
#define V_SPURIOUS 0xFF

static int failed;
static volatile u32 hits[256];
static volatile u32 isr_seen_in_timer;
static volatile u32 order[8], norder;
static volatile u8 kbd_byte, disk_status;

/* ---- output: serial and screen ---- */
static int row, col;
static void screen_putc(char c)
{
    if (c == '\n') { row++; col = 0; return; }
    if (row < 25 && col < 80) VGA[row * 80 + col] = (u16)(0x0700 | (u8)c);
    col++;
}
static void out(const char *s) { gk_puts(s); }
static void hex(u32 v) { gk_puthex(v); }
static void dec(u32 v) { gk_putdec(v); }
static void show(const char *s) { gk_puts(s); while (*s) screen_putc(*s++); }
static void check(int ok, const char *what)
{
    out(ok ? "ok   " : "FAIL "); out(what); out("\n");
    if (!ok) failed = 1;
}

/* ---- interrupts ---- */
struct gate { u16 lo, sel, flags, hi; } __attribute__((packed));
static struct gate idt[256];
static struct { u16 limit; u32 base; } __attribute__((packed)) idtr = { sizeof idt - 1, (u32)idt };
extern u32 stubs[256];
__asm__(
    ".text\n"
    "common_stub:\n"
    "  pushal\n"
    "  pushl 32(%esp)\n"
    "  call on_interrupt\n"
    "  addl $4, %esp\n"
    "  popal\n"
    "  addl $4, %esp\n"
    "  iret\n"
    ".altmacro\n"
    ".macro stub n\n"
    "stub\\n:\n"
    "  pushl $\\n\n"
    "  jmp common_stub\n"
    ".endm\n"
    ".macro ref n\n"
    "  .long stub\\n\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 256\n"
    "  stub %i\n"
    "  .set i, i + 1\n"
    ".endr\n"
    ".data\n"
    ".globl stubs\n"
    "stubs:\n"
    ".set i, 0\n"
    ".rept 256\n"
    "  ref %i\n"
    "  .set i, i + 1\n"
    ".endr\n"
    ".text\n");

static u32 ioapic_read(u32 reg) { IOAPIC_SEL = reg; return IOAPIC_WIN; }
static void ioapic_write(u32 reg, u32 v) { IOAPIC_SEL = reg; IOAPIC_WIN = v; }
static void eoi(void) { LAPIC[0xB0 / 4] = 0; }

void on_interrupt(u32 vector)
{
    hits[vector]++;
    if (norder < 8) order[norder++] = vector;
    if (vector == V_TIMER && (LAPIC[(0x100 + (V_TIMER / 32) * 0x10) / 4] >> (V_TIMER % 32)) & 1)
        isr_seen_in_timer = 1;
    if (vector == V_KBD)
        kbd_byte = inb(0x60);
    if (vector == V_UART)
        (void)inb(0x3FA);                              /* IIR: acknowledges the THRE interrupt */
    if (vector == V_DISK)
        disk_status = inb(0x1F7);                      /* status: acknowledges the disk's interrupt */
    if (vector < 32) {
        out("unexpected exception "); hex(vector); out("\n");
        gk_exit(0x7F);
    }
    if (vector != V_SPURIOUS)
        eoi();
}

static void idt_init(void)
{
    u16 cs;
    __asm__ volatile("movw %%cs, %0" : "=r"(cs));
    for (int v = 0; v < 256; v++) {
        idt[v].lo = (u16)stubs[v];
        idt[v].hi = (u16)(stubs[v] >> 16);
        idt[v].sel = cs;
        idt[v].flags = 0x8E00;
    }
    __asm__ volatile("lidt %0" :: "m"(idtr));
}

/* Wait with interrupts enabled until `vector` was taken `n` times (or a bound of wake-ups passed). */
static int wait_for(u32 vector, u32 n)
{
    for (u32 spins = 0; spins < 200000; spins++) {
        __asm__ volatile("cli");
        if (hits[vector] >= n) return 1;
        __asm__ volatile("sti; hlt");
    }
    __asm__ volatile("cli");
    return 0;
}

/* ---- the MP table ---- */
static u8 sum(const u8 *p, u32 n) { u8 s = 0; while (n--) s += *p++; return s; }
static const u8 *mp_scan(u32 base, u32 len)
{
    for (u32 p = base; p + 16 <= base + len; p += 16) {
        const u8 *f = (const u8 *)p;
        if (f[0] == '_' && f[1] == 'M' && f[2] == 'P' && f[3] == '_' && sum(f, f[8] * 16) == 0)
            return f;
    }
    return 0;
}

static int isa_pin[16];
static void mp_tables(void)
{
    u32 ebda = (u32)*(volatile u16 *)0x40E << 4, basekb = *(volatile u16 *)0x413;
    for (int i = 0; i < 16; i++) isa_pin[i] = -1;       /* without an MP table: ISA IRQ n on input n, IRQ 0 on 2 */
    out("bda: com1 "); hex(*(volatile u16 *)0x400); out(" base memory "); dec(basekb); out(" KiB ebda ");
    hex(ebda); out("\n");
    const u8 *fp = mp_scan(ebda, 1024);
    const char *where = "ebda";
    if (!fp) { fp = mp_scan(basekb * 1024 - 1024, 1024); where = "base memory"; }
    if (!fp) { fp = mp_scan(0xF0000, 0x10000); where = "bios rom"; }
    if (!fp) { check(0, "mp floating pointer found"); return; }
    show("mp: floating pointer in "); show(where); show(", spec 1."); gk_putdec(fp[9]); screen_putc('0' + fp[9]);
    show("\n");
    const u8 *ct = (const u8 *)*(const u32 *)(fp + 4);
    u16 len = *(const u16 *)(ct + 4), count = *(const u16 *)(ct + 34);
    check(fp[11] == 0 && ct != 0, "mp: configuration table present (no default configuration)");
    check(ct[0] == 'P' && ct[1] == 'C' && ct[2] == 'M' && ct[3] == 'P' && sum(ct, len) == 0, "mp: PCMP signature and checksum");
    out("mp: local apic at "); hex(*(const u32 *)(ct + 36)); out("\n");
    int cpus = 0, isa_bus = -1, ioapic_id = -1;
    u32 ioapic_addr = 0;
    const u8 *e = ct + 44;
    int lint0 = -1, lint1 = -1;
    for (u32 i = 0; i < count && e < ct + len; i++) {
        if (e[0] == 0) {
            if (e[3] & 1) { cpus++; out("mp: cpu apic id "); dec(e[1]); out(" version "); hex(e[2]);
                            out(e[3] & 2 ? " bsp\n" : "\n"); }
            e += 20;
        } else if (e[0] == 1) {
            if (e[2] == 'I' && e[3] == 'S' && e[4] == 'A') isa_bus = e[1];
            e += 8;
        } else if (e[0] == 2) {
            if (e[3] & 1) { ioapic_id = e[1]; ioapic_addr = *(const u32 *)(e + 4); }
            e += 8;
        } else if (e[0] == 3) {
            if (e[4] == isa_bus && e[5] < 16 && e[1] == 0) isa_pin[e[5]] = e[7];
            e += 8;
        } else if (e[0] == 4) {
            if (e[7] == 0) lint0 = e[1];
            if (e[7] == 1) lint1 = e[1];
            e += 8;
        } else {
            break;
        }
    }
    out("mp: "); dec(cpus); out(" cpu, i/o apic id "); dec(ioapic_id); out(" at "); hex(ioapic_addr); out("\n");
    out("mp: isa irq -> i/o apic input:");
    for (int i = 0; i < 16; i++) if (isa_pin[i] >= 0) { out(" "); dec(i); out("->"); dec(isa_pin[i]); }
    out("\nmp: lint0 type "); dec(lint0); out(", lint1 type "); dec(lint1); out("\n");
}

/* ---- the local APIC ---- */
static void lapic_checks(void)
{
    out("lapic: id "); hex(LAPIC[0x20 / 4]); out(" version "); hex(LAPIC[0x30 / 4]); out("\n");
    out("lapic: lint0 "); hex(LAPIC[0x350 / 4]); out(" lint1 "); hex(LAPIC[0x360 / 4]); out(" dfr ");
    hex(LAPIC[0xE0 / 4]); out("\n");
    outb(0x21, 0xFF); outb(0xA1, 0xFF);                           /* the 8259As masked: APIC only from here */
    LAPIC[0xF0 / 4] = 0x100 | V_SPURIOUS;                          /* software enable, spurious vector 0xFF */
    LAPIC[0x80 / 4] = 0;
    LAPIC[0x370 / 4] = 0x10000;                                   /* error LVT masked */
    check((LAPIC[0xF0 / 4] & 0x1FF) == 0x1FF, "lapic: svr enabled, spurious vector ff");

    /* Priority: with TPR 0x50 a self IPI of vector 0x48 waits in IRR; 0x58 is taken; lowering TPR lets 0x48 in. */
    LAPIC[0x80 / 4] = 0x50;
    __asm__ volatile("sti" ::: "memory");
    LAPIC[0x310 / 4] = 0;
    LAPIC[0x300 / 4] = 0x40000 | V_IPI_LOW;                       /* shorthand self, fixed */
    __asm__ volatile("nop; nop" ::: "memory");
    int waited = hits[V_IPI_LOW] == 0 && ((LAPIC[(0x200 + (V_IPI_LOW / 32) * 0x10) / 4] >> (V_IPI_LOW % 32)) & 1);
    LAPIC[0x300 / 4] = 0x40000 | V_IPI_HIGH;
    __asm__ volatile("nop; nop" ::: "memory");
    int high = hits[V_IPI_HIGH] == 1;
    LAPIC[0x80 / 4] = 0;
    __asm__ volatile("nop; nop; cli" ::: "memory");
    check(waited, "lapic: self ipi below tpr waits in irr");
    check(high && hits[V_IPI_LOW] == 1, "lapic: ipi above tpr taken, lower one taken once tpr drops");
    check(norder >= 2 && order[0] == V_IPI_HIGH && order[1] == V_IPI_LOW, "lapic: in priority order");
    out("lapic: ppr after eoi "); hex(LAPIC[0xA0 / 4]); out("\n");

    /* INIT and STARTUP to an absent CPU (APIC id 1): accepted, nothing happens, the ICR is idle again. */
    LAPIC[0x310 / 4] = 1u << 24;
    LAPIC[0x300 / 4] = 0x4500;
    LAPIC[0x300 / 4] = 0x4608;
    check(!(LAPIC[0x300 / 4] & 0x1000), "lapic: init and startup ipis to an absent cpu accepted");

    /* The timer: periodic, divide by 16. */
    LAPIC[0x3E0 / 4] = 0x3;
    LAPIC[0x320 / 4] = 0x20000 | V_TIMER;
    LAPIC[0x380 / 4] = 20000;
    u32 a = LAPIC[0x390 / 4], b = LAPIC[0x390 / 4];
    check(a <= 20000 && b <= a, "lapic: timer current count counts down");
    check(wait_for(V_TIMER, 5), "lapic: periodic timer, 5 interrupts");
    check(isr_seen_in_timer, "lapic: the timer's vector in service (isr) in its handler");
    LAPIC[0x320 / 4] = 0x10000 | V_TIMER;                         /* masked */
    LAPIC[0x380 / 4] = 0;
    check(LAPIC[0x390 / 4] == 0, "lapic: initial count 0 stops the timer");
    /* one-shot */
    u32 before = hits[V_TIMER];
    LAPIC[0x320 / 4] = V_TIMER;
    LAPIC[0x380 / 4] = 5000;
    check(wait_for(V_TIMER, before + 1), "lapic: one-shot timer interrupt");
    check(LAPIC[0x390 / 4] == 0, "lapic: one-shot current count ends at 0");
}

/* ---- the I/O APIC ---- */
static void route(int irq, u32 vector)
{
    int pin = isa_pin[irq] >= 0 ? isa_pin[irq] : irq ? irq : 2;
    ioapic_write(0x11 + 2 * pin, (LAPIC[0x20 / 4] >> 24) << 24);   /* physical destination: this CPU */
    ioapic_write(0x10 + 2 * pin, vector);                         /* fixed, edge, active high, unmasked */
}

static void ioapic_checks(void)
{
    u32 ver = ioapic_read(1);
    out("ioapic: version "); hex(ver & 0xFF); out(", "); dec(((ver >> 16) & 0xFF) + 1); out(" inputs\n");
    check(ioapic_read(0x10 + 2 * 4) & 0x10000, "ioapic: entries start masked");
    route(4, V_UART);
    route(14, V_DISK);
    route(1, V_KBD);
    out("ioapic: uart entry "); hex(ioapic_read(0x10 + 2 * (isa_pin[4] >= 0 ? isa_pin[4] : 4))); out("\n");

    /* UART: the transmitter-empty interrupt. */
    outb(0x3FC, 0x08);                                            /* MCR: OUT2 */
    outb(0x3F9, 0x02);                                            /* IER: THRE */
    check(wait_for(V_UART, 1), "ioapic: uart interrupt (irq 4)");
    outb(0x3F9, 0x00);

    /* Disk: read sector 0 with interrupts on. */
    outb(0x3F6, 0x00);
    outb(0x1F6, 0xE0); outb(0x1F2, 1); outb(0x1F3, 0); outb(0x1F4, 0); outb(0x1F5, 0);
    outb(0x1F7, 0x20);
    int got = wait_for(V_DISK, 1);
    check(got, "ioapic: disk interrupt (irq 14)");
    char label[13];
    if (got) {
        u16 w[256];
        for (int i = 0; i < 256; i++) w[i] = inw(0x1F0);
        for (int i = 0; i < 12; i++) label[i] = ((char *)w)[i];
        label[12] = 0;
        out("disk: status "); hex(disk_status); out(" sector 0 starts \""); out(label); out("\"\n");
    }

    /* Keyboard: the controller puts a byte in its output buffer as if the keyboard sent it. */
    while (inb(0x64) & 1) (void)inb(0x60);
    outb(0x64, 0xD2);
    outb(0x60, 0x1E);
    check(wait_for(V_KBD, 1), "ioapic: keyboard interrupt (irq 1)");
    out("kbd: scancode "); hex(kbd_byte); out("\n");
}

/* ---- the CGA screen ---- */
static u16 cursor(void)
{
    outb(0x3D4, 0x0E); u16 c = (u16)inb(0x3D5) << 8;
    outb(0x3D4, 0x0F); return c | inb(0x3D5);
}
static void set_cursor(u16 pos)
{
    outb(0x3D4, 0x0E); outb(0x3D5, pos >> 8);
    outb(0x3D4, 0x0F); outb(0x3D5, pos & 0xFF);
}

int main(u32 magic, void *info)
{
    (void)info;
    for (int i = 0; i < 80 * 25; i++) VGA[i] = 0x0720;
    set_cursor(0);
    show("previrt PC conformance\n");
    check(magic == MULTIBOOT_BOOTLOADER_MAGIC, "multiboot magic");
    idt_init();
    mp_tables();
    lapic_checks();
    ioapic_checks();
    show(failed ? "checks: some failed\n" : "checks: all passed\n");
    set_cursor((u16)(row * 80 + col));
    out("cga: cursor "); dec(cursor()); out(" (row "); dec(cursor() / 80); out(")\n");
    outb(0x3D4, 0x0A);
    out("cga: cursor start line "); hex(inb(0x3D5)); out("\n");
    u32 s = 0;
    for (int i = 0; i < 80 * 25; i++) s = s * 31 + VGA[i];
    out("cga: screen checksum "); hex(s); out("\n");
    return failed;
}
