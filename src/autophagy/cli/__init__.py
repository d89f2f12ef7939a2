"""Command line: ``autophagy run | sweep | status | report | list | admissible | web-share | advise | demo | runs | query``.

Exit codes: 0 on success, 2 on a bad config or bad input (one line naming the key, the value
and what is allowed; no traceback), 1 when runs of a sweep failed.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from autophagy.cli import advise as _advise  # noqa: F401  (registers advise)
from autophagy.cli import describe as _describe  # noqa: F401  (registers its commands)
from autophagy.cli import runs as _runs  # noqa: F401  (registers its commands)
from autophagy.cli import web as _web  # noqa: F401  (registers web-share)
from autophagy.cli._app import app
from autophagy.exceptions import AutophagyError

__all__ = ["app", "main"]


#: Click's base exception, wherever this Typer keeps Click (recent Typer vendors it as
#: ``typer._click``, older ones depend on the ``click`` package): found through a public class.
_CLICK_EXCEPTION: type[Any] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")  # Any: has show()


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False)
    except AutophagyError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted; rerun the same command to resume", err=True)
        return 130
    except _CLICK_EXCEPTION as exc:  # usage errors: unknown option, missing or ill-typed value
        exc.show()
        return 2
    return int(code) if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
