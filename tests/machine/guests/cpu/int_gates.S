/* Software interrupts from ring 3: int $0x80 through a DPL-3 gate reaches the handler (a system call that
   prints EAX), int $0x81 through a DPL-0 gate gives #GP with error code 0x81*8+2. */
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 0x80, syscall_handler, INT_GATE_DPL3
    set_gate 0x81, never_handler, INT_GATE
    set_gate 13, gp_handler, INT_GATE
    to_ring3 user
user:
    movl $0xCAFE0001, %eax
    .globl user_int80
user_int80:
    int $0x80
    movl $0xCAFE0002, %eax
    int $0x80
    .globl user_int81
user_int81:
    int $0x81
    movl $0xCAFE0003, %eax
    int $0x80
1:  jmp 1b

syscall_handler:
    movl %eax, %ebp
    puts "sys eax="
    puthex %ebp
    puts " ret="
    puthex (%esp)
    puts " cs="
    puthex 4(%esp)
    puts "\n"
    cmpl $0xCAFE0003, %ebp
    jne 1f
    exit 0
1:  iret

never_handler:
    puts "WRONG: reached the DPL-0 gate from ring 3\n"
    exit 1

gp_handler:
    puts "GP err="
    puthex (%esp)
    puts " eip="
    puthex 4(%esp)
    puts "\n"
    addl $4, %esp                /* drop the error code */
    addl $2, (%esp)              /* skip the 2-byte int $0x81 */
    iret
