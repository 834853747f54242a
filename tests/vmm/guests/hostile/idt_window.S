/* The IDT at linear 0xFC000000 (paging on, not mapped), then an interrupt. */
#define TABLE_IDT
#define PAGING
#include "window_tables.inc"
