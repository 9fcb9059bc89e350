"""Errors with a one-line message for the user and an exit code."""

from __future__ import annotations


class KeyscanError(Exception):
    """Base class: ``str(err)`` is a one-line message safe to print."""

    exit_code = 3


class UsageError(KeyscanError):
    """Bad arguments, configuration or rule files (exit 2)."""

    exit_code = 2


class RuleError(UsageError):
    """A rule file is invalid; the message names the file and the rule."""


class ScanError(KeyscanError):
    """A runtime failure of the scan itself (exit 3)."""

    exit_code = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM received: handled like Ctrl-C (workers reaped), exit 143."""

    exit_code = 143


def interrupt_code(exc: BaseException) -> int:
    """Exit status for an interruption: 143 for SIGTERM, 130 for Ctrl-C."""
    return getattr(exc, "exit_code", 130)


def interrupt_message(exc: BaseException) -> str:
    return "keyscan: terminated\n" if isinstance(exc, Terminated) else "keyscan: interrupted\n"
