/* String port I/O at CPL 3 with IOPL 0, against a TSS I/O bitmap that lets only COM1's ports 0x3F8-0x3FF through.
   A refused ins/outs raises #GP(0) at the instruction and changes nothing: no element stored at ES:EDI, EDI, ESI
   and ECX as they were, with or without rep, also through an ES whose base is not 0.  The bitmap lets a byte in
   from 0x3FF but not a word (port 0x400 is not let through); and a byte from 0x3FF does go in.
   One line per case: the #GP faults so far, the last one's error code and EIP, the registers and the buffer after
   it; the same on QEMU. */
#include "guestkit.h"
#include "kit.h"
#define SCRATCH 0x3FF
#define ES1000 0x3B               /* the ring-1 data slot (0x38), rewritten as ring-3 data with base 0x1000 */
#define IOMAP_BYTES (0x400 / 8 + 1)

/* attempt label, port, count, insn...: run insn with DX = port, ECX = count, ESI = EDI = buffer (as ES:EDI with
   ES1000) and EAX, the buffer set to known values; a #GP resumes after it. */
.macro attempt label, port, count, insn:vararg
    movl $1001f, resume
    movl $0xCCCCCCCC, buffer
    movl $0xCCCCCCCC, buffer + 4
    movl $0x11223344, %eax
    movw $\port, %dx
    movl $\count, %ecx
    movl $buffer, %esi
    movl $buffer, %edi
    movw %es, %bx
    cmpw $ES1000, %bx
    jne 1002f
    subl $0x1000, %edi
1002:
    .globl \label
\label:
    \insn
1001:
.endm

/* report name: one line; EDI and ESI as offsets from `buffer`, the faulting EIP as an offset from the resume point
   (minus the instruction's length), 0 without a fault. */
.macro report name
    pushl %eax
    pushl %ecx
    pushl %edi
    pushl %esi
    subl $buffer, (%esp)
    subl $buffer, 4(%esp)
    puts "\name faults="
    puthex faults
    puts " err="
    puthex last_err
    puts " eip-resume="
    puthex last_eip
    puts " eax="
    puthex 12(%esp)
    puts " ecx="
    puthex 8(%esp)
    puts " esi="
    puthex (%esp)
    puts " edi="
    puthex 4(%esp)
    puts " buf="
    puthex buffer
    puthex buffer + 4
    puts "\n"
    addl $8, %esp
    popl %ecx
    popl %eax
    movl $0, last_eip
    movl $0, last_err
.endm

    .text
    .globl _start
_start:
    kit_init
    set_gate 13, gp_handler, INT_GATE
    set_gate 0x80, done_handler, INT_GATE_DPL3
    /* the I/O bitmap: every port refused but 0x3F8-0x3FF; the TSS limit ends with the bitmap's closing byte */
    movl $iomap, %edi
    movl $IOMAP_BYTES, %ecx
    movb $0xFF, %al
    rep stosb
    movb $0, iomap + 0x3F8 / 8
    movw $(iomap - tss), tss + 102
    movw $(iomap - tss + IOMAP_BYTES - 1), tss_desc
    andb $0xFD, tss_desc + 5          /* busy -> available, so that ltr loads the longer limit */
    movw $TSS_SEL, %ax
    ltr %ax
    movl $0x1000FFFF, gdt + 0x38      /* base 0x1000, limit 4 GiB, DPL 3 read/write data */
    movl $0x00CFF200, gdt + 0x3C
    movw $SCRATCH, %dx
    movb $0x5A, %al
    outb %al, %dx
    to_ring3 user

user:
    attempt site_insb_3ff, SCRATCH, 0, insb
    report insb-3ff
    attempt site_insb_21, 0x21, 0, insb
    report insb-21
    attempt site_rep_insw_3ff, SCRATCH, 3, rep insw
    report rep-insw-3ff
    attempt site_rep_insl_21, 0x21, 2, rep insl
    report rep-insl-21
    attempt site_outsb_80, 0x80, 0, outsb
    report outsb-80
    attempt site_rep_outsb_80, 0x80, 4, rep outsb
    report rep-outsb-80
    movw $ES1000, %ax
    movw %ax, %es
    attempt site_rep_insw_es, 0x21, 2, rep insw
    addl $0x1000, %edi
    report rep-insw-21-es1000
    attempt site_rep_insb_es_3ff, SCRATCH, 2, rep insb
    addl $0x1000, %edi
    report rep-insb-3ff-es1000
    movw $UDATA, %ax
    movw %ax, %es
    int $0x80

gp_handler:
    incl faults
    popl last_err
    pushl %eax
    movl 4(%esp), %eax
    movl %eax, last_eip
    movl resume, %eax
    subl %eax, last_eip
    movl %eax, 4(%esp)
    popl %eax
    iret

done_handler:
    exit 0

    .section .bss
    .align 4
resume:
    .long 0
faults:
    .long 0
last_err:
    .long 0
last_eip:
    .long 0
buffer:
    .space 8
iomap:
    .space IOMAP_BYTES
