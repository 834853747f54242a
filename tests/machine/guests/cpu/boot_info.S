/* Read the Multiboot info back: magic, flags, mem_lower, mem_upper, the command line, the boot loader name and
   every memory-map entry (base, length, type). */
#include "guestkit.h"
    .text
    .globl _start
_start:
    movl $0x80000, %esp
    movl %ebx, %ebp              /* the info struct */
    movl %eax, %edi
    puts "magic="
    puthex %edi
    puts " flags="
    puthex (%ebp)
    puts " lower="
    puthex 4(%ebp)
    puts " upper="
    puthex 8(%ebp)
    puts "\ncmdline=["
    movl 16(%ebp), %esi
    call print_cstr
    puts "]\nloader=["
    movl 64(%ebp), %esi
    call print_cstr
    puts "]\n"
    movl 48(%ebp), %ebx          /* mmap_addr */
    movl %ebx, %ecx
    addl 44(%ebp), %ecx          /* mmap_addr + mmap_length */
1:  cmpl %ecx, %ebx
    jae 2f
    puts "mmap base="
    puthex 8(%ebx)
    puthex 4(%ebx)
    puts " len="
    puthex 16(%ebx)
    puthex 12(%ebx)
    puts " type="
    puthex 20(%ebx)
    puts "\n"
    addl (%ebx), %ebx
    addl $4, %ebx
    jmp 1b
2:  exit 0

print_cstr:                      /* %esi: NUL-terminated string */
    movw $COM1, %dx
1:  movb (%esi), %al
    testb %al, %al
    jz 2f
    outb %al, %dx
    incl %esi
    jmp 1b
2:  ret
