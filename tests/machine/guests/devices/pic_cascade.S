/* Guest: 8259A details: a masked IRQ 0 still latches in IRR (OCW3 read); after unmasking it is taken at
   once; specific EOI (OCW2 0x60) clears ISR bit 0; IRQ 8 (RTC periodic interrupt, status B PIE) through the
   cascade on IRQ 2 with master ISR=04 / slave ISR=01 in service, acknowledged by reading status C. */
#include "pc.h"

#define RTC_IRQS 5

main:
        movl $IRQ_BASE + 0, %ecx
        movl $timer_isr, %eax
        call set_gate
        movl $IRQ_BASE + 8, %ecx
        movl $rtc_isr, %eax
        call set_gate
        movw $0xFFFF, %ax                   /* everything masked */
        call pic_remap
        movb $0x34, %al                     /* PIT channel 0, mode 2, 1 kHz */
        outb %al, $PIT_CMD
        movb $1193 & 0xFF, %al
        outb %al, $PIT_CH0
        movb $1193 >> 8, %al
        outb %al, $PIT_CH0
        movb $0x0A, %al                     /* OCW3: reads of port 0x20 return IRR */
        outb %al, $PIC1_CMD
        movl $1000000, %ecx
1:      inb $PIC1_CMD, %al
        testb $0x01, %al
        jnz 2f
        loop 1b
2:      movb %al, %bl
        movb $0x30, %al                     /* PIT to mode 0, count 0: no further edge for 55 ms, so */
        outb %al, $PIT_CMD                  /* exactly the latched request waits */
        xorb %al, %al
        outb %al, $PIT_CH0
        outb %al, $PIT_CH0
        movb %bl, %al
        andb $0x01, %al
        movl $msg_irr, %esi
        call puts
        call put_hex8
        movb $'\n', %al
        call putc
        movb $0xFE, %al                     /* OCW1: unmask IRQ 0; the latched request is taken at once */
        outb %al, $PIC1_DATA
        sti
        nop
        cli
        movb $0xFF, %al
        outb %al, $PIC1_DATA
        movl $msg_taken, %esi
        call puts
        movl timer_irqs, %eax
        call put_dec
        movl $msg_eoi, %esi
        call puts
        movb isr_before, %al
        call put_hex8
        movb $' ', %al
        call putc
        movb isr_after, %al
        call put_hex8
        movb $'\n', %al
        call putc
        call rtc_periodic
        EXIT(0)

/* rtc_periodic: PIE at 1024 Hz (status A rate 6), RTC_IRQS interrupts through the cascade, then PIE off. */
rtc_periodic:
        movb $0x0A, %al
        outb %al, $CMOS_ADDR
        movb $0x26, %al
        outb %al, $CMOS_DATA
        movb $0x0B, %al
        outb %al, $CMOS_ADDR
        inb $CMOS_DATA, %al
        orb $0x40, %al
        movb %al, %ah
        movb $0x0B, %al
        outb %al, $CMOS_ADDR
        movb %ah, %al
        outb %al, $CMOS_DATA
        movb $0x0C, %al                     /* clear stale flags */
        outb %al, $CMOS_ADDR
        inb $CMOS_DATA, %al
        movb $0xFB, %al                     /* master: only the cascade; slave: only IRQ 8 */
        outb %al, $PIC1_DATA
        movb $0xFE, %al
        outb %al, $PIC2_DATA
3:      cli
        cmpl $RTC_IRQS, rtc_irqs
        jae 4f
        sti
        hlt
        jmp 3b
4:      movb $0xFF, %al
        outb %al, $PIC2_DATA
        movb $0x0B, %al                     /* PIE off */
        outb %al, $CMOS_ADDR
        inb $CMOS_DATA, %al
        andb $~0x40, %al
        movb %al, %ah
        movb $0x0B, %al
        outb %al, $CMOS_ADDR
        movb %ah, %al
        outb %al, $CMOS_DATA
        movl $msg_rtc, %esi
        call puts
        movl rtc_irqs, %eax
        call put_dec
        movl $msg_regc, %esi
        call puts
        movb reg_c, %al
        andb $0xC0, %al                     /* IRQF and PF; UF depends on where the second boundary falls */
        call put_hex8
        movl $msg_in_service, %esi
        call puts
        movb master_isr, %al
        call put_hex8
        movb $'/', %al
        call putc
        movb slave_isr, %al
        call put_hex8
        movb $'\n', %al
        call putc
        ret

timer_isr:
        pushl %eax
        movb $0x0B, %al                     /* OCW3: read ISR */
        outb %al, $PIC1_CMD
        inb $PIC1_CMD, %al
        movb %al, isr_before
        movb $0x60, %al                     /* OCW2: specific EOI for level 0 */
        outb %al, $PIC1_CMD
        inb $PIC1_CMD, %al
        movb %al, isr_after
        movb $0x0A, %al                     /* OCW3: back to IRR */
        outb %al, $PIC1_CMD
        incl timer_irqs
        popl %eax
        iret

rtc_isr:
        pushl %eax
        cmpl $0, rtc_irqs
        jne 5f
        movb $0x0B, %al                     /* first time: both ISRs */
        outb %al, $PIC1_CMD
        outb %al, $PIC2_CMD
        inb $PIC1_CMD, %al
        movb %al, master_isr
        inb $PIC2_CMD, %al
        movb %al, slave_isr
        movb $0x0A, %al
        outb %al, $PIC1_CMD
        outb %al, $PIC2_CMD
5:      movb $0x0C, %al                     /* reading status C acknowledges the RTC interrupt */
        outb %al, $CMOS_ADDR
        inb $CMOS_DATA, %al
        orb %al, reg_c
        incl rtc_irqs
        movb $PIC_EOI, %al
        outb %al, $PIC2_CMD
        outb %al, $PIC1_CMD
        popl %eax
        iret

        .section .rodata
msg_irr:        .asciz "masked IRQ 0 latched, IRR bit 0="
msg_taken:      .asciz "unmasked: IRQ 0 taken "
msg_eoi:        .asciz " time(s); ISR before/after specific EOI="
msg_rtc:        .asciz "rtc periodic: irq8="
msg_regc:       .asciz " status C&0xC0="
msg_in_service: .asciz " in service master/slave="

        .section .data
timer_irqs:     .long 0
rtc_irqs:       .long 0
isr_before:     .byte 0
isr_after:      .byte 0
master_isr:     .byte 0
slave_isr:      .byte 0
reg_c:          .byte 0
