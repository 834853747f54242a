/* The APIC interrupt path (kernel command line apic=1): the local APIC timer as the system tick and the I/O APIC
 * for device interrupts, found through the Intel MultiProcessor Specification 1.4 tables as a PC's BIOS leaves
 * them; the 8259A pair is then masked for good. Without apic=1 the kernel uses the PIT and the 8259As (pic.c,
 * pit.c), and nothing here runs.
 *
 * Vectors stay those of the 8259A path: ISA IRQ i arrives at vector 32 + i (so trap.c and the drivers do not
 * change), the local APIC timer at vector 32 (IRQ 0's), the spurious vector is 47 (its low four bits must be
 * set on P6-class APICs; IRQ 15 is never routed). */
#include "kernel.h"

#define MP_FLOAT_SIG 0x5F504D5Fu /* "_MP_" */
#define MP_CONF_SIG 0x504D4350u  /* "PCMP" */
#define MP_PROCESSOR 0
#define MP_BUS 1
#define MP_IOAPIC 2
#define MP_IOINTR 3
#define MP_LINTR 4
#define MP_INT 0 /* I/O interrupt type: vectored (INT) */

#define BDA_EBDA_SEG 0x40E
#define BDA_BASE_KIB 0x413

/* Local APIC registers (byte offsets). */
#define LAPIC_ID 0x020
#define LAPIC_VER 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_LDR 0x0D0
#define LAPIC_DFR 0x0E0
#define LAPIC_SVR 0x0F0
#define LAPIC_ESR 0x280
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0
#define SVR_ENABLE 0x100
#define LVT_MASKED 0x10000
#define LVT_PERIODIC 0x20000
#define TIMER_DIV_16 0x3
#define SPURIOUS_VECTOR 47
#define ERROR_VECTOR 46 /* never expected: ESR is cleared and the error LVT masked anyway */

/* I/O APIC (82093AA): index register, data window; redirection entry i at index 0x10 + 2i. */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_ID 0x00
#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL 0x10
#define RTE_MASKED 0x10000
#define RTE_LEVEL 0x08000
#define RTE_ACTIVE_LOW 0x02000

/* 8254 channel 0 as the stopwatch that measures the local APIC timer's rate. */
#define PIT_CH0 0x40
#define PIT_MODE 0x43
#define PIT_HZ 1193182u
#define PIT_CH0_LOHI_MODE0 0x30
#define PIT_LATCH_CH0 0x00
#define CALIBRATE_PIT_COUNT 1193u /* 1 ms */

/* Where the kernel maps the APICs: the 4 MiB slots right below the VMM window (uncached). */
#define MMIO_VA_TOP VMM_WINDOW
#define MMIO_SLOTS 2
#define PDE_P 0x001
#define PDE_W 0x002
#define PDE_PWT 0x008
#define PDE_PCD 0x010
#define PDE_PS 0x080
#define LARGE (1u << 22)

int apic_mode;
static volatile u32 *lapic;
static volatile u32 *ioapic;
static u32 lapic_id;
static u32 ioapic_pins;
static u8 isa_pin[16];      /* ISA IRQ -> I/O APIC input (identity unless the MP table says otherwise) */
static u32 isa_flags[16];   /* polarity/trigger bits of its redirection entry */
static u32 mmio_pa[MMIO_SLOTS];

struct __attribute__((packed)) mp_float {
    u32 signature;
    u32 config;
    u8 length, revision, checksum, feature1;
    u8 feature2, feature3[3];
};

struct __attribute__((packed)) mp_config {
    u32 signature;
    u16 length;
    u8 revision, checksum;
    char oem[8], product[12];
    u32 oem_table;
    u16 oem_table_size, entries;
    u32 lapic_address;
    u16 ext_length;
    u8 ext_checksum, reserved;
};

struct __attribute__((packed)) mp_ioapic {
    u8 type, id, version, flags;
    u32 address;
};

struct __attribute__((packed)) mp_intr {
    u8 type, irq_type;
    u16 flags;
    u8 bus, bus_irq, apic_id, pin;
};

struct __attribute__((packed)) mp_bus {
    u8 type, id;
    char name[6];
};

static u8 checksum(const void *p, u32 n)
{
    const u8 *b = p;
    u8 sum = 0;
    while (n--)
        sum += *b++;
    return sum;
}

static const struct mp_float *mp_scan(u32 pa, u32 len)
{
    for (u32 off = 0; off + sizeof(struct mp_float) <= len; off += 16) {
        const struct mp_float *f = P2V(pa + off);
        if (f->signature == MP_FLOAT_SIG && f->length == 1 && checksum(f, 16) == 0)
            return f;
    }
    return NULL;
}

/* The MP Specification's search order: the EBDA's first KiB, the last KiB of base memory, the BIOS ROM. */
static const struct mp_float *mp_find(void)
{
    const struct mp_float *f = NULL;
    u32 ebda = (u32)*(volatile u16 *)P2V(BDA_EBDA_SEG) << 4;
    if (ebda)
        f = mp_scan(ebda, 1024);
    if (!f) {
        u32 base_kib = *(volatile u16 *)P2V(BDA_BASE_KIB);
        if (base_kib >= 1)
            f = mp_scan(base_kib * 1024 - 1024, 1024);
    }
    return f ? f : mp_scan(0xF0000, 0x10000);
}

/* A 4 MiB uncached kernel mapping of the physical slot holding `pa` (before any process exists: every address
 * space copies the kernel's directory entries when it is made). */
static volatile u32 *map_mmio(u32 pa)
{
    u32 slot_pa = ALIGN_DOWN(pa, LARGE);
    for (u32 i = 0; i < MMIO_SLOTS; i++) {
        u32 va = MMIO_VA_TOP - (i + 1) * LARGE;
        if (!mmio_pa[i]) {
            if (kernel_pgdir[va >> 22] & PDE_P)
                panic("apic=1: no room to map the APIC at %08x (RAM reaches %08x)", pa, V2P(va));
            mmio_pa[i] = slot_pa | PDE_P;
            kernel_pgdir[va >> 22] = slot_pa | PDE_PS | PDE_PCD | PDE_PWT | PDE_W | PDE_P;
        }
        if ((mmio_pa[i] & ~PDE_P) == slot_pa)
            return (volatile u32 *)(va + (pa - slot_pa));
    }
    panic("apic=1: more than %d MMIO slots", MMIO_SLOTS);
}

static u32 lapic_read(u32 reg) { return lapic[reg / 4]; }
static void lapic_write(u32 reg, u32 v) { lapic[reg / 4] = v; }

static u32 ioapic_read(u32 index)
{
    ioapic[IOAPIC_REGSEL / 4] = index;
    return ioapic[IOAPIC_WIN / 4];
}

static void ioapic_write(u32 index, u32 v)
{
    ioapic[IOAPIC_REGSEL / 4] = index;
    ioapic[IOAPIC_WIN / 4] = v;
}

/* MP interrupt-entry flags (polarity bits 0-1, trigger bits 2-3; 0 = the bus's default, edge/high for ISA). */
static u32 rte_flags(u16 mpflags)
{
    u32 f = 0;
    if ((mpflags & 3) == 3)
        f |= RTE_ACTIVE_LOW;
    if (((mpflags >> 2) & 3) == 3)
        f |= RTE_LEVEL;
    return f;
}

static void mp_parse(const struct mp_float *f)
{
    if (!f->config)
        panic("apic=1: the MP table uses a default configuration (feature byte %d), not supported", f->feature1);
    const struct mp_config *c = P2V(f->config);
    if (c->signature != MP_CONF_SIG || checksum(c, c->length) != 0)
        panic("apic=1: bad MP configuration table at %08x", f->config);
    u32 ioapic_pa = 0, isa_bus = 0xFF;
    const u8 *p = (const u8 *)(c + 1), *end = (const u8 *)c + c->length;
    for (u32 i = 0; i < c->entries && p < end; i++) {
        switch (*p) {
        case MP_PROCESSOR:
            p += 20;
            break;
        case MP_BUS: {
            const struct mp_bus *b = (const void *)p;
            if (memcmp(b->name, "ISA   ", 6) == 0)
                isa_bus = b->id;
            p += 8;
            break;
        }
        case MP_IOAPIC: {
            const struct mp_ioapic *a = (const void *)p;
            if ((a->flags & 1) && !ioapic_pa)
                ioapic_pa = a->address;
            p += 8;
            break;
        }
        case MP_IOINTR: {
            const struct mp_intr *e = (const void *)p;
            if (e->irq_type == MP_INT && e->bus == isa_bus && e->bus_irq < 16) {
                isa_pin[e->bus_irq] = e->pin;
                isa_flags[e->bus_irq] = rte_flags(e->flags);
            }
            p += 8;
            break;
        }
        case MP_LINTR:
            p += 8;
            break;
        default:
            panic("apic=1: unknown MP table entry type %d", *p);
        }
    }
    if (!ioapic_pa)
        panic("apic=1: the MP table names no usable I/O APIC");
    lapic = map_mmio(c->lapic_address);
    ioapic = map_mmio(ioapic_pa);
}

/* How many local APIC timer counts (divide by 16) pass in 1 ms of the PIT. */
static u32 lapic_timer_calibrate(void)
{
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | 32);
    outb(PIT_MODE, PIT_CH0_LOHI_MODE0);
    outb(PIT_CH0, (u8)CALIBRATE_PIT_COUNT);
    outb(PIT_CH0, (u8)(CALIBRATE_PIT_COUNT >> 8));
    lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFFu);
    u32 last = CALIBRATE_PIT_COUNT;
    for (;;) {
        outb(PIT_MODE, PIT_LATCH_CH0);
        u32 now = inb(PIT_CH0);
        now |= (u32)inb(PIT_CH0) << 8;
        if (now == 0 || now > last) /* reached zero, or wrapped past it */
            break;
        last = now;
    }
    u32 counts = 0xFFFFFFFFu - lapic_read(LAPIC_TIMER_CUR);
    lapic_write(LAPIC_TIMER_INIT, 0);
    return counts ? counts : 1;
}

static void lapic_timer_start(u32 hz)
{
    u32 per_ms = lapic_timer_calibrate();
    u32 initial = per_ms * 1000u / hz;
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | 32);
    lapic_write(LAPIC_TIMER_INIT, initial ? initial : 1);
}

void ioapic_route(int irq, int on)
{
    u32 pin = isa_pin[irq];
    if (pin >= ioapic_pins)
        panic("apic=1: IRQ %d is routed to I/O APIC input %d of %d", irq, pin, ioapic_pins);
    ioapic_write(IOAPIC_REDTBL + 2 * pin + 1, lapic_id << 24);
    ioapic_write(IOAPIC_REDTBL + 2 * pin, (on ? 0 : RTE_MASKED) | isa_flags[irq] | (u32)(32 + irq));
}

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

int apic_spurious(int irq) { return irq == SPURIOUS_VECTOR - 32; }

/* Find the tables, map and enable the local APIC (timer, LINT0/1 masked: the 8259As are not used), mask every
 * I/O APIC input, then hand over the IRQs the 8259A path had unmasked so far (pic.c). */
void apic_init(void)
{
    for (int i = 0; i < 16; i++)
        isa_pin[i] = (u8)i;
    const struct mp_float *f = mp_find();
    if (!f)
        panic("apic=1: no MP floating pointer structure (EBDA, base memory's last KiB, BIOS ROM)");
    mp_parse(f);
    lapic_id = lapic_read(LAPIC_ID) >> 24;
    lapic_write(LAPIC_DFR, 0xFFFFFFFFu); /* flat model */
    lapic_write(LAPIC_LDR, (lapic_read(LAPIC_LDR) & 0x00FFFFFFu) | (1u << 24));
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LVT_MASKED | ERROR_VECTOR);
    lapic_write(LAPIC_ESR, 0);
    lapic_write(LAPIC_ESR, 0);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
    ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xFF) + 1;
    for (u32 pin = 0; pin < ioapic_pins; pin++)
        ioapic_write(IOAPIC_REDTBL + 2 * pin, RTE_MASKED);
    apic_mode = 1;
    pic_handover();
}

/* The system tick from the local APIC timer, periodic at `hz`. */
void apic_timer_init(u32 hz) { lapic_timer_start(hz); }
