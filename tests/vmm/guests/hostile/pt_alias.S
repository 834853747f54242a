/* New mappings written through a writable alias of a page table and through a recursive page-directory entry. */
#include "pt_alias.inc"
