/* Guest: setting the MC146818 clock: status B SET stops updates while the time registers are written,
   then the time reads back in BCD 24-hour, binary 24-hour and BCD 12-hour (bit 7 = PM) formats. */
#include "pc.h"

#define REG_B   0x0B

main:
        movb $REG_B, %al                    /* SET=1, 24-hour, BCD */
        movb $0x82, %ah
        call cmos_write
        movb $0x04, %al                     /* hours 13 */
        movb $0x13, %ah
        call cmos_write
        movb $0x02, %al                     /* minutes 37 */
        movb $0x37, %ah
        call cmos_write
        movb $0x00, %al                     /* seconds 05 */
        movb $0x05, %ah
        call cmos_write
        movb $0x07, %al                     /* 24th */
        movb $0x24, %ah
        call cmos_write
        movb $0x08, %al                     /* December */
        movb $0x12, %ah
        call cmos_write
        movb $0x09, %al                     /* (20)31 */
        movb $0x31, %ah
        call cmos_write
        movb $REG_B, %al                    /* SET=0: the clock runs from the new time */
        movb $0x02, %ah
        call cmos_write
        movl $msg_bcd24, %esi
        call show_time
        movb $REG_B, %al                    /* binary, 24-hour */
        movb $0x06, %ah
        call cmos_write
        movl $msg_bin24, %esi
        call show_time
        movb $REG_B, %al                    /* BCD, 12-hour */
        movb $0x00, %ah
        call cmos_write
        movl $msg_bcd12, %esi
        call show_time
        EXIT(0)

/* cmos_write: register %al = %ah. */
cmos_write:
        outb %al, $CMOS_ADDR
        movb %ah, %al
        outb %al, $CMOS_DATA
        ret

cmos_read:
        outb %al, $CMOS_ADDR
        inb $CMOS_DATA, %al
        ret

/* show_time: "<%esi>YY-MM-DD hh:mm" with each byte as read (hex), seconds left out (they run). */
show_time:
        call puts
        movl $order, %ebx
1:      movb (%ebx), %al
        cmpb $0xFF, %al
        je 2f
        call cmos_read
        call put_hex8
        movb 1(%ebx), %al
        testb %al, %al
        jz 3f
        call putc
3:      addl $2, %ebx
        jmp 1b
2:      movb $'\n', %al
        call putc
        ret

        .section .rodata
order:  .byte 0x09, '-', 0x08, '-', 0x07, ' ', 0x04, ':', 0x02, 0, 0xFF, 0
msg_bcd24:      .asciz "BCD 24h: "
msg_bin24:      .asciz "binary 24h: "
msg_bcd12:      .asciz "BCD 12h: "
