/* Guest: ATA beyond READ SECTORS: SET MULTIPLE MODE 4 and READ MULTIPLE of 8 sectors (one IRQ 14 per
   4-sector block), a CHS-addressed read (cylinder 0, head 0, sector 2 = LBA 1), and a software reset
   through the device control register (SRST) leaving the ATA signature in the command block. */
#include "pc.h"

#define ATA_DATA     0x1F0
#define ATA_ERROR    0x1F1                  /* read: error; write: features */
#define ATA_COUNT    0x1F2
#define ATA_LBA0     0x1F3                  /* CHS: sector number */
#define ATA_LBA1     0x1F4                  /* CHS: cylinder low */
#define ATA_LBA2     0x1F5                  /* CHS: cylinder high */
#define ATA_DEVICE   0x1F6
#define ATA_STATUS   0x1F7
#define ATA_CTRL     0x3F6
#define ST_MASK      0xC9                   /* BSY DRDY DRQ ERR */
#define NSECT        8

main:
        movl $IRQ_BASE + 14, %ecx
        movl $ata_isr, %eax
        call set_gate
        movw $0xBFFB, %ax
        call pic_remap
        movw $ATA_CTRL, %dx
        xorb %al, %al
        outb %al, %dx
        /* READ SECTORS of 8 at LBA 0, the reference */
        movb $0x20, %bl
        movb $0xE0, %bh
        xorb %cl, %cl
        call command
        movl $ref, %edi
        movl $NSECT, %ebp
        call read_blocks_by_irq             /* %ebp = blocks of 1 sector */
        movl irq14, %eax
        movl %eax, irq_ref
        /* SET MULTIPLE MODE: 4 sectors a block */
        movw $ATA_COUNT, %dx
        movb $4, %al
        outb %al, %dx
        movw $ATA_DEVICE, %dx
        movb $0xE0, %al
        outb %al, %dx
        movl irq14, %ebx
        movw $ATA_STATUS, %dx
        movb $0xC6, %al
        outb %al, %dx
        call wait_irq
        movb last_status, %al
        andb $ST_MASK, %al
        movb %al, st_setmult
        /* READ MULTIPLE of 8 at LBA 0: two blocks of 4 */
        movl irq14, %eax
        movl %eax, irq_before
        movb $0xC4, %bl
        movb $0xE0, %bh
        xorb %cl, %cl
        call command
        movl $multi, %edi
        movl $2, %ebp
        movl $4 * 256, block_words
        call read_blocks_by_irq
        movl $msg_setmult, %esi
        call puts
        movb st_setmult, %al
        call put_hex8
        movl $msg_multi, %esi
        call puts
        movl irq14, %eax
        subl irq_before, %eax
        call put_dec
        movl $msg_ref, %esi
        call puts
        movl irq_ref, %eax
        call put_dec
        movl $ref, %esi
        movl $multi, %edi
        movl $NSECT * 512, %ecx
        call same
        /* CHS: device register without the LBA bit, sector 2 of cylinder 0 head 0 */
        movl $256, block_words
        movb $0x20, %bl
        movb $0xA0, %bh
        movb $2, %cl
        movw $ATA_COUNT, %dx                /* command below writes count 8: set 1 afterwards */
        call command_chs
        movl $chs, %edi
        movl $1, %ebp
        call read_blocks_by_irq
        movl $msg_chs, %esi
        call puts
        movl $ref + 512, %esi
        movl $chs, %edi
        movl $512, %ecx
        call same
        call soft_reset
        EXIT(0)

/* command: %bl = opcode, %bh = device register, %cl = LBA low; count NSECT, LBA mid/high 0. */
command:
        movw $ATA_DEVICE, %dx
        movb %bh, %al
        outb %al, %dx
        movw $ATA_COUNT, %dx
        movb $NSECT, %al
        outb %al, %dx
        jmp 1f
command_chs:                                /* the same with a count of 1 */
        movw $ATA_DEVICE, %dx
        movb %bh, %al
        outb %al, %dx
        movw $ATA_COUNT, %dx
        movb $1, %al
        outb %al, %dx
1:      movw $ATA_LBA0, %dx
        movb %cl, %al
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

/* read_blocks_by_irq: %ebp blocks of block_words words each into %edi, one IRQ 14 before each. */
read_blocks_by_irq:
        movl irq14, %ebx
2:      call wait_irq
        movw $ATA_DATA, %dx
        movl block_words, %ecx
        rep insw
        decl %ebp
        jnz 2b
        ret

/* wait_irq: sleep until irq14 exceeds %ebx, then %ebx = irq14. */
wait_irq:
3:      cli
        cmpl %ebx, irq14
        ja 4f
        sti
        hlt
        jmp 3b
4:      movl irq14, %ebx
        ret

/* same: compare %ecx bytes at %esi and %edi, print " same data ok" or " data DIFFERS". */
same:
        repe cmpsb
        movl $msg_same, %esi
        je 5f
        movl $msg_differ, %esi
5:      call puts
        ret

/* soft_reset: SRST set then cleared (nIEN kept off); then status and the signature registers. */
soft_reset:
        movw $ATA_CTRL, %dx
        movb $0x06, %al                     /* SRST | nIEN */
        outb %al, %dx
        movb $0x02, %al
        outb %al, %dx
        movw $ATA_STATUS, %dx
6:      inb %dx, %al                        /* no bound: QEMU ends the reset in its main loop, in host time */
        testb $0x80, %al
        jnz 6b
        andb $ST_MASK, %al
        movl $msg_srst, %esi
        call puts
        call put_hex8
        movl $msg_sig, %esi
        call puts
        movw $ATA_COUNT, %dx
8:      inb %dx, %al
        call put_hex8
        movb $' ', %al
        call putc
        incw %dx
        cmpw $ATA_LBA2, %dx
        jbe 8b
        movl $msg_err, %esi
        call puts
        movw $ATA_ERROR, %dx
        inb %dx, %al
        call put_hex8
        movb $'\n', %al
        call putc
        ret

ata_isr:
        pushl %eax
        pushl %edx
        movw $ATA_STATUS, %dx
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
msg_setmult:    .asciz "SET MULTIPLE MODE 4: status="
msg_multi:      .asciz "\nREAD MULTIPLE of 8: irqs="
msg_ref:        .asciz " (READ SECTORS of 8: irqs="
msg_same:       .asciz ") same data ok\n"
msg_differ:     .asciz ") data DIFFERS\n"
msg_chs:        .asciz "CHS 0/0/2 read (= LBA 1"
msg_srst:       .asciz "after SRST: status="
msg_sig:        .asciz " count/lba low/mid/high="
msg_err:        .asciz "error="

        .section .data
block_words:    .long 256

        .section .bss
        .p2align 4
ref:            .space NSECT * 512
multi:          .space NSECT * 512
chs:            .space 512
irq14:          .long 0
irq_ref:        .long 0
irq_before:     .long 0
last_status:    .byte 0
st_setmult:     .byte 0
