/* Console driver of the kernel ported to `direct`: hypercalls only.  Output is console_write (synchronous: the bytes
 * leave COM1 as its transmitter sends them; no queue, no THR-empty interrupt).  Input is console_read: the first call
 * has the hypervisor set COM1 up for input, after which IRQ 4 announces received data and the handler takes it in
 * one call; no UART register is touched by the kernel. */
#include "../kernel.h"

#define RX_SIZE 256
#define RX_BURST 64

static char rxbuf[RX_SIZE];
static volatile u32 rx_head, rx_tail; /* single producer (the interrupt), single consumer: no lock */
static volatile int rx_throttled;      /* queue full: received bytes wait in the UART (its FIFO holds the sender) */
static int rx_ready;

static void rx_store(const char *bytes, u32 n)
{
    for (u32 i = 0; i < n && rx_head - rx_tail < RX_SIZE; i++)
        rxbuf[rx_head++ & (RX_SIZE - 1)] = bytes[i];
}

static u32 rx_room(void) { return RX_SIZE - (rx_head - rx_tail); }

/* Take what the UART holds, as long as the queue has room (interrupts off). */
static void rx_drain(void)
{
    char burst[RX_BURST];
    for (;;) {
        u32 want = MIN(rx_room(), (u32)RX_BURST);
        if (want == 0) {
            rx_throttled = 1; /* the rest stays in the UART until the reader makes room */
            return;
        }
        i32 n = pv_console_read(burst, want);
        if (n <= 0)
            return;
        rx_store(burst, (u32)n);
        wakeup_from_irq(rxbuf);
        if ((u32)n < want)
            return;
    }
}

static void com1_irq(void) { rx_drain(); }

void console_init(void) {}

static void rx_init(void)
{
    pv_console_read(NULL, 0); /* COM1 set up for input by the hypervisor */
    irq_register(IRQ_COM1, com1_irq);
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
        rx_drain();
        irq_enable();
    }
    return (int)n;
}

/* Output is synchronous: nothing is ever queued. */
void console_flush(void) {}
void console_panic_mode(void) { irq_disable(); }
