/* The embedded user programs (an initramfs-like table generated at build time) and the ELF32 loader
 * that maps their PT_LOAD segments into a fresh address space. */
#include "kernel.h"

#define EI_NIDENT 16
#define ET_EXEC 2
#define EM_386 3
#define PT_LOAD 1
#define PF_W 2

struct elf32_ehdr {
    u8 e_ident[EI_NIDENT];
    u16 e_type, e_machine;
    u32 e_version, e_entry, e_phoff, e_shoff, e_flags;
    u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf32_phdr {
    u32 p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};

extern const struct program user_programs[]; /* generated: user_programs.S, ends with a null name */

const struct program *program_find(const char *name)
{
    for (const struct program *p = user_programs; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

void programs_list(void)
{
    kprintf("workloads:");
    for (const struct program *p = user_programs; p->name; p++)
        kprintf(" %s", p->name);
    kprintf("\n");
}

static int load_segment(struct proc *p, const struct program *prog, const struct elf32_phdr *ph)
{
    if (ph->p_vaddr < USER_BOTTOM || ph->p_memsz > USER_TOP - ph->p_vaddr || ph->p_filesz > ph->p_memsz ||
        ph->p_offset > prog->size || ph->p_filesz > prog->size - ph->p_offset)
        return -EINVAL;
    int writable = (ph->p_flags & PF_W) != 0;
    u32 end = ph->p_vaddr + ph->p_memsz;
    for (u32 va = ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE); va < end; va += PAGE_SIZE) {
        u8 *page = page_alloc();
        if (!page)
            return -ENOMEM;
        memset(page, 0, PAGE_SIZE);
        /* bytes of the file image that land in this page */
        u32 lo = MAX(va, ph->p_vaddr), hi = MIN(va + PAGE_SIZE, ph->p_vaddr + ph->p_filesz);
        if (lo < hi)
            memcpy(page + (lo - va), prog->image + ph->p_offset + (lo - ph->p_vaddr), hi - lo);
        if (mm_map_user(p->pgdir, va, page, writable) < 0) {
            page_free(page);
            return -ENOMEM;
        }
    }
    if (writable && ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE) < p->rw_start)
        p->rw_start = ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE);
    p->heap_start = MAX(p->heap_start, ALIGN_UP(end, PAGE_SIZE));
    return 0;
}

int elf_load(struct proc *p, const struct program *prog, u32 *entry)
{
    const struct elf32_ehdr *eh = (const struct elf32_ehdr *)prog->image;
    if (prog->size < sizeof *eh || memcmp(eh->e_ident, "\177ELF", 4) != 0 || eh->e_type != ET_EXEC ||
        eh->e_machine != EM_386 || eh->e_phentsize != sizeof(struct elf32_phdr) ||
        eh->e_phoff > prog->size || eh->e_phnum * sizeof(struct elf32_phdr) > prog->size - eh->e_phoff)
        return -EINVAL;
    p->rw_start = USER_TOP;
    p->heap_start = USER_BOTTOM;
    const struct elf32_phdr *ph = (const struct elf32_phdr *)(prog->image + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && load_segment(p, prog, &ph[i]) < 0)
            return -ENOMEM;
    p->brk = p->heap_start;
    if (p->rw_start > p->heap_start)
        p->rw_start = p->heap_start;
    *entry = eh->e_entry;
    return 0;
}
