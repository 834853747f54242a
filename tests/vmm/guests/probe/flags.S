/* EFLAGS as the guest sees it: pushf after cli and after sti, popf that tries to change IF, IOPL and every
   other flag, 16-bit pushf/popf; at ring 0, at ring 3 with IOPL 0 (IF and IOPL changes silently dropped)
   and at ring 3 with IOPL 3 (IF changes allowed, IOPL still not).  The PICs mask every line throughout. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

/* flags_now "label": print EFLAGS as it is now. */
.macro flags_now label
    pushfl
    popl %eax
    put "\label", %eax
.endm

/* popf_try "label", value: popf `value`, print EFLAGS after. */
.macro popf_try label, value
    pushl $\value
    popfl
    flags_now "\label"
.endm

    .text
    .globl _start
_start:
    probe_init
    xorl %eax, %eax
    cli
    flags_now "r0 pushf after cli"
    xorl %eax, %eax
    sti
    flags_now "r0 pushf after sti"
    cli
    popf_try "r0 popf if=1 from if=0", 0x202
    popf_try "r0 popf if=0 from if=1", 0x002
    popf_try "r0 popf iopl=3", 0x3002
    popf_try "r0 popf iopl=0", 0x0002
    popf_try "r0 popf arith+df", 0x0cd7
    popf_try "r0 popf all but tf", 0xfffffeff
    popf_try "r0 popf back to 2", 0x2
    pushl $0xffff0000
    pushw $0x3283                    /* 16-bit popf: IOPL 3, IF, SF, CF; the upper half of EFLAGS stays */
    popfw
    leal 4(%esp), %esp
    flags_now "r0 popfw"
    movl %esp, %ebx
    pushfw
    popw %ax
    subl %esp, %ebx
    movzwl %ax, %eax
    put "r0 pushfw", %eax
    put "r0 pushfw esp delta", %ebx
    popf_try "r0 popf back to 2", 0x2

    ring3 0x202
    xorl %eax, %eax
    flags_now "r3 iopl0 pushf (if=1)"
    popf_try "r3 iopl0 popf if=0", 0x002
    popf_try "r3 iopl0 popf iopl=3", 0x3202
    popf_try "r3 iopl0 popf arith+df", 0x0ed7
    popf_try "r3 iopl0 popf all but tf", 0xfffffeff
    popf_try "r3 iopl0 popf back to 202", 0x202
    pushl $0xffff0000
    pushw $0x3083                    /* 16-bit popf asking for IOPL 3 and IF=0 */
    popfw
    leal 4(%esp), %esp
    flags_now "r3 iopl0 popfw"
    ring0

    ring3 0x002
    xorl %eax, %eax
    flags_now "r3 iopl0 pushf (if=0)"
    popf_try "r3 iopl0 popf if=1", 0x202
    ring0

    ring3 0x3202
    xorl %eax, %eax
    flags_now "r3 iopl3 pushf"
    popf_try "r3 iopl3 popf if=0", 0x3002
    sti
    flags_now "r3 iopl3 sti"
    cli
    flags_now "r3 iopl3 cli"
    popf_try "r3 iopl3 popf if=1", 0x3202
    popf_try "r3 iopl3 popf iopl=0", 0x0202
    ring0
    flags_now "back at r0"
    exit 0
