/* hlt with IF=0: nothing can wake the CPU; the run ends with a report. */
#include "guestkit.h"
    .text
    .globl _start
_start:
    puts "halting\n"
    cli
    .globl halt_site
halt_site:
    hlt
    exit 1
