# 1 "pte.c"
# 1 "<previrt pte accessors>"
static inline __attribute__((__always_inline__, __unused__, __artificial__)) void __previrt_pte_store(volatile void *__p, unsigned int __v) { __asm__ __inline__ __volatile__("97711:\n\tmovl %%edx,(%%eax)\n97712:\n\t.arch .nop\n\t.nops 6, 11\n97713:\n\t.pushsection .previrt.sites,\"a\"\n\t.balign 4\n\t.long 97711b - .\n\t.byte 1, 128, 97713b - 97711b, 97712b - 97711b\n\t.short 1, 0\n\t.popsection" : "=m"(*(volatile unsigned int *)__p) : "a"(__p), "d"(__v)); }
static inline __attribute__((__always_inline__, __unused__, __artificial__)) unsigned int __previrt_pte_load(const volatile void *__p) { unsigned int __v; __asm__ __inline__("97711:\n\tmovl (%%eax),%%edx\n97712:\n\t.arch .nop\n\t.nops 6, 11\n97713:\n\t.pushsection .previrt.sites,\"a\"\n\t.balign 4\n\t.long 97711b - .\n\t.byte 1, 129, 97713b - 97711b, 97712b - 97711b\n\t.short 1, 0\n\t.popsection" : "=d"(__v) : "a"(__p), "m"(*(const volatile unsigned int *)__p)); return __v; }
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
    return (pte_t *)(((unsigned int)__previrt_pte_load(&(pd[va >> 22]))) & ~0xfffu) + ((va >> 12) & 0x3ff);
}

u32 walk(struct mm *mm, pte_t *pt, int i, mypte *q, const volatile pte_t *cv, u32 *plain)
{
    pte_t local = spare;
    local = ((unsigned int)__previrt_pte_load(&(pt[i])));
    ({ volatile void *__pv_p4 = (volatile void *)&(pt[i++] ); unsigned int __pv_v4 = (unsigned int)((unsigned int)__previrt_pte_load(__pv_p4) | ( 1)); __previrt_pte_store(__pv_p4, __pv_v4); __pv_v4; });
    __previrt_pte_store(&(*pte_of(mm->pgdir, 5) ), ( local));
    __previrt_pte_store(&(mm->pgdir[2] ), ( ((unsigned int)__previrt_pte_load(&(dir[i]))) + sizeof(pt[0]) + sizeof dir[1]));
    u32 *addr = (u32 *)&pt[i];
    ({ volatile void *__pv_p15 = (volatile void *)&((*q)); unsigned int __pv_v15 = (unsigned int)__previrt_pte_load(__pv_p15); __previrt_pte_store(__pv_p15, (unsigned int)(__pv_v15 + 1)); __pv_v15; });
    ({ volatile void *__pv_p17 = (volatile void *)&(mm->small.e[1]); unsigned int __pv_v17 = (unsigned int)((unsigned int)__previrt_pte_load(__pv_p17) - 1); __previrt_pte_store(__pv_p17, __pv_v17); __pv_v17; });
    {
        pte_t *pt = (pte_t *)plain;
        __previrt_pte_store(&(*(pt + 1) ), ( i ? ((unsigned int)__previrt_pte_load(&(pt[0]))) : ((unsigned int)__previrt_pte_load(&(q[1])))));
    }
    plain[0] = ((unsigned int)__previrt_pte_load(&(mm->cached))) + *plain;
    return local + *addr + ((unsigned int)__previrt_pte_load(&(cv[0]))) + ((unsigned int)__previrt_pte_load(&(mm->small.e[0]))) + (i > 0 ? ((unsigned int)__previrt_pte_load(&(*pt))) : 0);
}
