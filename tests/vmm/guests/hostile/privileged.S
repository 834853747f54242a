/* Every privileged (and IOPL-sensitive) instruction, from ring 3 with IOPL 0: each raises #GP(0) and changes
   nothing.  The state those instructions would have changed is printed at ring 0 before and after. */
#include "guestkit.h"
#include "kit.h"
#include "probekit.h"

#define SYSENTER_CS 0x174          /* an MSR every i386 model here has */

/* state "when": descriptor-table registers, TR, LDTR, control and debug registers, an MSR (ring 0 only) */
.macro state when
    sgdt scratch
    movzwl scratch, %eax
    movl scratch + 2, %ebx
    subl $gdt, %ebx
    put "\when gdtr limit,base-gdt", %eax, %ebx
    sidt scratch
    movzwl scratch, %eax
    movl scratch + 2, %ebx
    subl $idt, %ebx
    put "\when idtr limit,base-idt", %eax, %ebx
    str %eax
    sldt %ebx
    put "\when tr,ldtr", %eax, %ebx
    movl %cr0, %eax
    movl %cr2, %ebx
    movl %cr4, %ecx
    put "\when cr0,cr2,cr4", %eax, %ebx, %ecx
    movl %cr3, %eax
    subl $page_dir, %eax
    put "\when cr3-page_dir", %eax
    movl %dr0, %eax
    movl %dr7, %ebx
    put "\when dr0,dr7", %eax, %ebx
    movl $SYSENTER_CS, %ecx
    rdmsr
    put "\when msr 174 edx,eax", %edx, %eax
.endm

    .text
    .globl _start
_start:
    probe_init
    movl $page_dir, %eax           /* a page directory for CR3 (paging stays off) */
    movl %eax, %cr3
    movl $0x00001234, %eax
    movl %eax, %dr0
    xorl %eax, %eax
    xorl %edx, %edx
    movl $SYSENTER_CS, %ecx
    wrmsr
    state "before"

    ring3 0x202
    catch "r3 hlt", hlt
    catch "r3 cli", cli
    catch "r3 sti", sti
    catch "r3 lgdt", lgdt bogus_dtr
    catch "r3 lidt", lidt bogus_dtr
    xorl %eax, %eax
    catch "r3 lldt", lldt %ax
    movw $TSS_SEL, %ax
    catch "r3 ltr", ltr %ax
    movw $0x000f, %ax
    catch "r3 lmsw", lmsw %ax
    catch "r3 clts", clts
    catch "r3 invd", invd
    catch "r3 wbinvd", wbinvd
    catch "r3 invlpg", invlpg 0x100000
    xorl %eax, %eax
    catch "r3 mov to cr0", movl %eax, %cr0
    catch "r3 mov from cr0", movl %cr0, %eax
    catch "r3 mov to cr2", movl %eax, %cr2
    catch "r3 mov from cr2", movl %cr2, %eax
    catch "r3 mov to cr3", movl %eax, %cr3
    catch "r3 mov from cr3", movl %cr3, %eax
    catch "r3 mov to cr4", movl %eax, %cr4
    catch "r3 mov from cr4", movl %cr4, %eax
    catch "r3 mov to dr0", movl %eax, %dr0
    catch "r3 mov from dr0", movl %dr0, %eax
    catch "r3 mov to dr7", movl %eax, %dr7
    catch "r3 mov from dr7", movl %dr7, %eax
    movl $SYSENTER_CS, %ecx
    movl $0x8, %eax
    catch "r3 rdmsr", rdmsr
    catch "r3 wrmsr", wrmsr
    xorl %ecx, %ecx
    catch "r3 rdpmc", rdpmc
    movw $0x3FF, %dx
    catch "r3 inb imm", inb $0x21, %al
    catch "r3 inb dx", inb %dx, %al
    catch "r3 inw dx", inw %dx, %ax
    catch "r3 outb imm", outb %al, $0x80
    catch "r3 outb dx", outb %al, %dx
    catch "r3 outl dx", outl %eax, %dx
    movl $scratch, %edi
    movl $scratch, %esi
    catch "r3 insb", insb
    catch "r3 outsb", outsb
    movl $2, %ecx
    catch "r3 rep insw", rep insw
    catch "r3 rep outsw", rep outsw
    pushfl
    popl %eax
    put "r3 eflags after all", %eax
    ring0
    state "after"
    exit 0

    .section .data
    .align 4
scratch: .long 0, 0
bogus_dtr: .word 0x10
    .long 0x200000
    .section .bss
    .align 4096
page_dir:
    .space 4096
