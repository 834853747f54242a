"""The hypervisors previrt ships, one folder each (host model, ABI.md); registered under the entry-point group
`previrt.hypervisors` in pyproject.toml."""
