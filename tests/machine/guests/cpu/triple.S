/* No usable IDT (the zeroed real-mode IVT of entry): ud2 → #GP (not a gate) → #DF → triple fault. */
#include "guestkit.h"
    .text
    .globl _start
_start:
    puts "before\n"
    movl $0x1234abcd, %esi
    ud2
    exit 1
