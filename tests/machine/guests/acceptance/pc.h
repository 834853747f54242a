/* Shared definitions of the acceptance guest: selectors, ports, the trap frame, kernel/user interface.
   Included by boot.S (with __ASSEMBLER__) and by the C files. */
#ifndef ACCEPTANCE_PC_H
#define ACCEPTANCE_PC_H

#define KERNEL_CS      0x08
#define KERNEL_DS      0x10
#define USER_CS        0x1B                 /* GDT entry 3, RPL 3 */
#define USER_DS        0x23                 /* GDT entry 4, RPL 3 */
#define TSS_SEL        0x28
#define IRQ_BASE       0x20
#define SYSCALL_VECTOR 0x80                 /* DPL-3 trap gate */
#define KERNEL_VECTOR  0x81                 /* DPL-0 gate: #GP when used from ring 3 */
#define IDT_ENTRIES    0x82
#define USER_STACK_SIZE 4096

#define SYS_EXIT       0
#define SYS_WRITE      1
#define SYS_GETPID     2
#define SYS_TICKS_OK   3

#ifndef __ASSEMBLER__
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

/* What boot.S's isr_common pushes, lowest address first; user_esp/user_ss only from ring 3. */
struct frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    u32 vector, err;
    u32 eip, cs, eflags;
    u32 user_esp, user_ss;
};

/* boot.S */
extern u32 isr_stubs[IDT_ENTRIES];
extern u32 enter_user(u32 eip, u32 esp);
extern void __attribute__((noreturn)) leave_user(u32 value);
extern char intr_stack_top[];

/* user.c */
extern void user_main(void);
extern char user_stack[];
extern char __user_start[], __user_end[];
#endif
#endif
