# 1 "pte.c"
# 1 "types.h" 1
typedef unsigned int u32;
typedef u32 pte_t;
typedef u32 pde_t;
typedef pte_t mypte;
# 2 "pte.c" 2
struct mm { pde_t *pgdir; pte_t cached; struct { pte_t e[4]; } small; };
pde_t dir[1024];
pte_t spare;

static pte_t *pte_of(pde_t *pd, u32 va)
{
    return (pte_t *)(pd[va >> 22] & ~0xfffu) + ((va >> 12) & 0x3ff);
}

u32 walk(struct mm *mm, pte_t *pt, int i, mypte *q, const volatile pte_t *cv, u32 *plain)
{
    pte_t local = spare;
    local = pt[i];
    pt[i++] |= 1;
    *pte_of(mm->pgdir, 5) = local;
    mm->pgdir[2] = dir[i] + sizeof(pt[0]) + sizeof dir[1];
    u32 *addr = (u32 *)&pt[i];
    (*q)++;
    --mm->small.e[1];
    {
        pte_t *pt = (pte_t *)plain;
        *(pt + 1) = i ? pt[0] : q[1];
    }
    plain[0] = mm->cached + *plain;
    return local + *addr + cv[0] + mm->small.e[0] + (i > 0 ? *pt : 0);
}
