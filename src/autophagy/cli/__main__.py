"""``python -m autophagy.cli``: the command line."""

from autophagy.cli import main

raise SystemExit(main())
