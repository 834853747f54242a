/* A #GP from ring 3 (cli at CPL 3) delivered to ring 0 through the TSS: the handler prints the whole frame
   (error code, eip, cs, eflags, esp, ss) and its own esp, then exits. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 13, gp_handler, INT_GATE
    to_ring3 user
    .globl user
user:
    movl $0x12345678, %esp       /* an odd user esp the frame must show */
    .globl user_cli
user_cli:
    cli
    exit 1                       /* not reached: the exit port is not accessible at CPL 3 either */

gp_handler:
    movl %esp, %ebx
    puts "GP err="
    puthex (%ebx)
    puts " eip="
    puthex 4(%ebx)
    puts " cs="
    puthex 8(%ebx)
    puts " fl="
    puthex 12(%ebx)
    puts " esp="
    puthex 16(%ebx)
    puts " ss="
    puthex 20(%ebx)
    puts " hesp="
    puthex %ebx
    puts " hcs="
    movl %cs, %eax
    puthex %eax
    puts " hss="
    movl %ss, %eax
    puthex %eax
    puts "\n"
    exit 0
