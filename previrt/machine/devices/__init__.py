"""Python models of standard PC parts, one module per chip, each seeing port offsets rather than addresses.

The board table (`previrt.machine.board.BOARD`) places them at their standard ports and IRQs."""
