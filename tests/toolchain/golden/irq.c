/* Interrupt, port I/O and paging helpers as a small freestanding i386 kernel writes them. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void insw(u16 port, void *buf, u32 n)
{
    __asm__ volatile("cld; rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline u32 irq_save(void)
{
    u32 flags;
    __asm__ volatile("pushfl\n\t"
                     "popl %0\n\t"
                     "cli" : "=r"(flags) : : "memory");
    return flags;
}
static inline void irq_restore(u32 flags) { __asm__ volatile("pushl %0; popfl" : : "g"(flags) : "memory", "cc"); }

struct gdt_ptr { u16 limit; u32 base; } __attribute__((packed));
static struct gdt_ptr gdtr;
static u32 ticks;

void load_gdt(u32 base, u16 limit)
{
    gdtr.base = base;
    gdtr.limit = limit;
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp $0x08, $1f\n"
                     "1:\tmovw %w1, %%ds\n\t"
                     "movw %w1, %%es\n\t"
                     "movw %w1, %%ss" : : "m"(gdtr), "r"(0x10) : "memory");
}

void switch_mm(u32 pgdir)
{
    u32 cr0;
    __asm__ volatile("movl %0, %%cr3" : : "r"(pgdir) : "memory");
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
    if (!(cr0 & 0x80000000u))
        __asm__ volatile("movl %0, %%cr0" : : "r"(cr0 | 0x80000000u) : "memory");
}

int pic_ack(int irq)
{
    u32 f = irq_save();
    if (irq >= 8)
        outb(0xa0, 0x20);
    outb(0x20, 0x20);
    ticks += irq == 0;
    irq_restore(f);
    return inb(0x21);
}

void ata_read(void *buf)
{
    while (inb(0x1f7) & 0x80)
        ;
    insw(0x1f0, buf, 256);
}

void idle(void)
{
    __asm__ volatile("sti; hlt" ::: "memory");
}

u32 count_ticks(const u32 *v, int n)
{
    u32 sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i] * 3 + ticks;
    return sum;
}
