/* A PTE to physical 0xFC000000 (outside the guest's RAM) and a write and read through it. */
#define FRAME 0xFC000000
#include "outside.inc"
