/* probekit.h: what the probe and hostile guests share on top of guestkit.h and kit.h: a ring-0/ring-3 print
   service, exception stubs that print each frame and resume, a PIC with every line masked, and ring switches.
   Include once, after guestkit.h and kit.h (tests/machine/guests/cpu/kit.h).

   Printing, at any ring (the values go through a software interrupt to ring 0, which owns the UART):
     put "label", a, b..  a line "label=AAAAAAAA BBBBBBBB ..": each value a register, memory or $imm operand
                          (pushed in order, so none may be %esp-relative; no commas or spaces inside an operand)
     say "text"           a line "text" (put with no values)
   Expected faults:
     catch "name", insn   run insn; a fault or trap it raises is printed as one line "name: vec=.. err=.. eip-site=..
                          cs=.. fl=.. hfl=.. [cr2=..] [esp=ustack-.. ss=.. frame=istack-..]" and execution resumes after
                          insn (ring and EFLAGS of the interrupted code); "name: no fault" if it raised nothing.
                          eip-site is the frame's EIP minus insn's address: 0 for a fault, insn's length for a trap.
                          hfl is the handler's own EFLAGS on entry (all gates are interrupt gates unless set otherwise).
     catch2 "name", "insn1", "insn2"   the same for two instructions (eip-site counts from insn1)
   Rings:
     ring3 [eflags]       continue at CPL 3 right after the macro (UCODE/UDATA, user stack, EFLAGS = eflags)
     ring0                from CPL 3: continue at CPL 0 right after the macro (KDATA, kernel stack as it was
                          before `ring3`, EFLAGS = 2)
   An event nobody expected prints "unexpected: ..." and ends the run through the exit port with value 0x7e. */
#ifndef PROBEKIT_H
#define PROBEKIT_H
#define PUT_VEC 0x40
#define RING0_VEC 0x42
#define PIC_VEC 0x20               /* IRQ 0..15 at vectors 0x20..0x2f */
#define UNEXPECTED_EXIT 0x7e

    .section .data
    .align 4
probe_site:   .long 0              /* address of the instruction a `catch` runs, 0 when none is armed */
probe_resume: .long 0              /* where the handler returns to */
probe_name:   .long 0              /* its name (zero-terminated) */
r0_esp:       .long 0              /* kernel esp saved by `ring3` */
probe_stubs:                       /* exception stubs for vectors 0..31 */
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long probe_stub_\v
    .endr
probe_digits: .ascii "0123456789abcdef"

    .section .bss
    .align 16
    .space 8192
istack_top:                        /* TSS ss0:esp0: events from ring 3 land here */

/* puthexn src, n: print the low n hex digits of src (register, memory, %esp-relative, $imm).  Preserves all
   registers and flags. */
.macro puthexn src, n
    pushl \src
    pushl $\n
    call probe_puthexn
    leal 8(%esp), %esp
.endm

.macro put label, srcs:vararg
    .set .Lprobe_n, 0
    .irp s, \srcs
    .ifnb \s
    pushl \s
    .set .Lprobe_n, .Lprobe_n + 1
    .endif
    .endr
    .pushsection .rodata
9981\@: .asciz "\label"
    .popsection
    pushl $.Lprobe_n
    pushl $9981\@b
    int $PUT_VEC
    leal 8 + 4 * .Lprobe_n(%esp), %esp
.endm

.macro say text
    put "\text"
.endm

.macro catch name, insn:vararg
    catch2 "\name", "\insn"
.endm

/* catch2 "name", "insn1", "insn2": catch for a pair of instructions (sti; hlt); eip-site counts from insn1. */
.macro catch2 name, insn1, insn2
    .pushsection .rodata
9983\@: .asciz "\name"
    .popsection
    movl $9984\@f, probe_site
    movl $9985\@f, probe_resume
    movl $9983\@b, probe_name
9984\@:
    \insn1
    \insn2
9985\@:
    cmpl $0, probe_name
    je 9986\@f
    movl $0, probe_name
    movl $0, probe_site
    say "\name: no fault"
9986\@:
.endm

.macro ring3 eflags=0x202
    movl %esp, r0_esp
    movw $UDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    pushl $UDATA
    pushl $ustack_top
    pushl $\eflags
    pushl $UCODE
    pushl $9987\@f
    iret
9987\@:
.endm

.macro ring0
    int $RING0_VEC
.endm

/* probe_init: kit_init, events from ring 3 onto istack, no I/O bitmap, EFLAGS = 2, both PICs at 0x20/0x28 with
   every line masked, a printing stub for each exception vector, DPL-3 gates for int3, into and the services. */
.macro probe_init
    kit_init
    movl $istack_top, tss + TSS_ESP0
    movw $104, tss + 102           /* I/O map base at the TSS limit: no I/O permission bitmap */
    pushl $2
    popfl
    call probe_pic_init
    call probe_set_stubs
    set_gate 3, probe_stub_3, INT_GATE_DPL3
    set_gate 4, probe_stub_4, INT_GATE_DPL3
    set_gate PUT_VEC, probe_put, INT_GATE_DPL3
    set_gate RING0_VEC, probe_ring0, INT_GATE_DPL3
.endm

    .section .text
probe_pic_init:
    pushl %eax
    movb $0x11, %al
    outb %al, $0x20
    outb %al, $0xA0
    movb $PIC_VEC, %al
    outb %al, $0x21
    movb $PIC_VEC + 8, %al
    outb %al, $0xA1
    movb $4, %al
    outb %al, $0x21
    movb $2, %al
    outb %al, $0xA1
    movb $1, %al
    outb %al, $0x21
    outb %al, $0xA1
    movb $0xFF, %al
    outb %al, $0x21
    outb %al, $0xA1
    popl %eax
    ret

probe_set_stubs:
    pushal
    xorl %ecx, %ecx
1:  movl probe_stubs(,%ecx,4), %eax
    movw %ax, idt(,%ecx,8)
    movw $KCODE, idt + 2(,%ecx,8)
    movb $0, idt + 4(,%ecx,8)
    movb $INT_GATE, idt + 5(,%ecx,8)
    shrl $16, %eax
    movw %ax, idt + 6(,%ecx,8)
    incl %ecx
    cmpl $32, %ecx
    jne 1b
    popal
    ret

/* probe_putz: print the zero-terminated string at %esi.  Preserves all registers and flags. */
probe_putz:
    pushfl
    pushl %eax
    pushl %edx
    pushl %esi
    movw $COM1, %dx
1:  movb (%esi), %al
    testb %al, %al
    jz 2f
    outb %al, %dx
    incl %esi
    jmp 1b
2:  popl %esi
    popl %edx
    popl %eax
    popfl
    ret

probe_puthexn:                     /* stack: ret, n, value */
    pushfl
    pushal
    movl 40(%esp), %ecx            /* n */
    movl 44(%esp), %ebx            /* value */
    movl $8, %eax
    subl %ecx, %eax
    shll $2, %eax
    xchgl %eax, %ecx
    roll %cl, %ebx                 /* skip the 8 - n leading digits */
    movl %eax, %ecx
    movw $COM1, %dx
1:  roll $4, %ebx
    movl %ebx, %eax
    andl $15, %eax
    movb probe_digits(%eax), %al
    outb %al, %dx
    decl %ecx
    jnz 1b
    popal
    popfl
    ret

/* The print services: the label and value sit on the caller's stack (the user stack for CPL 3). */
probe_args:                        /* %ebx <- the caller's stack, from the frame at 4(%esp) + 32 (after pushal) */
    leal 48(%esp), %ebx
    testl $3, 40(%esp)
    jz 1f
    movl 48(%esp), %ebx
1:  ret

probe_put:                         /* caller's stack: label, n, value n, ..., value 1 */
    pushal
    call probe_args
    movl (%ebx), %esi
    call probe_putz
    movl 4(%ebx), %ecx
    jecxz 2f
    leal 4(%ebx,%ecx,4), %edi      /* value 1 */
    putc '='
1:  puthexn (%edi), 8
    subl $4, %edi
    decl %ecx
    jz 2f
    putc ' '
    jmp 1b
2:  putc '\n'
    popal
    iret

probe_ring0:                       /* back to CPL 0 at the instruction after `int $RING0_VEC` */
    movl (%esp), %eax
    movw $KDATA, %dx
    movw %dx, %ds
    movw %dx, %es
    movw %dx, %fs
    movw %dx, %gs
    movl r0_esp, %esp
    pushl $2
    popfl
    jmp *%eax

/* Exception stubs: the ones without an error code push a 0 in its place, then the vector. */
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
probe_stub_\v:
    .if (\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17)
    .else
    pushl $0
    .endif
    pushl $\v
    jmp probe_fault
    .endr

/* probe_stub vec: a printing stub for a vector above 31 (no error code), for set_gate. */
.macro probe_stub vec
probe_stub_\vec:
    pushl $0
    pushl $\vec
    jmp probe_fault
.endm

/* Common handler.  Stack after pushfl + pushal: hfl 32, vec 36, err 40, eip 44, cs 48, eflags 52, esp 56, ss 60. */
probe_fault:
    pushfl
    pushal
    movl probe_name, %esi
    testl %esi, %esi
    jz probe_unexpected
    call probe_putz
    puts ": vec="
    puthexn 36(%esp), 2
    puts " err="
    puthexn 40(%esp), 8
    puts " eip-site="
    movl 44(%esp), %eax
    subl probe_site, %eax
    puthexn %eax, 8
    call probe_frame_tail
    movl probe_resume, %eax
    movl %eax, 44(%esp)
    movl $0, probe_name
    movl $0, probe_site
    popal
    leal 12(%esp), %esp            /* hfl, vec, err */
    iret

/* The rest of a frame line: cs, eflags, the handler's eflags, cr2 for #PF, the outer stack for CPL 3. */
probe_frame_tail:                  /* offsets as in probe_fault, plus 4 for the return address */
    puts " cs="
    puthexn 52(%esp), 4
    puts " fl="
    puthexn 56(%esp), 8
    puts " hfl="
    puthexn 36(%esp), 8
    cmpl $14, 40(%esp)
    jne 1f
    puts " cr2="
    movl %cr2, %eax
    puthexn %eax, 8
1:  testl $3, 52(%esp)
    jz 2f
    puts " esp=ustack-"
    movl $ustack_top, %eax
    subl 60(%esp), %eax
    puthexn %eax, 8
    puts " ss="
    puthexn 64(%esp), 4
    puts " frame=istack-"
    movl $istack_top, %eax
    leal 48(%esp), %ebx            /* the EIP slot */
    subl %ebx, %eax
    puthexn %eax, 8
2:  putc '\n'
    ret

probe_unexpected:
    puts "unexpected: vec="
    puthexn 36(%esp), 2
    puts " err="
    puthexn 40(%esp), 8
    puts " eip="
    puthexn 44(%esp), 8
    call probe_frame_tail
    exit UNEXPECTED_EXIT
#endif
