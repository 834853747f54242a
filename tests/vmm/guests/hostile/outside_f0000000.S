/* A PTE to physical 0xF0000000 (outside the guest's RAM) and a write and read through it. */
#define FRAME 0xF0000000
#include "outside.inc"
