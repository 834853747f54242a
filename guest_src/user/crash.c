/* The deliberately faulting program that cmdline fault=1 starts before the workload: a null write. */
#include "ulib.h"

int main(void)
{
    *(volatile u32 *)0 = 0xDEAD;
    return 0;
}
