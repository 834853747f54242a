/* Fixed-width integer types and a few compiler helpers for the freestanding kernel.
 * No libc: everything here is a typedef or a macro. */
#ifndef TYPES_H
#define TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char i8;
typedef short i16;
typedef int i32;
typedef unsigned int size_t;
typedef u32 uintptr_t;
/* Page-directory and page-table entries (i386 non-PAE, 4 bytes), as Linux names them: the previrt
 * build makes every store and load of one through memory a recorded site. */
typedef u32 pte_t;
typedef u32 pde_t;

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((a)-1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
