/* Say hello on COM1 with interrupts masked around the output. */
static inline void outb(unsigned short port, unsigned char v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline unsigned char inb(unsigned short port)
{
	unsigned char v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc(char c)
{
	while (!(inb(0x3f8 + 5) & 0x20))
		;
	outb(0x3f8, (unsigned char)c);
}

void main(void)
{
	unsigned long flags;
	const char *s = "hello from a pre-virtualized guest\n";

	__asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
	while (*s)
		putc(*s++);
	__asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}
