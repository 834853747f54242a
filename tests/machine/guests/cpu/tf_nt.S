/* EFLAGS on delivery: TF and NT are cleared for the handler and kept in the pushed image; single-step traps
   (#DB) follow TF, one after each instruction, with the frame pointing at the next instruction. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 1, db_handler, TRAP_GATE
    set_gate 0x80, sw_handler, TRAP_GATE
    pushfl
    orl $0x4000, (%esp)          /* NT */
    popfl
    int $0x80
    pushfl
    popl %ebx
    puts "after-int fl="
    puthex %ebx
    puts "\n"
    pushfl
    andl $~0x4000, (%esp)
    popfl
    pushfl
    orl $0x100, (%esp)           /* TF: the first trap comes after the instruction that follows this popf */
    popfl
    .globl step1
step1:
    nop
    .globl step2
step2:
    incl %ecx
    .globl step3
step3:
    pushfl
    andl $~0x100, (%esp)
    popfl
    .globl step_end
step_end:
    puts "steps="
    puthex steps
    puts "\n"
    exit 0

sw_handler:
    pushfl
    popl %ebx
    puts "int fl="
    puthex 8(%esp)
    puts " hfl="
    puthex %ebx
    puts "\n"
    iret

db_handler:
    incl steps
    pushfl
    popl %ebx
    puts "db eip="
    puthex (%esp)
    puts " fl="
    puthex 8(%esp)
    puts " hfl="
    puthex %ebx
    puts "\n"
    iret
    .section .bss
steps:
    .long 0
