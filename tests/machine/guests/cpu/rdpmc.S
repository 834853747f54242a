/* rdpmc without performance counters: #GP(0) at CPL 3 with CR4.PCE clear (the SDM, QEMU 7.2); #GP(0) as well at
   CPL 0 and at CPL 3 with CR4.PCE set, where the SDM reads the counter ECX names and this CPU has none (QEMU 7.2
   raises #UD there); with a LOCK prefix #UD.  One line per case: vector, error code, EIP minus the site. */
#include "guestkit.h"
#include "kit.h"
#define CR4_PCE 0x100

/* attempt name, insn...: run insn with ECX = 0 and report the fault it raised. */
.macro attempt name, insn:vararg
    movl $1001f, resume
    movl $1002f, site
    movl $0xEE, vec
    xorl %ecx, %ecx
1002:
    \insn
1001:
    puts "\name: vec="
    puthex vec
    puts " err="
    puthex err
    puts " eip-site="
    puthex fault_eip
    puts "\n"
.endm

    .text
    .globl _start
_start:
    kit_init
    set_gate 6, ud_handler, INT_GATE
    set_gate 13, gp_handler, INT_GATE
    set_gate 0x80, back_handler, INT_GATE_DPL3
    attempt r0, rdpmc
    attempt r0-lock, .byte 0xF0, 0x0F, 0x33      /* lock rdpmc */
    pushfl                        /* IOPL 3: ring 3 prints for itself */
    orl $0x3000, (%esp)
    popfl
    to_ring3 user
user:
    attempt r3-pce0, rdpmc
    int $0x80
user_pce:
    attempt r3-pce1, rdpmc
    int $0x80

back_handler:                     /* first visit: set CR4.PCE and return to user_pce; then exit */
    cmpl $0, visits
    jne 1f
    incl visits
    movl %cr4, %eax
    orl $CR4_PCE, %eax
    movl %eax, %cr4
    movl $user_pce, (%esp)
    iret
1:  exit 0

ud_handler:
    movl $0, err
    movl $6, vec
    jmp resume_after

gp_handler:
    popl err
    movl $13, vec
resume_after:
    pushl %eax
    movl 4(%esp), %eax
    subl site, %eax
    movl %eax, fault_eip
    movl resume, %eax
    movl %eax, 4(%esp)
    popl %eax
    iret

    .section .bss
    .align 4
resume:
    .long 0
site:
    .long 0
vec:
    .long 0
err:
    .long 0
fault_eip:
    .long 0
visits:
    .long 0
