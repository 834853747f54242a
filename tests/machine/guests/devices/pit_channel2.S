/* Guest: 8254 channel 2 as a calibration timer, driven the way PC kernels do it: gate through port 0x61
   bit 0, mode 0, OUT2 polled in port 0x61 bit 5; the read-back status of channel 2 (NULL COUNT masked). */
#include "pc.h"

#define PIT_CH2  0x42
#define PORT61   0x61

main:
        inb $PORT61, %al                    /* gate on, speaker off */
        andb $0xFC, %al
        orb $0x01, %al
        outb %al, $PORT61
        movb $0xB0, %al                     /* channel 2, lobyte/hibyte, mode 0, binary */
        outb %al, $PIT_CMD
        movb $60000 & 0xFF, %al             /* 50 ms: long enough that a slow host still sees it count */
        outb %al, $PIT_CH2
        movb $60000 >> 8, %al
        outb %al, $PIT_CH2
        inb $PORT61, %al
        andb $0x23, %al                     /* gate, speaker, OUT2 (bit 4, refresh, toggles on its own) */
        movb %al, p61_counting
        movb $1193 & 0xFF, %al              /* a new count restarts mode 0: about 1 ms */
        outb %al, $PIT_CH2
        movb $1193 >> 8, %al
        outb %al, $PIT_CH2
        movl $10000000, %ecx
1:      inb $PORT61, %al
        testb $0x20, %al
        jnz 2f
        loop 1b
2:      andb $0x23, %al
        movb %al, p61_done
        movb $0xE8, %al                     /* read-back: status of channel 2 only */
        outb %al, $PIT_CMD
        inb $PIT_CH2, %al
        andb $0xBF, %al
        movb %al, status2
        inb $PORT61, %al                    /* gate off */
        andb $0xFE, %al
        outb %al, $PORT61
        inb $PORT61, %al
        andb $0x23, %al
        movb %al, p61_gate_off
        movl $msg_counting, %esi
        call puts
        movb p61_counting, %al
        call put_hex8
        movl $msg_done, %esi
        call puts
        movb p61_done, %al
        call put_hex8
        movl $msg_status, %esi
        call puts
        movb status2, %al
        call put_hex8
        movl $msg_gate_off, %esi
        call puts
        movb p61_gate_off, %al
        call put_hex8
        movb $'\n', %al
        call putc
        EXIT(0)

        .section .rodata
msg_counting:   .asciz "port 0x61 while counting="
msg_done:       .asciz "\nport 0x61 after terminal count="
msg_status:     .asciz "\nchannel 2 read-back status="
msg_gate_off:   .asciz "\nport 0x61 with the gate off="

        .section .bss
p61_counting:   .byte 0
p61_done:       .byte 0
status2:        .byte 0
p61_gate_off:   .byte 0
