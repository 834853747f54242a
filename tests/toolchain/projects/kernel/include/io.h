/* Port I/O and interrupt-flag helpers: inline asm with sensitive instructions. */
#ifndef IO_H
#define IO_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 irq_save(void)
{
	u32 flags;
	__asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void irq_restore(u32 flags)
{
	__asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}

static inline void halt(void)
{
	__asm__ volatile("hlt");
}

void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void cpu_init(void);
u32 cpu_features(void);
u32 read_cr0(void);
void isr_handler(u32 vector);
void gdt_flush(const void *gdtr);
void isr_stub(void);
void idle_forever(void) __attribute__((noreturn));

#endif
