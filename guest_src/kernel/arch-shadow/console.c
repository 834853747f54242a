/* Console on shadow: output is the console_write hypercall (synchronous: the bytes leave COM1's transmitter before
 * it returns; no UART register, no transmit interrupt); input stays on the emulated 16550A's receiver (COM1,
 * IRQ 4): a received-data interrupt takes the trigger level's worth of bytes with one `rep insb`. */
#include "../kernel.h"

#define COM1 0x3F8
#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
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
#define IIR_NO_INT 0x01
#define IIR_ID_MASK 0x0E
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_TIMEOUT 0x0C
#define LSR_DR 0x01
#define FCR_ENABLE_CLEAR_TRIGGER14 0xC7 /* enable and clear both FIFOs, receive trigger level 14 */
#define RX_TRIGGER 14                   /* a received-data-available interrupt means >= this many bytes */

#define RX_SIZE 256          /* a power of two: indices run free and are masked */
#define USER_CHUNK 256       /* user bytes go out through a kernel buffer of this size on the stack */

static char rxbuf[RX_SIZE];
static volatile u32 rx_head, rx_tail; /* single producer (the interrupt), single consumer: no lock */
static volatile int rx_throttled;      /* queue full: receive interrupts off, bytes wait in the FIFO */

/* Kernel memory (the direct map) straight to the hypervisor, in pieces it takes. */
static void pv_console_write(const char *buf, u32 len)
{
    for (u32 done = 0; done < len;) {
        u32 n = MIN(len - done, (u32)CONSOLE_CHUNK);
        hypercall(HC_CONSOLE_WRITE, PV_PHYS(buf + done), n);
        done += n;
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

/* The receiver only: nothing is ever sent through the UART's registers. */
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
    outb(COM1 + UART_IER, IER_ERBFI);
    pic_unmask(IRQ_COM1);
}

/* From write(1, ...): process context, interrupts on.  The user's bytes are copied into kernel memory (a fault on
 * them is taken here, as the native driver takes it while queueing), then written synchronously. */
int console_write(const char *buf, u32 len)
{
    char chunk[USER_CHUNK];
    for (u32 done = 0; done < len;) {
        u32 n = MIN(len - done, (u32)USER_CHUNK);
        memcpy(chunk, buf + done, n);
        pv_console_write(chunk, n);
        done += n;
    }
    return (int)len;
}

/* Kernel messages, from any context: kernel memory, written synchronously; never sleeps. */
void console_kwrite(const char *buf, u32 len) { pv_console_write(buf, len); }

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
        outb(COM1 + UART_IER, IER_ERBFI); /* pending bytes raise the interrupt again */
        irq_enable();
    }
    return (int)n;
}

/* Nothing is queued: every write has left when its hypercall returned. */
void console_flush(void) {}

void console_panic_mode(void) { irq_disable(); }
