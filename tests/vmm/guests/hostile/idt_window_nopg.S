/* The IDT at linear 0xFC000000 (paging off: physical 0xFC000000), then an interrupt. */
#define TABLE_IDT
#include "window_tables.inc"
