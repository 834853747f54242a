/* Paging off: a write and read at physical 0xFC000000 (the hypervisors' window, outside the guest's RAM). */
#define FRAME 0xFC000000
#define NO_PAGING
#include "outside.inc"
