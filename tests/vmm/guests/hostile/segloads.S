/* Segment loads the privilege rules refuse: DPL-0 (and DPL-1) descriptors into every data segment register and
   SS at ring 3, by mov, pop, lds/lss, and far jumps/calls to ring-0 code; then the same rules one ring down, at
   ring 1 (the ring a deprivileged kernel really runs in: DPL-0 descriptors must still be refused there), and at
   ring 0 the ring-1 descriptors SS and far jumps may not take. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

#define R1CODE_SEL 0x31
#define R1DATA_SEL 0x39

/* loads r, sel: every way to load `sel` into a data segment register or SS; each line names the form. */
.macro loads r, sel
    movw $\sel, %ax
    catch "\r mov ds \sel", movw %ax, %ds
    catch "\r mov es \sel", movw %ax, %es
    catch "\r mov fs \sel", movw %ax, %fs
    catch "\r mov gs \sel", movw %ax, %gs
    catch "\r mov ss \sel", movw %ax, %ss
    pushl $\sel
    catch "\r pop ds \sel", popl %ds
    popl %eax
    movw $\sel, farptr + 4
    catch "\r lds \sel", ldsl farptr, %ebx
    catch "\r lss \sel", lssl farptr, %ebx
.endm

.macro far_to r, sel
    catch "\r ljmp \sel", ljmp $\sel, $far_resume
    catch "\r lcall \sel", lcall $\sel, $far_resume
.endm

/* segs r: the segment registers as they are now (the refused loads must have left them alone) */
.macro segs r
    movl %ds, %eax
    movl %es, %ebx
    movl %fs, %ecx
    movl %gs, %edx
    movl %ss, %esi
    put "\r ds,es,fs,gs,ss now", %eax, %ebx, %ecx, %edx, %esi
.endm

    .text
    .globl _start
_start:
    probe_init
    movl $0x12345678, farptr

    ring3 0x202
    loads r3, KDATA
    loads r3, (KDATA | 3)
    loads r3, R1DATA_SEL
    far_to r3, KCODE
    far_to r3, R1CODE_SEL
    segs r3
    ring0

    /* to ring 1 (CS 0x31, SS 0x39 on the user stack), the way the kit's ring-1 test does it */
    movl %esp, r0_esp
    movl $R1DATA_SEL, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    pushl $R1DATA_SEL
    pushl $ustack_top
    pushl $0x202
    pushl $R1CODE_SEL
    pushl $1f
    iret
1:  movl %cs, %eax
    put "r1 cs", %eax
    loads r1, KDATA
    loads r1, (KDATA | 1)
    far_to r1, KCODE
    movw $UDATA, %ax
    catch "r1 mov ss udata", movw %ax, %ss
    catch "r1 mov ds udata", movw %ax, %ds
    segs r1
    ring0

    movw $R1DATA_SEL, %ax
    catch "r0 mov ds r1data", movw %ax, %ds
    catch "r0 mov ss r1data", movw %ax, %ss
    movw $R1DATA_SEL & ~3, %ax
    catch "r0 mov ss r1data rpl0", movw %ax, %ss
    far_to r0, R1CODE_SEL
    movw $KDATA, %ax
    movw %ax, %ds
    segs r0
    exit 0

far_resume:                        /* a far jump or call that did not fault goes on after its catch */
    jmp *probe_resume

    .section .data
    .align 4
farptr: .long 0, 0
