/* Exceptions without a privilege change: ud2 (#UD) and div by zero (#DE) at ring 0, each handler prints the
   faulting EIP from its frame and resumes after the instruction; a trap gate keeps IF. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 6, ud_handler, INT_GATE
    set_gate 0, de_handler, TRAP_GATE
    sti                          /* IF=1 in the frames below: the #UD interrupt gate clears it, the #DE trap gate keeps it */
    .globl ud_site
ud_site:
    ud2
    puts "after-ud "
    xorl %ecx, %ecx
    movl $7, %eax
    .globl de_site
de_site:
    divl %ecx
    puts "after-de\n"
    exit 0

ud_handler:                      /* frame: eip, cs, eflags (no error code) */
    puts "UD eip="
    puthex (%esp)
    puts " cs="
    puthex 4(%esp)
    puts " fl="
    puthex 8(%esp)
    pushfl
    puts " hfl="
    puthex (%esp)
    popl %eax
    puts "\n"
    addl $2, (%esp)
    iret

de_handler:
    puts "DE eip="
    puthex (%esp)
    pushfl
    puts " hfl="
    puthex (%esp)
    popl %eax
    puts "\n"
    addl $2, (%esp)
    iret
