/* Guest: MC146818 interrupts on IRQ 8 through the cascade: two update-ended interrupts (UIE) one second
   apart, then an alarm (AIE) two seconds ahead with hours/minutes "don't care"; status C read in the
   handler (PF masked off: the periodic flag's behaviour with PIE=0 differs between implementations). */
#include "pc.h"

#define REG_B   0x0B
#define REG_C   0x0C
#define C_MASK  0xB0                        /* IRQF | AF | UF */

main:
        movl $IRQ_BASE + 8, %ecx
        movl $rtc_isr, %eax
        call set_gate
        movw $0xFEFB, %ax                   /* master: cascade; slave: IRQ 8 */
        call pic_remap
        movb $REG_B, %al                    /* UIE, binary, 24-hour */
        movb $0x16, %ah
        call cmos_write
        call wait_rtc_irq
        movb $0x00, %al
        call cmos_read
        movb %al, sec1
        movb last_c, %al
        movb %al, c1
        call wait_rtc_irq
        movb $0x00, %al
        call cmos_read
        movb %al, sec2
        movb last_c, %al
        movb %al, c2
        movb $0x01, %al                     /* alarm: seconds = now + 2, minutes and hours don't care */
        movb sec2, %ah
        addb $2, %ah
        cmpb $60, %ah
        jb 1f
        subb $60, %ah
1:      movb %ah, alarm
        call cmos_write
        movb $0x03, %al
        movb $0xC0, %ah
        call cmos_write
        movb $0x05, %al
        movb $0xC0, %ah
        call cmos_write
        movb $REG_B, %al                    /* AIE only */
        movb $0x26, %ah
        call cmos_write
        call wait_rtc_irq
        movb $0x00, %al
        call cmos_read
        movb %al, sec3
        movb $REG_B, %al                    /* interrupts off */
        movb $0x06, %ah
        call cmos_write
        movl $msg_uie, %esi
        call puts
        movb c1, %al
        call put_hex8
        movb $' ', %al
        call putc
        movb c2, %al
        call put_hex8
        movl $msg_step, %esi
        call puts
        movzbl sec2, %eax
        movzbl sec1, %ecx
        subl %ecx, %eax
        addl $60, %eax
        movl $60, %ecx
        xorl %edx, %edx
        divl %ecx
        movl %edx, %eax
        call put_dec
        movl $msg_alarm, %esi
        call puts
        movb last_c, %al
        call put_hex8
        movl $msg_at_alarm, %esi
        movb sec3, %al
        cmpb alarm, %al
        je 2f
        movl $msg_not_alarm, %esi
2:      call puts
        EXIT(0)

/* wait_rtc_irq: clear status C, then sleep until the next IRQ 8. */
wait_rtc_irq:
        movb $REG_C, %al
        call cmos_read
        movl rtc_irqs, %ebx
3:      cli
        cmpl %ebx, rtc_irqs
        ja 4f
        sti
        hlt
        jmp 3b
4:      ret

cmos_write:
        outb %al, $CMOS_ADDR
        movb %ah, %al
        outb %al, $CMOS_DATA
        ret

cmos_read:
        outb %al, $CMOS_ADDR
        inb $CMOS_DATA, %al
        ret

rtc_isr:
        pushl %eax
        movb $REG_C, %al
        call cmos_read
        andb $C_MASK, %al
        movb %al, last_c
        incl rtc_irqs
        movb $PIC_EOI, %al
        outb %al, $PIC2_CMD
        outb %al, $PIC1_CMD
        popl %eax
        iret

        .section .rodata
msg_uie:        .asciz "update-ended interrupts: status C="
msg_step:       .asciz ", seconds advanced by "
msg_alarm:      .asciz "\nalarm interrupt: status C="
msg_at_alarm:   .asciz ", seconds == alarm ok\n"
msg_not_alarm:  .asciz ", seconds != alarm\n"

        .section .bss
rtc_irqs:       .long 0
last_c:         .byte 0
c1:             .byte 0
c2:             .byte 0
sec1:           .byte 0
sec2:           .byte 0
sec3:           .byte 0
alarm:          .byte 0
