/* Sensitive instructions as a kernel's arch layer writes them (inline asm); built with previrt cc. */

static volatile unsigned int depth;

void enter(void)
{
	__asm__ volatile("cli" ::: "memory");
	depth++;
}

void leave(void)
{
	if (--depth == 0)
		__asm__ volatile("sti" ::: "memory");
}

unsigned int save_flags(void)
{
	unsigned int f;
	__asm__ volatile("pushfl; popl %0" : "=r"(f) :: "memory");
	return f;
}

void restore_flags(unsigned int f)
{
	__asm__ volatile("pushl %0; popfl" :: "r"(f) : "memory", "cc");
}

void set_cr3(unsigned int v)
{
	__asm__ volatile("movl %0, %%cr3" :: "r"(v) : "memory");
}

unsigned int fault_address(void)
{
	unsigned int v;
	__asm__ volatile("movl %%cr2, %0" : "=r"(v));
	return v;
}

void io_delay(void)
{
	__asm__ volatile("outb %%al, $0x80" :: "a"(0));
}

void flush_page(unsigned int address)
{
	__asm__ volatile("invlpg (%0)" :: "r"(address) : "memory");
}
