"""``python -m close_tui`` is ``close-tui``."""

from close_tui.cli import main

raise SystemExit(main())
