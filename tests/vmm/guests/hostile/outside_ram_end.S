/* A PTE to physical 0x04000000 (just past the guest's 64 MiB of RAM) and a write and read through it. */
#define FRAME 0x04000000
#include "outside.inc"
