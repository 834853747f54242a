/* Guest: ATA registers of absent drives, as a probing driver sees them: the slave of a channel whose master
   is present (run with a disk) or both drives (run without): status after selection, IDENTIFY's outcome. */
#include "pc.h"

#define ATA_ERROR    0x1F1
#define ATA_COUNT    0x1F2
#define ATA_LBA0     0x1F3
#define ATA_LBA1     0x1F4
#define ATA_LBA2     0x1F5
#define ATA_DEVICE   0x1F6
#define ATA_STATUS   0x1F7

main:
        movb $0xB0, %bl                     /* the slave first: the master's IDENTIFY leaves DRQ set, and */
        movl $msg_slave, %esi               /* register writes while DRQ=1 are not defined */
        call probe
        movb $0xA0, %bl
        movl $msg_master, %esi
        call probe
        EXIT(0)

/* probe: select device %bl, print status; write count/LBA registers and read them back; IDENTIFY, then
   the status (polled, bounded), and the signature registers (count, LBA low/mid/high). */
probe:
        call puts
        movw $ATA_DEVICE, %dx
        movb %bl, %al
        outb %al, %dx
        movw $ATA_STATUS, %dx
        inb %dx, %al
        call put_hex8
        movl $msg_regs, %esi
        call puts
        movw $ATA_COUNT, %dx
        movb $0x55, %al
        outb %al, %dx
        movw $ATA_LBA0, %dx
        movb $0xAA, %al
        outb %al, %dx
        movw $ATA_COUNT, %dx
        inb %dx, %al
        call put_hex8
        movb $' ', %al
        call putc
        movw $ATA_LBA0, %dx
        inb %dx, %al
        call put_hex8
        movl $msg_identify, %esi
        call puts
        movw $ATA_STATUS, %dx
        movb $0xEC, %al
        outb %al, %dx
        movl $100000, %ecx
1:      inb %dx, %al
        testb $0x80, %al                    /* BSY */
        jz 2f
        loop 1b
2:      call put_hex8
        movl $msg_error, %esi
        call puts
        movw $ATA_ERROR, %dx
        inb %dx, %al
        call put_hex8
        movb $'\n', %al
        call putc
        ret

        .section .rodata
msg_master:     .asciz "master: status="
msg_slave:      .asciz "slave: status="
msg_regs:       .asciz " count/lba0 read back="
msg_identify:   .asciz " IDENTIFY: status="
msg_error:      .asciz " error="
