/* An endless loop, for --max-instructions. */
#include "guestkit.h"
    .text
    .globl _start
_start:
    puts "spin\n"
1:  incl %eax
    jmp 1b
