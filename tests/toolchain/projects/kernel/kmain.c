/* Kernel main: bring up the UART and the CPU tables, report, leave through the exit port, idle. */
#include "io.h"

static volatile u32 ticks;

static void put_hex(u32 v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[11] = "0x";
	for (int i = 0; i < 8; i++)
		buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xf];
	buf[10] = 0;
	serial_puts(buf);
}

void isr_handler(u32 vector)
{
	ticks += vector == 32;
	outb(0x20, 0x20); /* end of interrupt to the master PIC */
}

void kmain(u32 magic, void *info)
{
	(void)info;
	serial_init();
	serial_puts("kernel " "3" " up, magic ");
	put_hex(magic);
	cpu_init();
	serial_puts("\ncr0 ");
	put_hex(read_cr0());
	serial_puts(" features ");
	put_hex(cpu_features());
	serial_puts("\n");
	outb(0x21, 0xff); /* mask every PIC line, then interrupts on and off again */
	outb(0xa1, 0xff);
	__asm__ volatile("sti");
	ticks += 1;
	__asm__ volatile("cli");
	serial_puts("done\n");
	outb(0xf4, 0); /* isa-debug-exit: QEMU exits with status 1 */
	idle_forever();
}
