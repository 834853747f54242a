/* Not-present gates: int $0x40 through a not-present gate gives #NP(0x40*8+2) at the int; then, with the #GP gate
   not present, a bad segment load gives #GP(sel) whose delivery faults with #NP(13*8+2+EXT): contributory on
   contributory, so #DF(0) is delivered to its handler. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 0x40, never, INT_GATE
    andb $0x7F, idt + 0x40 * 8 + 5       /* not present */
    set_gate 11, np_handler, INT_GATE
    set_gate 8, df_handler, INT_GATE
    set_gate 13, never, INT_GATE
    andb $0x7F, idt + 13 * 8 + 5         /* not present */
    .globl int40_site
int40_site:
    int $0x40
    movw $0x0F08, %ax                    /* beyond the GDT limit: #GP(0x0f08) */
    .globl bad_load
bad_load:
    movw %ax, %ds
    exit 1

np_handler:
    puts "NP err="
    puthex (%esp)
    puts " eip="
    puthex 4(%esp)
    puts "\n"
    addl $4, %esp
    addl $2, (%esp)
    iret

df_handler:
    puts "DF err="
    puthex (%esp)
    puts " eip="
    puthex 4(%esp)
    puts "\n"
    exit 0

never:
    puts "WRONG\n"
    exit 1
