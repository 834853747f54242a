/* ATA PIO driver for the primary channel (0x1F0-0x1F7, 0x3F6, IRQ 14), master drive, LBA28.
 * One request at a time; completion by interrupt, sector data moved with rep insw / rep outsw. */
#include "kernel.h"

#define ATA_DATA 0x1F0
#define ATA_ERROR 0x1F1
#define ATA_COUNT 0x1F2
#define ATA_LBA0 0x1F3
#define ATA_LBA1 0x1F4
#define ATA_LBA2 0x1F5
#define ATA_DRIVE 0x1F6
#define ATA_STATUS 0x1F7 /* read */
#define ATA_COMMAND 0x1F7 /* write */
#define ATA_CTRL 0x3F6
#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DF 0x20
#define ST_BSY 0x80
#define CTRL_NIEN 0x02
#define CMD_READ_SECTORS 0x20
#define CMD_WRITE_SECTORS 0x30
#define CMD_IDENTIFY 0xEC
#define DRIVE_MASTER_LBA 0xE0
#define SECTOR_WORDS 256
#define MAX_SECTORS 8

static u32 sectors; /* 0: no disk */
static int busy;
static struct {
    int write, done, error;
    u8 *buf;
    u32 left;
} req;

static u8 wait_not_busy(void)
{
    u8 st;
    while ((st = inb(ATA_STATUS)) & ST_BSY)
        ;
    return st;
}

static void ata_irq(void)
{
    u8 st = inb(ATA_STATUS); /* acknowledges INTRQ */
    if (req.done || !req.buf)
        return;
    if (st & (ST_ERR | ST_DF)) {
        req.error = 1;
    } else if (!req.write) {
        if (!(st & ST_DRQ))
            return;
        insw(ATA_DATA, req.buf, SECTOR_WORDS);
        req.buf += 512;
        if (--req.left)
            return;
    } else if (--req.left) {
        outsw(ATA_DATA, req.buf, SECTOR_WORDS);
        req.buf += 512;
        return;
    }
    req.done = 1;
    wakeup_from_irq(&req);
}

void ata_init(void)
{
    u16 id[SECTOR_WORDS];
    outb(ATA_CTRL, CTRL_NIEN); /* identify by polling */
    outb(ATA_DRIVE, DRIVE_MASTER_LBA);
    u8 st = inb(ATA_STATUS);
    if (st == 0xFF || st == 0)
        return; /* floating bus or no drive */
    wait_not_busy();
    outb(ATA_COMMAND, CMD_IDENTIFY);
    st = inb(ATA_STATUS);
    if (st == 0)
        return;
    while ((st = inb(ATA_STATUS)) & ST_BSY)
        ;
    if (!(st & ST_DRQ) || (st & ST_ERR))
        return;
    insw(ATA_DATA, id, SECTOR_WORDS);
    sectors = id[60] | ((u32)id[61] << 16);
    irq_register(IRQ_ATA, ata_irq);
    pic_unmask(IRQ_ATA);
    outb(ATA_CTRL, 0); /* interrupts on */
}

u32 ata_sectors(void) { return sectors; }

/* Transfer count (1..8) sectors at lba to/from the kernel buffer buf; sleeps until the disk is done. */
int ata_rw(int write, u32 lba, void *buf, u32 count)
{
    if (!sectors)
        return -ENODEV;
    if (count == 0 || count > MAX_SECTORS || lba >= sectors || count > sectors - lba)
        return -EINVAL;
    u32 flags = irq_save();
    while (busy)
        sleep_on_irq(&busy); /* woken by a process, but the request below needs interrupts off */
    busy = 1;
    req.write = write;
    req.done = req.error = 0;
    req.buf = buf;
    req.left = count;
    wait_not_busy();
    outb(ATA_DRIVE, (u8)(DRIVE_MASTER_LBA | ((lba >> 24) & 0x0F)));
    outb(ATA_COUNT, (u8)count);
    outb(ATA_LBA0, (u8)lba);
    outb(ATA_LBA1, (u8)(lba >> 8));
    outb(ATA_LBA2, (u8)(lba >> 16));
    outb(ATA_COMMAND, write ? CMD_WRITE_SECTORS : CMD_READ_SECTORS);
    if (write) {
        u8 st;
        while (((st = inb(ATA_STATUS)) & ST_BSY) || !(st & (ST_DRQ | ST_ERR)))
            ;
        if (st & ST_ERR) {
            req.error = req.done = 1;
        } else {
            outsw(ATA_DATA, req.buf, SECTOR_WORDS);
            req.buf += 512;
        }
    }
    while (!req.done)
        sleep_on_irq(&req);
    int err = req.error;
    req.buf = NULL;
    busy = 0;
    wakeup(&busy);
    irq_restore(flags);
    return err ? -EIO : (int)count;
}
