"""Load and validate rule files.

A rule file is YAML with a top-level ``rules:`` list.  Every problem is
reported as a :class:`~keyscan.errors.RuleError` naming the file and the rule.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Optional

import regex

from ..errors import RuleError
from ..models import Confidence, Severity
from .model import Example, Rule

_ALLOWED_KEYS = {
    "id", "name", "provider", "family", "pattern", "keywords", "min_entropy", "severity",
    "confidence", "tags", "nhi", "checks", "references", "description", "window",
    "window_before", "starts_within", "priority", "generic", "placeholder_filter", "examples", "anchor",
    "negative_examples",
}
_REQUIRED = ("id", "name", "provider", "pattern", "keywords", "severity", "examples")
_NHI_IDS = {f"NHI{i}" for i in range(1, 11)}
_ID_RE = regex.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]\Z")  # \Z: "$" would let "id\n" through


def check_redos(pattern: str) -> Optional[str]:
    """The regex policy (imported here, when rules are loaded from YAML: a run
    that takes the compiled rules from the cache never pays for it)."""
    from .policy import check_pattern

    return check_pattern(pattern)


def builtin_rules_dir() -> Path:
    """The directory holding the shipped rules.

    In a wheel the top-level ``rules/`` directory is installed as
    ``keyscan/_rules``; in a source checkout (or an editable install) it is
    the ``rules/`` directory next to the package.
    """
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_rules"
    if packaged.is_dir():
        return packaged
    return here.parent / "rules"


def rule_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if d.is_file():
            files.append(d)
            continue
        if not d.is_dir():
            raise RuleError(f"rules directory not found: {d}")
        files.extend(sorted(p for p in d.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file()))
    return files


def load_rules(extra_dirs: Iterable[str | os.PathLike] = (), *, builtin: bool = True,
               disabled: Iterable[str] = ()) -> tuple[Rule, ...]:
    dirs: list[Path] = [builtin_rules_dir()] if builtin else []
    dirs.extend(Path(d) for d in extra_dirs)
    disabled_set = set(disabled)
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in rule_files(dirs):
        for rule in load_rule_file(path):
            if rule.id in seen:
                raise RuleError(f"{path}: rule {rule.id!r}: duplicate id (also in {seen[rule.id]})")
            seen[rule.id] = str(path)
            if rule.id not in disabled_set:
                rules.append(rule)
    return tuple(rules)


def _starts_within(raw: dict, where: str) -> int:
    value = raw.get("starts_within", -1)
    if not isinstance(value, int) or isinstance(value, bool) or value < -1 or value > 256:
        raise RuleError(f"{where}: 'starts_within' must be an integer from 0 to 256")
    return value


def load_rule_file(path: Path) -> list[Rule]:
    import yaml  # only when parsing rule files: a cached engine needs no YAML

    from .. import safeyaml

    try:
        with open(path, "rb") as fh:
            data = safeyaml.load(fh)
    except (OSError, yaml.YAMLError, safeyaml.YamlBombError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RuleError(f"{path}: cannot read rule file: {detail}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{path}: expected a mapping with a 'rules:' list")
    return [parse_rule(raw, path, i) for i, raw in enumerate(data["rules"])]


def parse_rule(raw: Any, path: Path, index: int) -> Rule:
    where = f"{path}: rule #{index + 1}"
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: expected a mapping")
    if isinstance(raw.get("id"), str):
        where = f"{path}: rule {raw['id']!r}"
    unknown = set(raw) - _ALLOWED_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in _REQUIRED:
        if key not in raw or raw[key] in (None, "", []):
            raise RuleError(f"{where}: missing '{key}'")
    rid = raw["id"]
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise RuleError(f"{where}: id must be lower-case letters, digits, '-' or '.'")

    pattern = raw["pattern"]
    if not isinstance(pattern, str):
        raise RuleError(f"{where}: 'pattern' must be a string")
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise RuleError(f"{where}: pattern does not compile: {exc}") from None
    if "secret" not in compiled.groupindex:
        raise RuleError(f"{where}: pattern needs a named group (?P<secret>...)")
    unsafe = check_redos(pattern)
    if unsafe:
        raise RuleError(f"{where}: pattern is not ReDoS-safe: {unsafe}")

    anchor = raw.get("anchor", "")
    if anchor:
        if not isinstance(anchor, str):
            raise RuleError(f"{where}: 'anchor' must be a string")
        try:
            regex.compile(anchor)
        except regex.error as exc:
            raise RuleError(f"{where}: anchor does not compile: {exc}") from None
        unsafe = check_redos(anchor)
        if unsafe:
            raise RuleError(f"{where}: anchor is not ReDoS-safe: {unsafe}")

    keywords = _str_list(raw["keywords"], where, "keywords")
    for kw in keywords:
        if len(kw) < 2 or not kw.isascii():
            raise RuleError(f"{where}: keyword {kw!r} must be ASCII and at least 2 characters")

    try:
        severity = Severity.parse(str(raw["severity"]))
        confidence = Confidence(str(raw.get("confidence", "high")).lower())
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None

    nhi = tuple(_str_list(raw.get("nhi", []), where, "nhi"))
    bad = [n for n in nhi if n not in _NHI_IDS]
    if bad:
        raise RuleError(f"{where}: unknown NHI id(s) {', '.join(bad)} (use NHI1..NHI10)")

    examples = _examples(raw.get("examples"), where, "examples")
    if not examples:
        raise RuleError(f"{where}: needs at least one example")
    negatives = _examples(raw.get("negative_examples", []), where, "negative_examples")

    try:
        return Rule(
            id=rid,
            name=str(raw["name"]),
            provider=str(raw["provider"]),
            family=str(raw.get("family") or raw["provider"]).lower(),
            pattern=pattern,
            keywords=tuple(kw.lower() for kw in keywords),
            severity=severity,
            confidence=confidence,
            min_entropy=float(raw.get("min_entropy", 0.0)),
            tags=tuple(_str_list(raw.get("tags", []), where, "tags")),
            nhi=nhi,
            checks=tuple(_str_list(raw.get("checks", []), where, "checks")),
            references=tuple(_str_list(raw.get("references", []), where, "references")),
            description=str(raw.get("description", "")).strip(),
            anchor=anchor,
            window=int(raw.get("window", 512)),
            window_before=int(raw.get("window_before", 256)),
            starts_within=_starts_within(raw, where),
            priority=int(raw.get("priority", 0)),
            generic=bool(raw.get("generic", False)),
            placeholder_filter=bool(raw.get("placeholder_filter", True)),
            examples=examples,
            negative_examples=negatives,
            source=str(path),
        )
    except (TypeError, ValueError) as exc:
        raise RuleError(f"{where}: {exc}") from None


def _str_list(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}: '{key}' must be a list of strings")
    return value


def _examples(value: Any, where: str, key: str) -> tuple[Example, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RuleError(f"{where}: '{key}' must be a list")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(Example(text=item))
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            extra = set(item) - {"text", "secret", "path"}
            if extra:
                raise RuleError(f"{where}: {key} entry has unknown key(s) {', '.join(sorted(extra))}")
            out.append(Example(text=item["text"], secret=item.get("secret"),
                               path=str(item.get("path", "example.txt"))))
        else:
            raise RuleError(f"{where}: each of '{key}' must be a string or a mapping with 'text'")
    return tuple(out)
