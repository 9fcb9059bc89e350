"""Command-line interface. It only parses arguments and calls the library.

``keyscan [PATH...]`` is short for ``keyscan scan [PATH...]``.
Exit codes: 0 no findings, 1 findings, 2 usage or configuration error,
3 runtime error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:
    import click

COMMANDS = {"scan", "rules", "explain", "report", "baseline", "init", "mcp", "version", "redact", "hook"}
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_RUNTIME, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _err(message: str) -> None:
    from .output import printable

    sys.stderr.write(f"keyscan: error: {printable(message)}\n")


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Fast paths: no click/rich import and no rule compilation.
    if args in (["--version"], ["-V"], ["version"]):
        from ._version import __version__

        sys.stdout.write(f"keyscan {__version__}\n")
        return EXIT_OK
    if len(args) == 2 and args[0] == "hook" and not args[1].startswith("-"):
        # Agent hooks run before every prompt and tool call: no click import;
        # never raises (fails closed, exit 2).
        from .hooks import main as hook_main

        return hook_main(args[1])
    if not args or (args[0] not in COMMANDS and args[0] not in ("--help", "-h")):
        args.insert(0, "scan")
    _on_sigterm()
    try:
        import click

        from .commands import build_cli

        # Commands turn KeyscanError and Ctrl-C into exits themselves (see
        # commands.guarded); usage errors are printed here, by click (exit 2).
        try:
            # Without standalone mode, click returns the code of an Exit raised
            # by a command (and the command's own return value, None, otherwise).
            code = build_cli().main(args=args, prog_name="keyscan", standalone_mode=False)
            return code if isinstance(code, int) else EXIT_OK
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except click.ClickException as exc:
            import io

            from .output import printable

            buf = io.StringIO()
            exc.show(file=buf)  # click quotes the offending value: never raw
            sys.stderr.write(printable(buf.getvalue(), keep="\n"))
            return exc.exit_code
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None
    except KeyboardInterrupt as exc:
        from .errors import interrupt_code, interrupt_message

        sys.stderr.write(interrupt_message(exc))
        return interrupt_code(exc)
    except Exception as exc:
        return _internal_error(exc)


def _on_sigterm() -> None:
    """SIGTERM (a CI job cancelled, ``timeout``, ``kill``) stops the scan like
    Ctrl-C: workers are terminated and reaped, exit 143."""
    import signal

    from .errors import Terminated

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (keyscan called from a program's thread)
        pass


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


def _build_app() -> click.Group:
    """The click command group (for tests and documentation tools)."""
    from .commands import build_cli

    return build_cli()
