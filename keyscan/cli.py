"""Command-line interface. It only parses arguments and calls the library.

``keyscan [PATH...]`` is short for ``keyscan scan [PATH...]``.
Exit codes: 0 no findings, 1 findings, 2 usage or configuration error,
3 runtime error, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

COMMANDS = {"scan", "rules", "explain", "report", "baseline", "init", "mcp", "version"}
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_RUNTIME, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _err(message: str) -> None:
    sys.stderr.write(f"keyscan: error: {message}\n")


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Fast paths: no typer/rich import and no rule compilation.
    if args in (["--version"], ["-V"], ["version"]):
        from ._version import __version__

        sys.stdout.write(f"keyscan {__version__}\n")
        return EXIT_OK
    if not args or (args[0] not in COMMANDS and args[0] not in ("--help", "-h")):
        args.insert(0, "scan")
    try:
        app = _build_app()
        # Usage errors are printed by the parser (exit 2); commands turn
        # KeyscanError and Ctrl-C into exits themselves (see commands.guarded).
        app(args=args, prog_name="keyscan", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        sys.stderr.write("keyscan: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        return _internal_error(exc)
    return EXIT_OK


def _internal_error(exc: BaseException) -> int:
    from .errors import KeyscanError

    if isinstance(exc, KeyscanError):
        _err(str(exc))
        return exc.exit_code
    if os.environ.get("KEYSCAN_DEBUG"):
        raise exc
    # Never echo an unexpected exception's text: it could hold file content.
    _err(f"internal error ({type(exc).__name__}); set KEYSCAN_DEBUG=1 for a traceback")
    return EXIT_RUNTIME


def _build_app():
    import typer

    from . import commands

    app = typer.Typer(
        add_completion=False,
        no_args_is_help=False,
        rich_markup_mode=None,
        help="Find leaked secrets in repositories, MCP configs, agent traces, notebooks and CI logs.\n\n"
        "`keyscan [PATH...]` is short for `keyscan scan [PATH...]`. Exit codes: 0 no findings, "
        "1 findings, 2 usage or configuration error, 3 runtime error, 130 interrupted.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    commands.register(app)
    return app
