/* Delivery into ring 1 (as a hypervisor's deprivileged kernel would get it): int $0x80 from ring 3 through a
   DPL-3 gate whose handler segment is a DPL-1 code segment switches to the TSS's ss1:esp1; with IOPL 1 the ring-1
   handler prints its CS, SS, ESP and the frame's CS, then returns; ring 3 then ends through a ring-0 gate. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    movl $r1stack_top, tss + TSS_ESP1
    movl $R1DATA, tss + TSS_SS1
    set_gate 0x80, ring1_handler, INT_GATE_DPL3
    movw $(R1CODE & ~3), idt + 0x80 * 8 + 2         /* the handler runs in the ring-1 code segment */
    set_gate 0x81, done_handler, INT_GATE_DPL3
    pushfl
    orl $0x1000, (%esp)          /* IOPL 1: ring 1 may use the serial port */
    popfl
    to_ring3 user
user:
    int $0x80
    int $0x81

ring1_handler:
    movl %esp, %ebp
    puts "r1 cs="
    movl %cs, %eax
    puthex %eax
    puts " ss="
    movl %ss, %eax
    puthex %eax
    puts " esp="
    puthex %ebp
    puts " fcs="
    puthex 4(%ebp)
    puts " fss="
    puthex 16(%ebp)
    puts "\n"
    iret

done_handler:
    exit 0
    .section .bss
    .align 16
    .space 4096
r1stack_top:
