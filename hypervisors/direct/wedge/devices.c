/* The wedge's device fast paths: port accesses of the patched guest kernel that need no exit.
 *
 * The hypervisor keeps, in the shared page, what a read of a few registers would return right now (the ATA status,
 * the UART's interrupt identification) and the data an ATA read has ready; the wedge answers those reads, takes
 * the ATA command-block writes and whole strings of ATA data and UART transmit bytes, and appends each operation
 * to a log in the shared page.  The hypervisor replays the log through the same device models, in order, at the
 * next exit or slice end (settle), before anything else looks at the devices: the devices see every access the
 * guest made, in the same order, only later in virtual time.  Where the wedge cannot know what the device would
 * answer (a register written but not yet replayed, data not prefetched, a mapping that would fault), it returns
 * "not here" and the guest's own instruction runs: one exit, as in full virtualization.
 *
 * Built with the host gcc (-ffreestanding, no library), linked into the window, read-only: every variable lives
 * in the shared page.  The addresses and numbers come from abi.py as -D definitions. */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

#define FIELD(type, name) (*(volatile type *)(SHARED_##name))

/* flags of the ATA mirror (SHARED_ATA_FLAGS) and the UART mirror (SHARED_UART_FLAGS) */
#define ATA_VALID 0x01      /* ata_status is what a status read returns now */
#define ATA_INTRQ 0x02      /* INTRQ is asserted: a status read acknowledges it (the replay does) */
#define ATA_READ 0x04       /* ata_words words of read data are in ata_data */
#define ATA_WRITE 0x08      /* the drive takes ata_words words of write data */
#define UART_VALID 0x01     /* uart_iir is what an IIR read returns now */
#define UART_TX 0x02        /* THR writes go straight out (DLAB clear, no loopback): uart_iir_thre follows them */

#define OP_IN 1
#define OP_OUT 2
#define OP_INS 3
#define OP_OUTS 4

#define ATA_DATA 0x1F0
#define ATA_STATUS 0x1F7
#define ATA_ALT_STATUS 0x3F6
#define COM1 0x3F8
#define IIR_ID 0x0F
#define IIR_THRE 0x02

struct op {
    u16 port;
    u8 kind;
    u8 size;
    u32 value;              /* the byte written (OP_OUT); the count (OP_INS, OP_OUTS) */
};

/* Copy n bytes: doublewords, then the rest (DF is clear here: the stubs checked it). */
static void copy(volatile void *dst, const volatile void *src, u32 n)
{
    u32 words = n / 4, rest = n % 4;
    __asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(rest) : : "memory");
}

static int log_op(u32 port, u32 kind, u32 size, u32 value)
{
    u32 n = FIELD(u32, DEV_COUNT);
    if (n >= DEV_LOG_SIZE)
        return 0;
    volatile struct op *op = (volatile struct op *)SHARED_DEV_LOG + n;
    op->port = (u16)port;
    op->kind = (u8)kind;
    op->size = (u8)size;
    op->value = value;
    FIELD(u32, DEV_COUNT) = n + 1;
    return 1;
}

/* Whether [lin, lin + len) is mapped for a kernel access (writable too if `write`), by the linear view of the
 * current tables: the wedge's own string copy must not fault where the guest's instruction would not. */
static int mapped(u32 lin, u32 len, int write)
{
    u32 cr0 = FIELD(u32, CR0), cr4 = FIELD(u32, CR4);
    if (!(cr0 & 0x80000000u) || len == 0 || lin + len < lin)
        return 0;
    if (lin + len > WINDOW_BASE && lin < WINDOW_BASE + WINDOW_SIZE)
        return 0;
    int wp = write && (cr0 & 0x10000u);
    for (u32 page = lin & ~0xFFFu; page - (lin & ~0xFFFu) < len + (lin & 0xFFF); page += 0x1000) {
        u32 pde = ((volatile u32 *)LINEAR_PD)[page >> 22];
        if (!(pde & 1) || (wp && !(pde & 2)))
            return 0;
        if ((pde & 0x80) && (cr4 & 0x10))
            continue;
        u32 pte = ((volatile u32 *)LINEAR_PT)[page >> 12];
        if (!(pte & 1) || (wp && !(pte & 2)))
            return 0;
    }
    return 1;
}

/* inb %dx, %al: the value, or -1 for the device. */
int wedge_c_inb(u32 port)
{
    if (port == ATA_STATUS || port == ATA_ALT_STATUS) {
        u32 flags = FIELD(u8, ATA_FLAGS);
        if (!(flags & ATA_VALID))
            return -1;
        if (port == ATA_STATUS && (flags & ATA_INTRQ)) {
            if (!log_op(port, OP_IN, 1, 0))
                return -1;
            FIELD(u8, ATA_FLAGS) = (u8)(flags & ~ATA_INTRQ);
        }
        return FIELD(u8, ATA_STATUS);
    }
    if (port == COM1 + 2) {
        u32 flags = FIELD(u8, UART_FLAGS);
        if (!(flags & UART_VALID))
            return -1;
        u32 iir = FIELD(u8, UART_IIR);
        if ((iir & IIR_ID) == IIR_THRE) {       /* reading it clears the THRE interrupt it reports */
            if (!log_op(port, OP_IN, 1, 0))
                return -1;
            FIELD(u8, UART_IIR) = FIELD(u8, UART_IIR_NO_THRE);
        }
        return (int)iir;
    }
    return -1;
}

/* outb %al, %dx: 0 when taken, -1 for the device. */
int wedge_c_outb(u32 port, u32 value)
{
    if (port >= ATA_DATA + 1 && port <= ATA_DATA + 6) {   /* the command block before the command */
        if (!log_op(port, OP_OUT, 1, value & 0xFF))
            return -1;
        FIELD(u8, ATA_FLAGS) = 0;                         /* the status of the drive now selected: the device's */
        return 0;
    }
    return -1;
}

/* rep insw %dx, %es:(%edi) (ES is the kernel's flat data segment): 1 when all `count` words were taken. */
int wedge_c_insw(u32 port, u32 count, u16 *dst)
{
    u32 flags = FIELD(u8, ATA_FLAGS);
    if (port != ATA_DATA || !(flags & ATA_VALID) || !(flags & ATA_READ) || count == 0)
        return 0;
    u32 taken = FIELD(u32, ATA_TAKEN), words = FIELD(u32, ATA_WORDS);
    if (count > words - taken || !mapped((u32)dst, 2 * count, 1) || !log_op(port, OP_INS, 2, count))
        return 0;
    copy(dst, (volatile u16 *)SHARED_ATA_DATA + taken, 2 * count);
    FIELD(u32, ATA_TAKEN) = taken + count;
    if (taken + count == words)             /* the block is read: what the drive does next is the device's */
        FIELD(u8, ATA_FLAGS) = 0;
    return 1;
}

/* rep outsw / rep outsb (%esi), %dx: 1 when all `count` units were taken. */
int wedge_c_outs(u32 port, u32 size, u32 count, const u8 *src)
{
    u32 bytes = size * count, used = FIELD(u32, OUT_USED);
    if (count == 0 || bytes > OUT_DATA_SIZE - used || !mapped((u32)src, bytes, 0))
        return 0;
    if (port == ATA_DATA && size == 2) {
        u32 flags = FIELD(u8, ATA_FLAGS), taken = FIELD(u32, ATA_TAKEN), words = FIELD(u32, ATA_WORDS);
        if (!(flags & ATA_VALID) || !(flags & ATA_WRITE) || count > words - taken)
            return 0;
        if (!log_op(port, OP_OUTS, 2, count))
            return 0;
        FIELD(u32, ATA_TAKEN) = taken + count;
        if (taken + count == words)
            FIELD(u8, ATA_FLAGS) = 0;
    } else if (port == COM1 && size == 1) {
        if (!(FIELD(u8, UART_FLAGS) & UART_TX) || !log_op(port, OP_OUTS, 1, count))
            return 0;
        FIELD(u8, UART_IIR) = FIELD(u8, UART_IIR_THRE);   /* each byte goes out at once: THRE is pending again */
    } else {
        return 0;
    }
    copy((volatile u8 *)SHARED_OUT_DATA + used, src, bytes);
    FIELD(u32, OUT_USED) = used + bytes;
    return 1;
}
