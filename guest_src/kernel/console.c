/* Console driver for the 16550A UART on COM1 (0x3F8, IRQ 4): interrupt-driven receive and transmit.
 * Transmit fills the 16-byte FIFO with one `rep outsb` per THR-empty interrupt; a received-data interrupt
 * takes the trigger level's worth of bytes with one `rep insb`; panics poll. */
#include "kernel.h"

#define COM1 0x3F8
#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IIR_NO_INT 0x01
#define IIR_ID_MASK 0x0E
#define IIR_MSR 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_TIMEOUT 0x0C
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define FIFO_DEPTH 16
#define FCR_ENABLE_CLEAR_TRIGGER14 0xC7 /* enable and clear both FIFOs, receive trigger level 14 */
#define RX_TRIGGER 14                   /* a received-data-available interrupt means >= this many bytes */

#define TX_SIZE 4096 /* powers of two: indices run free and are masked */
#define RX_SIZE 256
#define TX_WAKE_LEVEL (TX_SIZE / 2) /* a writer waiting for room sleeps until the queue is half empty */

static char txbuf[TX_SIZE];
static u32 tx_head, tx_tail; /* head: next free slot, tail: next byte to send (interrupts off for both) */
static int tx_busy;          /* a THR-empty interrupt is due */
static char rxbuf[RX_SIZE];
static volatile u32 rx_head, rx_tail; /* single producer (the interrupt), single consumer: no lock */
static volatile int rx_throttled;      /* queue full: receive interrupts off, bytes wait in the FIFO */
static int polled; /* after a panic: no more interrupts, write straight through */

/* Move up to one FIFO's worth of queued bytes to the UART (interrupts off, THR empty). */
static void tx_fill(void)
{
    u32 n = MIN(tx_head - tx_tail, (u32)FIFO_DEPTH);
    u32 off = tx_tail & (TX_SIZE - 1);
    n = MIN(n, TX_SIZE - off);
    if (n == 0) {
        tx_busy = 0;
        return;
    }
    outsb(COM1 + UART_THR, &txbuf[off], n);
    tx_tail += n;
    tx_busy = 1;
    if (tx_head - tx_tail <= TX_WAKE_LEVEL)
        wakeup_from_irq(txbuf);
}

/* Drain the queue by polling LSR (interrupts off; used when sleeping is not possible). */
static void tx_poll_drain(void)
{
    while (tx_head != tx_tail) {
        while (!(inb(COM1 + UART_LSR) & LSR_THRE))
            ;
        tx_fill();
    }
}

static void rx_store(const char *bytes, u32 n)
{
    for (u32 i = 0; i < n && rx_head - rx_tail < RX_SIZE; i++)
        rxbuf[rx_head++ & (RX_SIZE - 1)] = bytes[i];
}

/* The receive queue is full: leave further bytes in the UART (whose full FIFO holds the sender off)
 * and stop the receive interrupts until the reader has made room. */
static void rx_throttle(void)
{
    rx_throttled = 1;
    outb(COM1 + UART_IER, IER_ETBEI);
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
        case IIR_THRE:
            tx_fill();
            break;
        case IIR_RDA: /* the FIFO holds at least the trigger level: one string read; a remainder below
                       * the level is reported by the next RDA or by the character timeout */
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

void console_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, 0x80); /* DLAB */
    outb(COM1 + UART_DLL, 1);    /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, 0x03); /* 8N1 */
    outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR_TRIGGER14);
    outb(COM1 + UART_MCR, 0x0B); /* DTR, RTS, OUT2 (routes the interrupt to the PIC) */
    inb(COM1 + UART_LSR);
    inb(COM1 + UART_RBR);
    irq_register(IRQ_COM1, com1_irq);
    outb(COM1 + UART_IER, IER_ERBFI | IER_ETBEI);
    pic_unmask(IRQ_COM1);
}

/* Queue bytes for output (interrupts off). When the queue is full, sleep if the caller may, else poll. */
static void queue_output(const char *buf, u32 len, int may_sleep)
{
    u32 done = 0;
    while (done < len) {
        if (polled) {
            while (!(inb(COM1 + UART_LSR) & LSR_THRE))
                ;
            outb(COM1 + UART_THR, (u8)buf[done++]);
            continue;
        }
        u32 room = TX_SIZE - (tx_head - tx_tail);
        if (room == 0) {
            if (may_sleep)
                sleep_on_irq(txbuf);
            else
                tx_poll_drain();
            continue;
        }
        u32 n = MIN(room, len - done);
        for (u32 i = 0; i < n; i++)
            txbuf[(tx_head + i) & (TX_SIZE - 1)] = buf[done + i];
        tx_head += n;
        done += n;
        if (!tx_busy)
            tx_fill();
    }
}

/* From write(1, ...): process context, interrupts on; sleeps while the queue is full. */
int console_write(const char *buf, u32 len)
{
    irq_disable();
    queue_output(buf, len, 1);
    irq_enable();
    return (int)len;
}

/* Kernel messages, from any context (system call, exception, interrupt): never sleeps. */
void console_kwrite(const char *buf, u32 len)
{
    u32 flags = irq_save();
    queue_output(buf, len, 0);
    irq_restore(flags);
}

/* From read(0, ...): process context, interrupts on. The receive queue has one producer (the interrupt
 * handler) and one consumer, so it needs no interrupts-off; the wait announces itself before it checks. */
int console_read(char *buf, u32 len)
{
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
        outb(COM1 + UART_IER, IER_ERBFI | IER_ETBEI); /* pending bytes raise the interrupt again */
        irq_enable();
    }
    return (int)n;
}

/* Wait until every queued byte has left the transmitter (before power-off). */
void console_flush(void)
{
    u32 flags = irq_save();
    tx_poll_drain();
    while (!(inb(COM1 + UART_LSR) & LSR_TEMT))
        ;
    irq_restore(flags);
}

/* Panic: flush what is queued, then write synchronously from now on. */
void console_panic_mode(void)
{
    irq_disable();
    if (!polled)
        tx_poll_drain();
    polled = 1;
}
