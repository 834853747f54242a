"""previrt: pre-virtualization for i386 guests.

Build time: annotate sensitive instructions (previrt cc / annotate / audit). Load time: run on the bare PC or patch per hypervisor."""

__version__ = "0.1.0"
