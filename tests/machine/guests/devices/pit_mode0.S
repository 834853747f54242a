/* Guest: 8254 channel 0 in mode 0 (interrupt on terminal count): one IRQ 0 per count, OUT high after it;
   the read-back status byte before terminal count (a 50 ms count, so a slow host cannot pass it) and
   after it, in lobyte/hibyte and in lobyte-only access (NULL COUNT masked off: it depends on the clock
   edge); a latched count read as two bytes. */
#include "pc.h"

main:
        movl $IRQ_BASE + 0, %ecx
        movl $timer_isr, %eax
        call set_gate
        movw $0xFFFE, %ax
        call pic_remap
        movb $0x30, %al                     /* channel 0, lobyte/hibyte, mode 0, binary */
        outb %al, $PIT_CMD
        movb $60000 & 0xFF, %al             /* 50 ms */
        outb %al, $PIT_CH0
        movb $60000 >> 8, %al
        outb %al, $PIT_CH0
        call read_status
        movb %al, status_before
        movl $1, %ebx
        call wait_ticks
        call read_status
        movb %al, status_after
        movb $0x10, %al                     /* channel 0, lobyte only, mode 0 */
        outb %al, $PIT_CMD
        movb $200, %al                      /* 168 us */
        outb %al, $PIT_CH0
        movl $2, %ebx
        call wait_ticks
        call read_status
        movb %al, status_lobyte
        movl $msg_status, %esi
        call puts
        movb status_before, %al
        call put_hex8
        movl $msg_after, %esi
        call puts
        movb status_after, %al
        call put_hex8
        movl $msg_lobyte, %esi
        call puts
        movb status_lobyte, %al
        call put_hex8
        movb $'\n', %al
        call putc
        movb $0x30, %al                     /* mode 0 again, lobyte/hibyte, count 0x1234 */
        outb %al, $PIT_CMD
        movb $0x34, %al
        outb %al, $PIT_CH0
        movb $0x12, %al
        outb %al, $PIT_CH0
        movb $0x00, %al                     /* counter latch: the two reads give one snapshot */
        outb %al, $PIT_CMD
        inb $PIT_CH0, %al
        movb %al, %cl
        inb $PIT_CH0, %al
        movb %al, %ch
        movl $msg_latch, %esi
        cmpw $0x1234, %cx
        jbe 3f
        movl $msg_latch_bad, %esi
3:      call puts
        movb $0xFF, %al                     /* mask IRQ 0: the second count's terminal count stays silent */
        outb %al, $PIC1_DATA
        movl $msg_ticks, %esi
        call puts
        movl ticks, %eax
        call put_dec
        movb $'\n', %al
        call putc
        EXIT(0)

/* read_status: read-back command for channel 0's status; %al = status without NULL COUNT. */
read_status:
        movb $0xE2, %al
        outb %al, $PIT_CMD
        inb $PIT_CH0, %al
        andb $0xBF, %al
        ret

/* wait_ticks: sleep until `ticks` reaches %ebx. */
wait_ticks:
1:      cli
        cmpl %ebx, ticks
        jae 2f
        sti
        hlt
        jmp 1b
2:      ret

timer_isr:
        pushl %eax
        incl ticks
        movb $PIC_EOI, %al
        outb %al, $PIC1_CMD
        popl %eax
        iret

        .section .rodata
msg_status:     .asciz "mode 0 read-back status (no NULL COUNT): before TC="
msg_after:      .asciz " after TC="
msg_lobyte:     .asciz " lobyte-only after TC="
msg_latch:      .asciz "latched lobyte/hibyte count <= 0x1234 ok\n"
msg_latch_bad:  .asciz "latched count out of range\n"
msg_ticks:      .asciz "IRQ 0s in mode 0: "

        .section .data
ticks:          .long 0
status_before:  .byte 0
status_after:   .byte 0
status_lobyte:  .byte 0
