/* Guest: 8254 channel 0 at 1 kHz (mode 2, then mode 3) through the remapped 8259A, IRQ 0 counted with
   `sti; hlt`, non-specific EOI; OCW3 reads of IRR/ISR inside the handler; a counter latch read. */
#include "pc.h"

#define TICKS   10
#define DIVISOR 1193                        /* 1193182 Hz / 1193 = 1000.15 Hz */

main:
        movl $IRQ_BASE + 0, %ecx
        movl $timer_isr, %eax
        call set_gate
        movw $0xFFFE, %ax                   /* unmask IRQ 0 only */
        call pic_remap
        movb $0x34, %al                     /* channel 0, lobyte/hibyte, mode 2, binary */
        call pit_program
        call count_ticks
        movl $msg_mode2, %esi
        call report
        movb $0x36, %al                     /* channel 0, lobyte/hibyte, mode 3, binary */
        call pit_program
        call count_ticks
        movl $msg_mode3, %esi
        call report
        movl $msg_isr, %esi                 /* ISR as read by OCW3 inside the first handler call */
        call puts
        movb isr_seen, %al
        call put_hex8
        movb $'\n', %al
        call putc
        movb $0x00, %al                     /* counter latch command, channel 0 */
        outb %al, $PIT_CMD
        inb $PIT_CH0, %al
        movb %al, %cl
        inb $PIT_CH0, %al
        movb %al, %ch
        movl $msg_latch, %esi
        cmpw $DIVISOR, %cx
        jbe 1f
        movl $msg_latch_bad, %esi
1:      call puts
        EXIT(0)

/* pit_program: %al = mode byte for port 0x43, then the divisor, low byte first. */
pit_program:
        outb %al, $PIT_CMD
        movb $DIVISOR & 0xFF, %al
        outb %al, $PIT_CH0
        movb $DIVISOR >> 8, %al
        outb %al, $PIT_CH0
        ret

/* count_ticks: zero the counters, then sleep with `sti; hlt` until TICKS IRQ 0s arrived. */
count_ticks:
        movl $0, ticks
        movl $0, wakeups
2:      cli
        cmpl $TICKS, ticks
        jae 3f
        incl wakeups
        sti
        hlt
        jmp 2b
3:      ret

/* report: "<%esi>ticks>=10, at least one per wakeup ok\n" -- the exact counts are left to the run's stats:
   on a model whose timer runs in real time a late vCPU may see two ticks in one wakeup. */
report:
        call puts
        movl $msg_ok, %esi
        cmpl $TICKS, ticks
        jb 4f
        movl wakeups, %eax
        cmpl ticks, %eax
        ja 4f
        testl %eax, %eax
        jnz 5f
4:      movl $msg_bad, %esi
5:      call puts
        ret

timer_isr:
        pushl %eax
        cmpb $0, isr_seen
        jne 5f
        movb $0x0B, %al                     /* OCW3: read ISR on the next read of port 0x20 */
        outb %al, $PIC1_CMD
        inb $PIC1_CMD, %al
        movb %al, isr_seen
        movb $0x0A, %al                     /* OCW3: back to IRR reads */
        outb %al, $PIC1_CMD
5:      incl ticks
        movb $PIC_EOI, %al
        outb %al, $PIC1_CMD
        popl %eax
        iret

        .section .rodata
msg_mode2:      .asciz "pit mode 2: "
msg_mode3:      .asciz "pit mode 3: "
msg_ok:         .asciz "ticks>=10 with hlt, at least one per wakeup ok\n"
msg_bad:        .asciz "tick count WRONG\n"
msg_isr:        .asciz "ISR in handler="
msg_latch:      .asciz "latched count <= 1193 ok\n"
msg_latch_bad:  .asciz "latched count out of range\n"

        .section .data
ticks:          .long 0
wakeups:        .long 0
isr_seen:       .byte 0
