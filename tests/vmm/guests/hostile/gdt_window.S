/* The GDT at linear 0xFC000000 (paging on, not mapped), then a segment load. */
#define TABLE_GDT
#define PAGING
#include "window_tables.inc"
