/* shadow's para-virtual ABI 1 as this kernel uses it (hypervisors/shadow/ABI.md): where the hypercall page and the
 * vCPU cache page are, the entries of the page, and the request layouts.  For C and for assembler. */
#ifndef SHADOW_ABI_H
#define SHADOW_ABI_H

/* The hypercall page: entry n at SHADOW_HC_PAGE + 8n is `int $0x83; ret`.  Arguments in ecx and edx, the result in
 * eax; an error sets CF with a positive error code in eax.  Every other register is kept. */
#define SHADOW_HC_PAGE 0xFC020000
#define SHADOW_HC(n) (SHADOW_HC_PAGE + 8 * (n))
#define HC_IRET 3            /* [eax][eip][cs][eflags] on the stack: the hypervisor's iret */
#define HC_IN 4              /* ecx = port, edx = size: eax's low bytes = the value */
#define HC_OUT 5             /* ecx = port, edx = size, eax = value */
#define HC_READ_CR 6         /* ecx = 0, 3 or 4: eax = CRn */
#define HC_SET_CR3 7         /* ecx = page directory, guest-physical */
#define HC_INVLPG 8          /* ecx = linear address */
#define HC_INVLPG_MANY 9     /* ecx = list of linear addresses (guest-physical), edx = count */
#define HC_IDLE 10           /* IF on, wait for the next interrupt (sti; hlt) */
#define HC_IRQ_PENDING 11    /* take the waiting interrupt now */
#define HC_CONSOLE_WRITE 12  /* ecx = buffer (guest-physical), edx = length: eax = length */
#define HC_BLOCK_IO 13       /* ecx = struct shadow_block_request (guest-physical), edx = drive: eax = count */
#define HC_BLOCK_INFO 14     /* ecx = drive: eax = sectors */
#define HC_PAGING_ASSIST 15  /* ecx = flags */

/* The vCPU cache page: the virtual IF (bit 9 of vflags; this kernel keeps IOPL 0), the pending flag the hypervisor
 * sets while an interrupt waits for IF, CR2 as the hypervisor last delivered a #PF, and the PIC EOIs the kernel
 * defers (eoi_exit: the hypervisor wants them at the port now). */
#define SHADOW_VCPU 0xFC02F000
#define VCPU_VFLAGS (SHADOW_VCPU + 0x0)
#define VCPU_PENDING (SHADOW_VCPU + 0x4)
#define VCPU_CR2 (SHADOW_VCPU + 0x8)
#define VCPU_EOI_EXIT (SHADOW_VCPU + 0xC)
#define VCPU_EOI_MASTER (SHADOW_VCPU + 0xD)
#define VCPU_EOI_SLAVE (SHADOW_VCPU + 0xE)

#define INVLPG_BATCH 64           /* at most this many addresses in one invlpg_many */
#define ASSIST_EAGER_DIRTY 0x1    /* paging_assist: no dirty tracking, writable pages shadowed writable at once */
#define CONSOLE_CHUNK 4096        /* console_write takes at most this many bytes */
#define BLOCK_READ 0
#define BLOCK_WRITE 1

#ifndef __ASSEMBLER__
struct shadow_block_request {
    u32 op, lba, count, buf; /* buf: guest-physical */
};
#endif

#endif
