/* Guest: MC146818 CMOS/RTC through ports 0x70/0x71: status registers A/B/D, the memory size bytes,
   the century byte, and the time of day (after waiting for UIP=0), printed date, hh:mm and seconds. */
#include "pc.h"

main:
        movl $fields, %esi
1:      movl (%esi), %edi                   /* label */
        testl %edi, %edi
        jz 2f
        xchgl %esi, %edi
        call puts
        xchgl %esi, %edi
        movb 4(%esi), %al
        call cmos_read
        andb 5(%esi), %al                   /* mask off bits that change with time */
        call put_hex8
        movb $'\n', %al
        call putc
        addl $8, %esi
        jmp 1b
2:      call wait_uip
        movl $msg_date, %esi
        call puts
        movb $0x32, %al                     /* century */
        call put_reg
        movb $0x09, %al                     /* year */
        call put_reg
        movb $'-', %al
        call putc
        movb $0x08, %al                     /* month */
        call put_reg
        movb $'-', %al
        call putc
        movb $0x07, %al                     /* day of month */
        call put_reg
        movl $msg_hm, %esi
        call puts
        movb $0x04, %al                     /* hours */
        call put_reg
        movb $':', %al
        call putc
        movb $0x02, %al                     /* minutes */
        call put_reg
        movl $msg_sec, %esi
        call puts
        movb $0x00, %al                     /* seconds */
        call put_reg
        movb $'\n', %al
        call putc
        EXIT(0)

/* cmos_read: %al = register index (NMI left enabled), returns %al = its value. */
cmos_read:
        outb %al, $CMOS_ADDR
        inb $CMOS_DATA, %al
        ret

/* put_reg: register %al printed as two hex digits (BCD shows as decimal). */
put_reg:
        call cmos_read
        call put_hex8
        ret

/* wait_uip: wait until status register A's update-in-progress bit is clear. */
wait_uip:
        movb $0x0A, %al
        call cmos_read
        testb $0x80, %al
        jnz wait_uip
        ret

        .section .rodata
        .p2align 2
/* (label, register, mask): mask 0x7F on status A hides UIP, which changes with time. */
fields:
        .long msg_a;      .byte 0x0A, 0x7F, 0, 0
        .long msg_b;      .byte 0x0B, 0xFF, 0, 0
        .long msg_d;      .byte 0x0D, 0xFF, 0, 0
        .long msg_base_l; .byte 0x15, 0xFF, 0, 0
        .long msg_base_h; .byte 0x16, 0xFF, 0, 0
        .long msg_ext_l;  .byte 0x17, 0xFF, 0, 0
        .long msg_ext_h;  .byte 0x18, 0xFF, 0, 0
        .long msg_ext2_l; .byte 0x30, 0xFF, 0, 0
        .long msg_ext2_h; .byte 0x31, 0xFF, 0, 0
        .long msg_hi_l;   .byte 0x34, 0xFF, 0, 0
        .long msg_hi_h;   .byte 0x35, 0xFF, 0, 0
        .long 0;          .byte 0, 0, 0, 0
msg_a:          .asciz "status A (no UIP)="
msg_b:          .asciz "status B="
msg_d:          .asciz "status D="
msg_base_l:     .asciz "base memory KiB lo="
msg_base_h:     .asciz "base memory KiB hi="
msg_ext_l:      .asciz "extended memory KiB lo="
msg_ext_h:      .asciz "extended memory KiB hi="
msg_ext2_l:     .asciz "extended memory KiB (0x30) lo="
msg_ext2_h:     .asciz "extended memory KiB (0x31) hi="
msg_hi_l:       .asciz "memory above 16 MiB in 64 KiB lo="
msg_hi_h:       .asciz "memory above 16 MiB in 64 KiB hi="
msg_date:       .asciz "rtc date: "
msg_hm:         .asciz "\nrtc hh:mm: "
msg_sec:        .asciz "\nrtc seconds: "
