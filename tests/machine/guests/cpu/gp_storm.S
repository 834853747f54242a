/* 1000 consecutive #GP faults from ring 3 (cli at CPL 3 in a loop): the handler counts them and skips the
   instruction; the 1000th exits through the exit port. */
#include "guestkit.h"
#include "kit.h"
#define FAULTS 1000
    .text
    .globl _start
_start:
    kit_init
    set_gate 13, gp_handler, INT_GATE
    to_ring3 user
user:
1:  cli
    jmp 1b

gp_handler:
    incl faults
    cmpl $FAULTS, faults
    je 1f
    addl $1, 4(%esp)             /* skip the 1-byte cli */
    addl $4, %esp                /* drop the error code */
    iret
1:  puts "faults="
    puthex faults
    puts "\n"
    exit 0
    .section .bss
faults:
    .long 0
