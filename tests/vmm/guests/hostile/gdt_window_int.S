/* The GDT at linear 0xFC000000 (paging on, not mapped), then an interrupt (its delivery reads the GDT). */
#define TABLE_GDT
#define PAGING
#define BY_INT
#include "window_tables.inc"
