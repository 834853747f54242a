/* The GDT at linear 0xFC000000 (paging off: physical 0xFC000000), then a segment load. */
#define TABLE_GDT
#include "window_tables.inc"
