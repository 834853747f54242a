/* Guest: exit port values. The Multiboot command line carries "exit=HH" (hex, anywhere in it; loaders
   may prepend the image path); the guest prints the value and writes it to port 0xF4. */
#include "pc.h"

main:
        movl mb_info, %ebx
        testl $0x04, (%ebx)                 /* flags bit 2: cmdline valid */
        jz no_arg
        movl 16(%ebx), %esi
1:      cmpb $0, (%esi)
        je no_arg
        cmpl $0x74697865, (%esi)            /* "exit" */
        jne 2f
        cmpb $'=', 4(%esi)
        je 3f
2:      incl %esi
        jmp 1b
3:      addl $5, %esi
        xorl %ebx, %ebx
4:      movzbl (%esi), %eax                 /* hex digits until anything else */
        subb $'0', %al
        cmpb $9, %al
        jbe 5f
        movzbl (%esi), %eax
        orb $0x20, %al
        subb $'a', %al
        cmpb $5, %al
        ja 6f
        addb $10, %al
5:      shll $4, %ebx
        orl %eax, %ebx
        incl %esi
        jmp 4b
6:      movl $msg_exit, %esi
        call puts
        movb %bl, %al
        call put_hex8
        movb $'\n', %al
        call putc
        movb %bl, %al
        outb %al, $EXIT_PORT
7:      cli
        hlt
        jmp 7b

no_arg:
        movl $msg_none, %esi
        call puts
        EXIT(0x7D)

        .section .rodata
msg_exit:       .asciz "exit with 0x"
msg_none:       .asciz "no exit= on the command line\n"
