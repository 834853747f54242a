/* Guest: ATA PIO, primary master, with interrupts: IDENTIFY, WRITE SECTORS (3 at LBA 1, a pattern), READ
   SECTORS back, IRQ 14 counted through the cascade, compare; a polled read (nIEN=1); a read past the end. */
#include "pc.h"

#define ATA_DATA     0x1F0
#define ATA_ERROR    0x1F1
#define ATA_COUNT    0x1F2
#define ATA_LBA0     0x1F3
#define ATA_LBA1     0x1F4
#define ATA_LBA2     0x1F5
#define ATA_DEVICE   0x1F6
#define ATA_STATUS   0x1F7                  /* read: status; write: command */
#define ATA_CTRL     0x3F6                  /* write: device control (nIEN = bit 1) */
#define ST_BSY       0x80
#define ST_DRDY      0x40
#define ST_DRQ       0x08
#define ST_ERR       0x01
#define CMD_READ     0x20                   /* READ SECTORS */
#define CMD_WRITE    0x30                   /* WRITE SECTORS */
#define CMD_IDENTIFY 0xEC                   /* IDENTIFY DEVICE */
#define NSECT        3
#define LBA          1

main:
        movl $IRQ_BASE + 14, %ecx
        movl $ata_isr, %eax
        call set_gate
        movw $0xBFFB, %ax                   /* master: IRQ 2 (cascade); slave: IRQ 14 */
        call pic_remap
        movw $ATA_CTRL, %dx                 /* nIEN = 0: INTRQ enabled */
        xorb %al, %al
        outb %al, %dx
        call identify
        call fill_pattern
        movb $CMD_WRITE, %bl
        call transfer_out
        movb $CMD_READ, %bl
        movl $inbuf, %edi
        call transfer_in
        call compare
        movl $msg_irq, %esi
        call puts
        movl irq14, %eax
        call put_dec
        movb $'\n', %al
        call putc
        call polled_read
        call past_end
        EXIT(0)

/* wait_irq: sleep until irq14 exceeds %ebx, then %ebx = irq14. Runs with IF=0 outside `hlt`. */
wait_irq:
1:      cli
        cmpl %ebx, irq14
        ja 2f
        sti
        hlt
        jmp 1b
2:      movl irq14, %ebx
        ret

/* wait_not_busy: poll the status port until BSY=0; %al = status. No bound: QEMU moves sectors on a host
   thread, so any bound in polls would be a race with the host's load; a drive that stays busy ends the run
   at previrt's --max-instructions (or the test's timeout on QEMU). */
wait_not_busy:
        movw $ATA_STATUS, %dx
3:      inb %dx, %al
        testb $ST_BSY, %al
        jnz 3b
        ret

/* command: select the master (LBA mode), set count/LBA for NSECT sectors at LBA, issue %bl. */
command:
        movw $ATA_DEVICE, %dx
        movb $0xE0, %al
        outb %al, %dx
        movw $ATA_COUNT, %dx
        movb $NSECT, %al
        outb %al, %dx
        movw $ATA_LBA0, %dx
        movb $LBA, %al
        outb %al, %dx
        movw $ATA_LBA1, %dx
        xorb %al, %al
        outb %al, %dx
        movw $ATA_LBA2, %dx
        outb %al, %dx
        movw $ATA_STATUS, %dx
        movb %bl, %al
        outb %al, %dx
        ret

identify:
        movw $ATA_DEVICE, %dx
        movb $0xA0, %al
        outb %al, %dx
        movw $ATA_STATUS, %dx
        movb $CMD_IDENTIFY, %al
        outb %al, %dx
        movl irq14, %ebx
        call wait_irq
        call wait_not_busy
        movb %al, st_identify
        movl $idbuf, %edi
        movl $256, %ecx
        movw $ATA_DATA, %dx
        rep insw
        movl $msg_identify, %esi
        call puts
        movb st_identify, %al
        andb $ST_DRDY | ST_DRQ | ST_ERR, %al
        call put_hex8
        movl $msg_sectors, %esi             /* words 60-61: user-addressable LBA28 sectors */
        call puts
        movl idbuf + 120, %eax
        call put_dec
        movl $msg_word0, %esi               /* word 0 bit 15 = 0: ATA device */
        call puts
        movzwl idbuf, %eax
        shrl $15, %eax
        call put_dec
        movb $'\n', %al
        call putc
        ret

/* fill_pattern: byte k of outbuf = ((k * 13 + 0x5A) & 0xFF) ^ (k >> 9). */
fill_pattern:
        xorl %ecx, %ecx
4:      movl %ecx, %eax
        imull $13, %eax
        addl $0x5A, %eax
        movl %ecx, %edx
        shrl $9, %edx
        xorl %edx, %eax
        movb %al, outbuf(%ecx)
        incl %ecx
        cmpl $NSECT * 512, %ecx
        jb 4b
        ret

/* transfer_out: PIO data-out: DRQ for the first block, then one INTRQ after every block. */
transfer_out:
        call command
        call wait_not_busy
        movl irq14, %ebx
        movl $outbuf, %esi
        movl $NSECT, %ebp
5:      movw $ATA_DATA, %dx
        movl $256, %ecx
6:      outsw                               /* one word at a time, as a driver does */
        loop 6b
        call wait_irq
        decl %ebp
        jnz 5b
        movl $msg_wrote, %esi
        call puts
        movb last_status, %al
        andb $ST_BSY | ST_DRDY | ST_DRQ | ST_ERR, %al
        call put_hex8
        movb $'\n', %al
        call putc
        ret

/* transfer_in: PIO data-in to %edi: one INTRQ before every block. */
transfer_in:
        call command
        movl irq14, %ebx
        movl $NSECT, %ebp
7:      call wait_irq
        movw $ATA_DATA, %dx
        movl $256, %ecx
        rep insw
        decl %ebp
        jnz 7b
        movl $msg_read, %esi
        call puts
        movb last_status, %al
        andb $ST_BSY | ST_DRDY | ST_DRQ | ST_ERR, %al
        call put_hex8
        movb $'\n', %al
        call putc
        ret

compare:
        movl $outbuf, %esi
        movl $inbuf, %edi
        movl $NSECT * 512, %ecx
        repe cmpsb
        movl $msg_same, %esi
        je 8f
        movl $msg_differ, %esi
8:      call puts
        ret

/* polled_read: nIEN=1, read the same sectors again by polling DRQ; no IRQ 14 may arrive. */
polled_read:
        movw $ATA_CTRL, %dx
        movb $0x02, %al
        outb %al, %dx
        movl irq14, %eax
        movl %eax, irq_before
        movb $CMD_READ, %bl
        call command
        movl $inbuf2, %edi
        movl $NSECT, %ebp
9:      call wait_not_busy
        movw $ATA_DATA, %dx
        movl $256, %ecx
        rep insw
        decl %ebp
        jnz 9b
        call wait_not_busy
        movb %al, st_identify
        sti                                 /* give a stray interrupt a chance to show up */
        nop
        nop
        cli
        movl $msg_polled, %esi
        call puts
        movl irq14, %eax
        subl irq_before, %eax
        call put_dec
        movl $msg_status, %esi
        call puts
        movb st_identify, %al
        andb $ST_BSY | ST_DRDY | ST_DRQ | ST_ERR, %al
        call put_hex8
        movl $inbuf, %esi
        movl $inbuf2, %edi
        movl $NSECT * 512, %ecx
        repe cmpsb
        movl $msg_same2, %esi
        je 10f
        movl $msg_differ2, %esi
10:     call puts
        ret

/* past_end: (nIEN still 1) READ SECTORS of the first sector past the end: ERR, not a crash. */
past_end:
        movw $ATA_DEVICE, %dx
        movl idbuf + 120, %eax
        shrl $24, %eax
        orb $0xE0, %al
        outb %al, %dx
        movw $ATA_COUNT, %dx
        movb $1, %al
        outb %al, %dx
        movl idbuf + 120, %eax
        movw $ATA_LBA0, %dx
        outb %al, %dx
        shrl $8, %eax
        movw $ATA_LBA1, %dx
        outb %al, %dx
        shrl $8, %eax
        movw $ATA_LBA2, %dx
        outb %al, %dx
        movw $ATA_STATUS, %dx
        movb $CMD_READ, %al
        outb %al, %dx
        call wait_not_busy
        andb $ST_BSY | ST_DRDY | ST_DRQ | ST_ERR, %al
        movb %al, st_identify
        movl $msg_past, %esi
        call puts
        movb st_identify, %al
        call put_hex8
        movl $msg_errreg, %esi
        call puts
        movw $ATA_ERROR, %dx
        inb %dx, %al
        testb %al, %al
        setnz %al
        movzbl %al, %eax
        call put_dec
        movb $'\n', %al
        call putc
        ret

ata_isr:
        pushl %eax
        pushl %edx
        movw $ATA_STATUS, %dx               /* reading status acknowledges INTRQ */
        inb %dx, %al
        movb %al, last_status
        incl irq14
        movb $PIC_EOI, %al
        outb %al, $PIC2_CMD
        outb %al, $PIC1_CMD
        popl %edx
        popl %eax
        iret

        .section .rodata
msg_identify:   .asciz "identify: status="
msg_sectors:    .asciz " sectors="
msg_word0:      .asciz " word0.15="
msg_wrote:      .asciz "wrote 3 sectors, last status="
msg_read:       .asciz "read 3 sectors, last status="
msg_same:       .asciz "compare ok\n"
msg_differ:     .asciz "compare FAILED\n"
msg_irq:        .asciz "irq14="
msg_polled:     .asciz "nIEN=1 read: irqs="
msg_status:     .asciz " status="
msg_past:       .asciz "read past the end: status="
msg_errreg:     .asciz " error!=0:"
msg_same2:      .asciz " compare ok\n"
msg_differ2:    .asciz " compare FAILED\n"

        .section .bss
        .p2align 4
idbuf:          .space 512
outbuf:         .space NSECT * 512
inbuf:          .space NSECT * 512
inbuf2:         .space NSECT * 512
irq14:          .long 0
irq_before:     .long 0
last_status:    .byte 0
st_identify:    .byte 0
