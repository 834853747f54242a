"""Event bounce: exceptions, `int n` and external interrupts delivered into the guest kernel's handler from its
virtual IDT, on its virtual ring-0 stack, with the frame the bare PC would push.

The IA-32 rules are the bare machine's (`IdtDelivery`); only where the state comes from (the virtual CPU: IDTR, GDTR,
TR, IF, IOPL, the guest's view of CS and SS) and how the handler is entered (one ring down) differ."""

from __future__ import annotations

from unicorn import x86_const as X

from previrt.machine.cpu import CpuState, Event, IdtDelivery, UnsupportedEvent
from previrt.vmm.vcpu import VirtualCpu, real_ring, real_selector


class VirtualDelivery(IdtDelivery):
    """IdtDelivery through the guest's virtual descriptor tables.  `on_enter(virtual_cpl)` runs after each delivery
    (the hypervisor re-syncs what depends on the ring)."""

    def __init__(self, cpu, vcpu: VirtualCpu, shadow, on_enter=None):
        super().__init__(cpu)
        self.vcpu, self.shadow = vcpu, shadow
        self.on_enter = on_enter
        self.bounced: dict[int, int] = {}

    def deliver(self, event: Event) -> None:
        self.bounced[event.vector] = self.bounced.get(event.vector, 0) + 1
        super().deliver(event)

    def state(self) -> CpuState:
        st = self.cpu.snapshot()
        v = self.vcpu
        real_cpl = st.cs & 3
        if real_cpl == 0:
            raise UnsupportedEvent("guest code in real ring 0", self.cpu.state_report())
        st.eflags = v.eflags(st.eflags, real_cpl)
        st.cs, st.ss = v.virtual_selector(st.cs), v.virtual_selector(st.ss)
        st.cr0, st.cr3, st.cr4 = self.cpu.paging_registers()     # the tables the hypervisor's walk reads
        st.idtr = (0, v.idtr.base, v.idtr.limit, 0)
        st.gdtr = (0, v.gdtr.base, v.gdtr.limit, 0)
        st.tr = (v.tr.selector, v.tr.base, v.tr.limit, 0)
        return st

    def commit(self, st: CpuState, new_cpl: int, ss: int | None, esp: int, cs: int, eflags: int,
               eip: int) -> None:
        cpu = self.cpu
        self.vcpu.enter_ring(new_cpl)
        if ss is not None:
            self.shadow.refresh(ss)
            cpu.set_cpl(real_ring(new_cpl))
            cpu.set_reg(X.UC_X86_REG_SS, real_selector(ss))
        cpu.set_reg(X.UC_X86_REG_ESP, esp)
        self.shadow.refresh(cs)
        cpu.set_reg(X.UC_X86_REG_CS, real_selector(cs))
        cpu.set_reg(X.UC_X86_REG_EFLAGS, self.vcpu.load_eflags(eflags, new_cpl))
        cpu.set_reg(X.UC_X86_REG_EIP, eip)
        if self.on_enter is not None:
            self.on_enter(new_cpl)

    def set_cr2(self, linear: int) -> None:
        self.vcpu.cr2 = linear

    def ldtr(self) -> tuple[int, int, int, int]:
        v = self.vcpu.ldtr
        return v.selector, v.base, v.limit, 0
