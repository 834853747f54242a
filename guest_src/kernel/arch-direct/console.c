/* Console driver of the kernel ported to `direct`: output is the console_write hypercall (synchronous: the bytes
 * leave COM1 as its transmitter sends them, with no queue, no THR-empty interrupt and no register access); input
 * stays on the emulated 16550A (receive interrupts, one `rep insb` per trigger level), set up at the first read, so
 * a kernel that never reads the console touches no UART register. */
#include "../kernel.h"

#define COM1 0x3F8
#define UART_RBR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6

#define IER_ERBFI 0x01
#define IIR_NO_INT 0x01
#define IIR_ID_MASK 0x0E
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_TIMEOUT 0x0C
#define LSR_DR 0x01
#define FCR_ENABLE_CLEAR_TRIGGER14 0xC7
#define RX_TRIGGER 14
#define RX_SIZE 256

static char rxbuf[RX_SIZE];
static volatile u32 rx_head, rx_tail; /* single producer (the interrupt), single consumer: no lock */
static volatile int rx_throttled;
static int rx_ready; /* the UART is set up for input */

static void rx_store(const char *bytes, u32 n)
{
    for (u32 i = 0; i < n && rx_head - rx_tail < RX_SIZE; i++)
        rxbuf[rx_head++ & (RX_SIZE - 1)] = bytes[i];
}

static void rx_throttle(void)
{
    rx_throttled = 1;
    outb(COM1 + UART_IER, 0);
}

static u32 rx_room(void) { return RX_SIZE - (rx_head - rx_tail); }

static void com1_irq(void)
{
    char burst[RX_TRIGGER];
    for (;;) {
        u8 iir = inb(COM1 + UART_IIR);
        if (iir & IIR_NO_INT)
            return;
        switch (iir & IIR_ID_MASK) {
        case IIR_RDA:
            if (rx_room() < RX_TRIGGER) {
                rx_throttle();
                break;
            }
            insb(COM1 + UART_RBR, burst, RX_TRIGGER);
            rx_store(burst, RX_TRIGGER);
            wakeup_from_irq(rxbuf);
            break;
        case IIR_TIMEOUT:
            while (inb(COM1 + UART_LSR) & LSR_DR) {
                if (rx_room() == 0) {
                    rx_throttle();
                    break;
                }
                burst[0] = (char)inb(COM1 + UART_RBR);
                rx_store(burst, 1);
            }
            wakeup_from_irq(rxbuf);
            break;
        case IIR_RLS:
            inb(COM1 + UART_LSR);
            break;
        default:
            inb(COM1 + UART_MSR);
            break;
        }
    }
}

void console_init(void) {}

static void rx_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, 0x80); /* DLAB */
    outb(COM1 + UART_DLL, 1);    /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, 0x03); /* 8N1 */
    outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR_TRIGGER14);
    outb(COM1 + UART_MCR, 0x0B); /* DTR, RTS, OUT2 */
    inb(COM1 + UART_LSR);
    inb(COM1 + UART_RBR);
    irq_register(IRQ_COM1, com1_irq);
    outb(COM1 + UART_IER, IER_ERBFI);
    pic_unmask(IRQ_COM1);
    rx_ready = 1;
}

static void output(const char *buf, u32 len)
{
    while (len) {
        u32 n = MIN(len, (u32)DIRECT_CONSOLE_WRITE_MAX);
        i32 r = pv_console_write(buf, n);
        if (r <= 0)
            return; /* no console: the bytes go nowhere, as on a PC without COM1 */
        buf += r;
        len -= (u32)r;
    }
}

int console_write(const char *buf, u32 len)
{
    output(buf, len);
    return (int)len;
}

void console_kwrite(const char *buf, u32 len) { output(buf, len); }

int console_read(char *buf, u32 len)
{
    if (!rx_ready)
        rx_init();
    for (;;) {
        prepare_sleep(rxbuf);
        if (rx_head != rx_tail)
            break;
        schedule();
    }
    cancel_sleep();
    u32 n = 0, head = __atomic_load_n(&rx_head, __ATOMIC_ACQUIRE);
    while (n < len && head != rx_tail)
        buf[n++] = rxbuf[rx_tail++ & (RX_SIZE - 1)];
    if (rx_throttled && rx_room() >= RX_SIZE / 2) {
        irq_disable();
        rx_throttled = 0;
        outb(COM1 + UART_IER, IER_ERBFI);
        irq_enable();
    }
    return (int)n;
}

/* Output is synchronous: nothing is ever queued. */
void console_flush(void) {}
void console_panic_mode(void) { irq_disable(); }
