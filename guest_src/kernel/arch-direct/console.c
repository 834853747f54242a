/* Console driver of the kernel ported to `direct`: no UART register is touched by the kernel.  Output goes into the
 * shared page's console ring, which the hypervisor sends out of COM1 before anything looks at a device (at the next
 * exit or slice boundary); what does not fit goes by the console_write hypercall (after the ring: the call's exit
 * drains it first).  Input is console_read: the first call has the hypervisor set COM1 up for input, after which
 * IRQ 4 announces received data and the handler takes it in one call. */
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

/* Append to the console ring what fits (interrupts off: handlers write too), the rest by hypercall. */
static void output(const char *buf, u32 len)
{
    volatile char *ring = (volatile char *)(DIRECT_SHARED + DIRECT_CON_RING);
    u32 flags = irq_save();
    u32 prod = PV_WORD(DIRECT_CON_PROD);
    u32 n = MIN(len, DIRECT_CON_RING_SIZE - (prod - PV_WORD(DIRECT_CON_CONS)));
    for (u32 i = 0; i < n; i++)
        ring[(prod + i) & (DIRECT_CON_RING_SIZE - 1)] = buf[i];
    __asm__ volatile("" : : : "memory");
    PV_WORD(DIRECT_CON_PROD) = prod + n; /* one store publishes the bytes */
    irq_restore(flags);
    buf += n;
    len -= n;
    while (len) {
        u32 chunk = MIN(len, (u32)DIRECT_CONSOLE_WRITE_MAX);
        i32 r = pv_console_write(buf, chunk);
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

/* The ring is sent before the exit port (a port access) is looked at: nothing to wait for. */
void console_flush(void) {}
void console_panic_mode(void) { irq_disable(); }
