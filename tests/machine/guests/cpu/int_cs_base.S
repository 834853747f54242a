/* A software interrupt whose delivery faults points the fault at the int instruction, found through the base CS was
   loaded with: here the ring-3 code descriptor in the GDT is given another base after CS was loaded from it (the
   processor keeps using the loaded one), then int3 and int $0x41 go through not-present DPL-3 gates: #NP(vector*8+2)
   at the int each time.  One line per case: error code, EIP minus the site, CS. */
#include "guestkit.h"
#include "kit.h"
#define UCODE_BASE_HI (gdt + 0x18 + 7)       /* bits 31-24 of the ring-3 code segment's base */

/* attempt name, insn...: with the ring-3 code descriptor's base changed to 0x40000000, run insn (a software
   interrupt); the #NP handler puts the base back and resumes after it. */
.macro attempt name, insn:vararg
    movl $1001f, resume
    movl $1002f, site
    movb $0x40, UCODE_BASE_HI
1002:
    \insn
1001:
    puts "\name: err="
    puthex err
    puts " eip-site="
    puthex fault_eip
    puts " cs="
    puthex fault_cs
    puts "\n"
.endm

    .text
    .globl _start
_start:
    kit_init
    set_gate 3, never, INT_GATE_DPL3
    andb $0x7F, idt + 3 * 8 + 5          /* not present */
    set_gate 0x41, never, INT_GATE_DPL3
    andb $0x7F, idt + 0x41 * 8 + 5       /* not present */
    set_gate 11, np_handler, INT_GATE
    set_gate 0x80, done_handler, INT_GATE_DPL3
    pushfl                               /* IOPL 3: ring 3 prints for itself */
    orl $0x3000, (%esp)
    popfl
    to_ring3 user
user:
    attempt int3, int3
    attempt int41, int $0x41
    int $0x80

np_handler:
    movb $0, UCODE_BASE_HI               /* before iret loads CS from the descriptor again */
    popl err
    pushl %eax
    movl 4(%esp), %eax
    subl site, %eax
    movl %eax, fault_eip
    movl 8(%esp), %eax
    movl %eax, fault_cs
    movl resume, %eax
    movl %eax, 4(%esp)
    popl %eax
    iret

done_handler:
    exit 0

never:
    puts "WRONG\n"
    exit 1

    .section .bss
    .align 4
resume:
    .long 0
site:
    .long 0
err:
    .long 0
fault_eip:
    .long 0
fault_cs:
    .long 0
