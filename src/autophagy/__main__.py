"""``python -m autophagy``: the command line (same as the ``autophagy`` command)."""

from autophagy.cli import main

raise SystemExit(main())
