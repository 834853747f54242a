/* A PTE for physical 0xFC000000 (outside the guest's RAM) written through a writable alias of the page table. */
#define OUTSIDE 0xFC000000
#include "pt_alias.inc"
