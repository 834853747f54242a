/* Physical page allocator (free list) and 2-level paging: the kernel direct map in 4 MiB pages shared
 * by every address space, per-process user page tables, demand-zero heap and stack, sbrk, fork copy. */
#include "kernel.h"

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_U 0x004
#define PTE_PS 0x080
#define PF_ERR_PRESENT 0x1
#define PF_ERR_WRITE 0x2
#define PDX(va) ((va) >> 22)
#define PTX(va) (((va) >> 12) & 0x3FF)
#define KERNEL_PDX PDX(KERNEL_BASE)
#define VMM_PDX PDX(VMM_WINDOW)
#define DIRECT_MAP_MAX (VMM_WINDOW - KERNEL_BASE)

extern char _end[];

pde_t *kernel_pgdir;
static u32 *free_list; /* each free page holds the address of the next */
static u32 nfree;

void *page_alloc(void)
{
    u32 *p = free_list;
    if (!p)
        return NULL;
    free_list = (u32 *)*p;
    nfree--;
    return p;
}

void page_free(void *page)
{
    u32 *p = page;
    *p = (u32)free_list;
    free_list = p;
    nfree++;
}

u32 pages_free(void) { return nfree; }

static void *page_alloc_zero(void)
{
    void *p = page_alloc();
    if (p)
        memset(p, 0, PAGE_SIZE);
    return p;
}

/* Map all RAM at KERNEL_BASE with 4 MiB pages, switch to that directory, free every page above the
 * kernel image. mem_bytes is the end of usable RAM (from Multiboot's mem_upper). */
void mm_init(u32 mem_bytes)
{
    mem_bytes = MIN(ALIGN_DOWN(mem_bytes, 1u << 22), DIRECT_MAP_MAX);
    u32 first = ALIGN_UP(V2P(_end), PAGE_SIZE);
    kassert(mem_bytes > first + (1u << 20));
    /* The new directory is the first page above the image; the boot one maps enough for it. */
    kernel_pgdir = P2V(first);
    memset(kernel_pgdir, 0, PAGE_SIZE);
    for (u32 pa = 0; pa < mem_bytes; pa += 1u << 22)
        kernel_pgdir[KERNEL_PDX + PDX(pa)] = pa | PTE_PS | PTE_W | PTE_P;
    write_cr3(V2P(kernel_pgdir));
    /* Free from the top down so allocations come out in ascending order. */
    for (u32 pa = mem_bytes - PAGE_SIZE; pa > first; pa -= PAGE_SIZE)
        page_free(P2V(pa));
}

pde_t *mm_new_pgdir(void)
{
    pde_t *pd = page_alloc_zero();
    if (pd)
        memcpy(&pd[KERNEL_PDX], &kernel_pgdir[KERNEL_PDX], (VMM_PDX - KERNEL_PDX) * sizeof(pde_t));
    return pd;
}

static pte_t *pte_of(pde_t *pgdir, u32 va, int alloc)
{
    pde_t pde = pgdir[PDX(va)];
    if (!(pde & PTE_P)) {
        if (!alloc)
            return NULL;
        pte_t *pt = page_alloc_zero();
        if (!pt)
            return NULL;
        pde = V2P(pt) | PTE_U | PTE_W | PTE_P;
        set_pde(&pgdir[PDX(va)], pde);
    }
    return (pte_t *)P2V(pde & ~0xFFFu) + PTX(va);
}

int mm_map_user(pde_t *pgdir, u32 va, void *page, int writable)
{
    pte_t *pte = pte_of(pgdir, va, 1);
    if (!pte)
        return -ENOMEM;
    set_pte(pte, V2P(page) | PTE_U | PTE_P | (writable ? PTE_W : 0));
    return 0;
}

/* Unmap one user page of the current address space and flush its TLB entry. */
static void unmap_current(pde_t *pgdir, u32 va)
{
    pte_t *pte = pte_of(pgdir, va, 0);
    if (!pte || !(*pte & PTE_P))
        return;
    page_free(P2V(*pte & ~0xFFFu));
    set_pte(pte, 0);
    invlpg(va);
}

/* Whole-table scans read entries as plain words (`words`), not through pte_t/pde_t: in the previrt build every
 * pte_t access is a recorded site, and 1024 of them per table would cost more than the build's padding budget.  A
 * plain read sees each store made before the tables were last observed (a CR3 load, invlpg, a return to user mode,
 * any trap), which is enough for a scan that never reads back an entry it has stored; an entry read back after a
 * store goes through pte_t (pte_of). */
static const u32 *words(const void *table) { return table; }

/* Free every user page and page table (the directory itself stays: it may be the one in CR3). */
void mm_free_user(pde_t *pgdir)
{
    const u32 *dir = words(pgdir);
    arch_enter_lazy_mmu();
    for (u32 i = 0; i < KERNEL_PDX; i++) {
        if (!(dir[i] & PTE_P))
            continue;
        const u32 *pt = P2V(dir[i] & ~0xFFFu);
        for (u32 j = 0; j < 1024; j++)
            if (pt[j] & PTE_P)
                page_free(P2V(pt[j] & ~0xFFFu));
        page_free((void *)pt);
        set_pde(&pgdir[i], 0);
    }
    arch_leave_lazy_mmu();
}

void mm_free_pgdir(pde_t *pgdir)
{
    mm_free_user(pgdir);
    page_free(pgdir);
}

/* Copy every user page of src into fresh pages of dst (fork; no copy-on-write). */
static int clone_user(pde_t *dst, const pde_t *src)
{
    const u32 *dir = words(src);
    for (u32 i = 0; i < KERNEL_PDX; i++) {
        if (!(dir[i] & PTE_P))
            continue;
        const u32 *pt = P2V(dir[i] & ~0xFFFu);
        for (u32 j = 0; j < 1024; j++) {
            if (!(pt[j] & PTE_P))
                continue;
            void *page = page_alloc();
            if (!page)
                return -ENOMEM;
            memcpy(page, P2V(pt[j] & ~0xFFFu), PAGE_SIZE);
            if (mm_map_user(dst, (i << 22) | (j << 12), page, (pt[j] & PTE_W) != 0) < 0) {
                page_free(page);
                return -ENOMEM;
            }
        }
    }
    return 0;
}

int mm_clone(pde_t *dst, const pde_t *src)
{
    arch_enter_lazy_mmu();
    int r = clone_user(dst, src);
    arch_leave_lazy_mmu();
    return r;
}

static int in_stack(u32 va) { return va >= USER_TOP - USTACK_MAX && va < USER_TOP; }

/* Demand-zero fault on a not-present page of the heap or the stack: 1 when mapped, -ENOMEM when no page
 * (or page table) is left for it, 0 for anything else (not ours). */
int mm_fault(struct proc *p, u32 addr, u32 err)
{
    if (err & PF_ERR_PRESENT)
        return 0;
    if (!((addr >= p->heap_start && addr < p->brk) || in_stack(addr)))
        return 0;
    void *page = page_alloc_zero();
    if (!page)
        return -ENOMEM;
    arch_enter_lazy_mmu();
    int r = mm_map_user(p->pgdir, ALIGN_DOWN(addr, PAGE_SIZE), page, 1);
    arch_leave_lazy_mmu();
    if (r < 0) {
        page_free(page);
        return -ENOMEM;
    }
    return 1;
}

/* May the kernel access [va, va+len) on behalf of p? Writes need a writable region. */
int mm_user_ok(const struct proc *p, u32 va, u32 len, int write)
{
    u32 end = va + len;
    if (end < va || va < USER_BOTTOM || end > USER_TOP)
        return 0;
    if (in_stack(va) && (len == 0 || in_stack(end - 1)))
        return 1;
    return va >= (write ? p->rw_start : USER_BOTTOM) && end <= p->brk;
}

/* Grow or shrink the heap; shrinking unmaps whole pages (PTE clear + invlpg). Returns the old break. */
i32 mm_sbrk(struct proc *p, i32 incr)
{
    u32 old = p->brk, new = old + (u32)incr;
    if (incr > 0 && (new < old || new > USER_TOP - USTACK_MAX))
        return -ENOMEM;
    if (incr < 0 && (new > old || new < p->heap_start))
        return -EINVAL;
    if (incr < 0) {
        arch_enter_lazy_mmu();
        for (u32 va = ALIGN_UP(new, PAGE_SIZE); va < ALIGN_UP(old, PAGE_SIZE); va += PAGE_SIZE)
            unmap_current(p->pgdir, va);
        arch_leave_lazy_mmu();
    }
    p->brk = new;
    return (i32)old;
}
