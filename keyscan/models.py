"""Public data types of the keyscan library API.

Everything here is a frozen dataclass so results can be shared between
processes, hashed, and compared in tests.  A ``Finding`` keeps the clear-text
secret in a field that is excluded from ``repr`` and from every report unless
the caller explicitly asks for it (``--show-secrets``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from .ruleset.model import RuleCatalogue


class Severity(str, enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> "Severity":
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (choose from {choices})") from None


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Confidence(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"low": 0, "medium": 1, "high": 2}[self.value]


@dataclass(frozen=True)
class Provenance:
    """Where a finding came from, beyond its path and position: typed, so
    every producer and consumer agree on the names (issue 16, bug 7).

    Sources attach one to every item and document (``SourceItem.provenance``,
    ``Document.provenance``, extended with :func:`dataclasses.replace`: an
    archive member inside an archive, a cell of a database).  :meth:`pairs`
    gives the report form (JSON ``properties``, SARIF ``source``); its keys are
    the ones reports have always used, and :meth:`from_pairs` reads that form
    back, refusing a key it does not define."""

    commit: str = ""
    """The commit that introduced the secret (``--history``), full hash."""
    commit_date: str = ""
    """Its author date, ISO 8601."""
    commit_path: str = ""
    """The file's path in that commit, relative to the repository root."""
    blob: str = ""
    """The git blob id of that file version."""
    decoder: str = ""
    """The decoder whose fragment held the secret ("" for the raw text)."""
    carrier: str = ""
    """The kind of document carrying the secret when a format decoder
    recognised it (``ci-log``): feeds the NHI location risks."""
    history_only: bool = False
    """Found only in history: removed from the tree, still in the repository."""
    not_committed: str = ""
    """Why the file was never committed (``git-ignored``), or ""."""
    archive_member: str = ""
    """The member's name inside its archive."""
    archive_depth: int = 0
    """Archive nesting level of the member (0: not in an archive)."""
    cell: str = ""
    """A database cell: table, row and column."""
    ai_tool: str = ""
    """The AI tool whose home directory holds the file (AI-home scan)."""
    sent_to_model: str = ""
    """Found in an AI tool's transcript or chat store: the secret was sent to
    a model provider (the tool, or ``yes``)."""

    _KEYS = {"commit": "commit", "commitDate": "commit_date", "commitPath": "commit_path", "blob": "blob",
             "decoder": "decoder", "carrier": "carrier", "history_only": "history_only",
             "not_committed": "not_committed", "archive_member": "archive_member",
             "archive_depth": "archive_depth", "cell": "cell", "ai_tool": "ai_tool",
             "sent_to_model": "sent_to_model"}

    @classmethod
    def from_pairs(cls, pairs: "tuple[tuple[str, str], ...]") -> "Provenance":
        if not pairs:
            return _NO_PROVENANCE
        values: dict = {}
        for key, value in pairs:
            name = cls._KEYS.get(key)
            if name is None:
                raise ValueError(f"unknown provenance key {key!r}")
            if name == "history_only":
                values[name] = str(value).lower() == "true"
            elif name == "archive_depth":
                values[name] = int(value)
            else:
                values[name] = value
        return cls(**values)

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The report form: ``(key, value)`` for every field that is set."""
        out = []
        for key, name in self._KEYS.items():
            value = getattr(self, name)
            if value:
                out.append((key, "true" if value is True else str(value)))
        return tuple(out)

    def get(self, key: str) -> Optional[str]:
        """A field by its report key (``commitDate``), as :meth:`pairs` shows it;
        an unknown key raises ``KeyError``."""
        name = self._KEYS[key]
        value = getattr(self, name)
        if not value:
            return None
        return "true" if value is True else str(value)


_NO_PROVENANCE = Provenance()


@dataclass(frozen=True)
class Finding:
    """One leaked secret at one place."""

    rule_id: str
    rule_name: str
    provider: str
    path: str
    start_line: int
    start_column: int
    end_line: int
    end_column: int
    redacted: str
    fingerprint: str
    severity: Severity
    confidence: Confidence
    entropy: float
    tags: tuple[str, ...] = ()
    location: Optional[str] = None
    """Logical location inside the file, e.g. ``cell 3 (code), output 1`` or
    ``mcpServers.github.env.GITHUB_TOKEN``."""
    nhi: tuple[str, ...] = ("NHI2",)
    checks: tuple[tuple[str, str], ...] = ()
    """Offline structure checks, e.g. ``(("checksum", "valid"),)``."""
    provenance: Provenance = _NO_PROVENANCE
    """Where the finding came from (commit, decoder, archive member...)."""
    secret: str = field(default="", repr=False, compare=False)
    """The clear-text secret. Never printed unless ``show_secrets`` is set."""
    line_text: str = field(default="", repr=False, compare=False)
    """The on-disk line holding the secret start (for inline allow comments)."""

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.start_line, self.start_column, self.rule_id, self.fingerprint)

    @property
    def properties(self) -> tuple[tuple[str, str], ...]:
        """:attr:`provenance` in its report form (JSON ``properties``)."""
        return self.provenance.pairs()

    def prop(self, name: str) -> Optional[str]:
        """A provenance field by its report key (``commit``, ``commitDate``,
        ``history_only``...); a key :class:`Provenance` does not define raises."""
        return self.provenance.get(name)

    @property
    def not_committed(self) -> bool:
        """The file is git-ignored: the secret is on disk, never in a commit."""
        return bool(self.provenance.not_committed)

    @property
    def sent_to_model(self) -> bool:
        """Found in a transcript, chat store or prompt history of an AI tool:
        the secret was sent to a model provider."""
        return bool(self.provenance.sent_to_model)


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class ScanOptions:
    """Inputs of :func:`keyscan.scan`.

    ``paths`` may hold directories, files, or ``"-"`` for standard input.
    """

    paths: tuple[str, ...] = (".",)
    max_file_size: int = 0
    """Files above this are skipped and reported (0, the default: no limit; large
    text files are read in chunks)."""
    chunk_size: int = 8 * 1024 * 1024
    """Files above this are read and scanned in overlapping chunks of this size
    (bounded memory; a secret across a chunk boundary is still found once)."""
    follow_symlinks: bool = False
    extra_rule_dirs: tuple[str, ...] = ()
    disabled_rules: tuple[str, ...] = ()
    min_severity: Severity = Severity.INFO
    jobs: int = 0
    """Worker processes; 0 picks one per core for large scans, 1 disables the pool."""
    engine: str = "auto"
    """Prefilter engine: ``auto``, ``hyperscan`` or ``python``."""
    entropy: bool = True
    """Run the generic (entropy) detector."""
    stdin_name: str = "<stdin>"
    stdin_data: Optional[bytes] = field(default=None, repr=False)
    progress: Optional[Callable[[int, int], None]] = field(default=None, compare=False, repr=False)
    """Called with ``(files_done, files_total)`` as the scan advances."""
    use_cache: bool = True
    # -- git modes (keyscan/sources/history.py) ----------------------------------
    history: bool = False
    """Also scan every commit reachable from all refs (or ``branch``)."""
    since: Optional[str] = None
    branch: Optional[str] = None
    max_commits: int = 0
    staged: bool = False
    """Scan only what the next commit adds (the index against HEAD)."""
    diff_ref: Optional[str] = None
    """Scan only lines added since this ref's merge base with HEAD."""
    # -- suppression (keyscan/suppress.py, keyscan/baseline.py) -------------
    baseline: Optional[str] = None
    allow_values: tuple[str, ...] = field(default=(), repr=False)
    allow_regexes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    """Extra gitignore-style patterns of paths not to scan."""
    keyscanignore: bool = True
    """Honour ``.keyscanignore`` files (``--no-config``: not).  In ``--diff`` and
    ``--staged`` modes they are read from the trusted commit (:mod:`keyscan.trust`)."""
    ai_home: bool = False
    """Scan the places AI tools keep secrets on this machine instead of ``paths``
    (``keyscan/sources/aihome.py``)."""
    home: Optional[str] = None
    """Home directory for ``ai_home`` (default: the user's)."""
    decode_depth: int = 3
    """Encoding layers (base64, hex, URL-encoding) decoded inside one another (0: none)."""
    git_ignored: str = "carriers"
    """Git-ignored files: ``carriers`` (those that carry secrets, see
    :mod:`keyscan.sources.carriers`), ``none`` or ``all``."""
    strict: bool = False
    """Let a decoder's exception propagate instead of reporting the file as
    partly scanned (tests, fuzzing; also ``KEYSCAN_STRICT=1``)."""
    generic_min_entropy: float = 0.0
    """Raise the entropy bar for generic detection (0: the measured defaults)."""


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]
    files_scanned: int
    bytes_scanned: int
    skipped: tuple[SkippedFile, ...]
    duration: float
    rules_loaded: int
    engine: str
    suppressed: tuple[tuple[str, int], ...] = ()
    commits_scanned: int = 0
    """Commits read by ``--history`` (0 otherwise)."""
    errors: tuple[str, ...] = ()
    """What could not be read although it should have been (a git object git
    could not read...): findings may be missing, the scan exits 3."""
    suppressed_findings: tuple[tuple[str, Finding], ...] = field(default=(), repr=False, compare=False)
    """The suppressed findings at or above ``min_severity``, with their kind
    (``inline-allow``, ``baseline``, ``allowlist``): SARIF keeps them as
    suppressed results.  ``suppressed`` counts them, and ``min-severity``."""
    config_changes: tuple[str, ...] = ()
    """Configuration files (``.keyscan.toml``, ``.keyscanignore``, a baseline,
    rule files...) that the reviewed change (``--diff``/``--staged``) touches:
    not applied, reported, and the scan fails (exit 1) as for a finding."""
    catalogue: Optional[RuleCatalogue] = field(default=None, repr=False, compare=False)
    """The rules the engine ran with (built-in and ``--rules``, as loaded):
    reports take rule metadata from here.  None only for a hand-built result
    (reports then use the built-in rules)."""

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 3
        return 1 if self.findings or self.config_changes else 0
