"""`python -m previrt` is the `previrt` command."""
from previrt.cli import main

raise SystemExit(main())
