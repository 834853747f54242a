/* Interrupt and exception frames as the guest's handlers see them, from ring 0 and from ring 3: vector, error
   code, EIP (relative to the instruction), CS, EFLAGS, the handler's own EFLAGS (interrupt gate: IF clear; the
   int $0x80 gate is a trap gate: IF kept), and for ring 3 the outer SS:ESP and where the frame sits on the
   TSS's ring-0 stack.  Software interrupts, int3/into/int1, #UD, #DE, #GP/#NP/#SS with selector error codes,
   gate DPL checks, and one external interrupt (PIT channel 0, one-shot) taken in hlt and in a ring-3 loop. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

#define NP_SEL 0x30                /* the kit's ring-1 code slot, rewritten below as a not-present DPL-0 data
                                      descriptor */
#define PIT_COUNT 0x2000           /* about 6.9 ms of PIT time: the only edge on IRQ 0 */

/* One IRQ-0 edge later: PIT channel 0 in mode 0 (one rising edge at the terminal count), both PICs
   re-initialised (nothing stale left in IRR) and IRQ 0 alone unmasked.  Run with IF=0. */
.macro arm_pit
    movb $0x30, %al
    outb %al, $0x43
    movb $PIT_COUNT & 0xff, %al
    outb %al, $0x40
    movb $PIT_COUNT >> 8, %al
    outb %al, $0x40
    call probe_pic_init
    movb $0xFE, %al
    outb %al, $0x21
.endm

.macro sw_probes r, code, data
    catch "\r int $0x80 (trap gate)", int $0x80
    catch "\r int3", int3
    movl $0x7fffffff, %eax
    addl $1, %eax                  /* OF=1 */
    catch "\r into", into
    /* int1 (icebp, f1): QEMU's TCG, and so the bare PC, raise #UD for it; a real processor raises #DB (a trap) */
    catch "\r int1", .byte 0xf1
    catch "\r int $0x81 (dpl 0 gate)", int $0x81
    catch "\r int $0x20 (dpl 0 gate)", int $0x20
    catch "\r ud2", ud2
    xorl %edx, %edx
    movl $1, %eax
    xorl %ecx, %ecx
    catch "\r div by 0", divl %ecx
    movw $0x48, %ax
    catch "\r mov ds beyond gdt limit", movw %ax, %ds
    movw $TSS_SEL, %ax
    catch "\r mov ds tss", movw %ax, %ds
    movw $KDATA, %ax
    catch "\r mov ds kdata", movw %ax, %ds
    movw $UDATA, %ax
    catch "\r mov ss udata", movw %ax, %ss
    movw $NP_SEL, %ax
    catch "\r mov ds not present", movw %ax, %ds
    catch "\r mov ss not present", movw %ax, %ss
    catch "\r lcall kcode", lcall $KCODE, $far_return
    catch "\r lcall kdata", lcall $KDATA, $far_resume
    catch "\r ljmp kcode", ljmp $KCODE, $far_resume
    catch "\r ljmp beyond gdt limit", ljmp $0x48, $far_resume
    movl %ds, %eax
    movl %ss, %ebx
    put "\r ds,ss after", %eax, %ebx
.endm

    .text
    .globl _start
_start:
    probe_init
    set_gate 0x80, probe_stub_128, 0xEF         /* DPL-3 trap gate */
    set_gate 0x81, probe_stub_129, INT_GATE     /* DPL-0 gates */
    set_gate 0x20, irq0_stub, INT_GATE
    set_gate 0x21, probe_stub_33, INT_GATE
    movl $0x0000ffff, gdt + NP_SEL
    movl $0x00cf1200, gdt + NP_SEL + 4

    sti                            /* every IRQ line is masked: IF=1 only to show what gates do with it */
    sw_probes r0, KCODE, KDATA
    cli
    arm_pit
    catch2 "r0 irq0 in sti;hlt", sti, hlt
    cli

    ring3 0x202
    sw_probes r3, UCODE, UDATA
    ring0
    cli
    arm_pit
    ring3 0x202
    catch "r3 irq0 in a loop", jmp .
    ring0
    say "done"
    exit 0

far_return:
    lret
far_resume:                        /* a far jump that did not fault goes on after its catch */
    jmp *probe_resume

    probe_stub 128
    probe_stub 129
    probe_stub 33
irq0_stub:                         /* mask IRQ 0 again, EOI, then print like an exception */
    pushl %eax
    movb $0xFF, %al
    outb %al, $0x21
    movb $0x20, %al
    outb %al, $0x20
    popl %eax
    pushl $0
    pushl $0x20
    jmp probe_fault
