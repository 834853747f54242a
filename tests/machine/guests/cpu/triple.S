/* No usable IDT (limit 0, as at entry): ud2 → #GP (vector beyond the IDT limit) → #DF → triple fault. */
#include "guestkit.h"
    .text
    .globl _start
_start:
    puts "before\n"
    movl $0x1234abcd, %esi
    ud2
    exit 1
