"""ReDoS safety: every rule passes a static check at load time, and every
shipped rule's pattern runs against adversarial inputs within a time bound."""

import time

import pytest
import regex

from keyscan.errors import RuleError
from keyscan.ruleset import load_rules
from keyscan.ruleset.loader import load_rule_file
from keyscan.ruleset.redos import check_pattern, pattern_problems

from conftest import run_keyscan

RULES = load_rules()
SIZE = 100_000  # characters per adversarial input
BOUND = 0.5  # seconds: the regex time-out of one adversarial run (never an assertion)


# -- static check ------------------------------------------------------------

UNSAFE = {
    r"(?P<secret>(a+)+)": "nested quantifier",
    r"(?P<secret>(a*)*)": "nested quantifier",
    r"(?P<secret>(a|a)*)": "repeated alternation",
    r"(?P<secret>(?:ab|ab){0,64})": "repeated alternation",
    r"(?P<secret>(?:\w|\d){0,64})": "repeated alternation",
    r"(?P<secret>(?:x[a-z]+){2,9})": "nested quantifier",
    r"(?P<secret>(?:[a-z]{1,9}){1,40})": "ambiguous nested repetition",
    r"token=(?P<secret>.*)": "unbounded quantifier '.*'",
    r"token=(?P<secret>.+)x": "unbounded quantifier '.+'",
    r"token=(?P<secret>\S+)": "unbounded quantifier '\\S+'",
    r'token="(?P<secret>[^"]*)"': "unbounded quantifier",
    r"token=(?P<secret>[a-z]{8,})": "unbounded quantifier",
    r"token=(?P<secret>[a-z]{8,64}+)\S*+": "unbounded quantifier",
    r"(?P<q>['\"])(?P<secret>[a-z]{8,64})(?P=q)": "backreference",
    r"(['\"])(?P<secret>[a-z]{8,64})\1": "backreference",
    r"(x)?(?(1)(?P<secret>[a-z]{8})|y)": "conditional",
    r"(?|(?P<secret>a{8})|b)+": "unbounded quantifier",  # regex-only syntax: lexical fallback
    r"\p{L}+(?P<secret>a{8})": "unbounded quantifier",
}

SAFE = [
    r"(?<![A-Za-z0-9_])(?P<secret>ghp_[A-Za-z0-9]{36})(?![A-Za-z0-9_])",
    r"(?i)api[_-]?key[\s\S]{0,300}?(?P<secret>[a-f0-9]{32})",
    r"(?P<secret>(?:[a-z0-9-]{1,63}\.){0,4}example\.com)",
    r"(?P<secret>(?:\s|\\[rn]){0,8}[A-Za-z0-9+/]{40})",
    r"(?P<secret>[A-Za-z0-9_./+~-]{11,255}+)(?![$({\[])",
    r"(?:(?P<secret>sk-[a-z]{8})|(?P<secret>pk-[a-z]{8}))",  # regex allows a repeated group name
    r"(?P<secret>\p{L}{8,32})",  # regex-only syntax, bounded
    r"(?>a{1,5})(?P<secret>b{8})",
]


@pytest.mark.parametrize("pattern,reason", sorted(UNSAFE.items()))
def test_static_check_rejects_unsafe_patterns(pattern, reason):
    problem = check_pattern(pattern)
    assert problem is not None and problem.startswith(reason), (pattern, problem)
    assert "\n" not in problem


@pytest.mark.parametrize("pattern", SAFE)
def test_static_check_accepts_bounded_patterns(pattern):
    assert list(pattern_problems(pattern)) == []


def test_every_shipped_rule_passes_the_static_check():
    assert len(RULES) > 100
    bad = {r.id: check_pattern(r.pattern) for r in RULES if check_pattern(r.pattern)}
    assert bad == {}


# -- loading user rules --------------------------------------------------------

RULE_YAML = """\
rules:
  - id: corp-safe-token
    name: Corp safe token
    provider: Corp
    pattern: '(?P<secret>corp_[a-z0-9]{{24}})'
    keywords: [corp_]
    severity: high
    examples: ['x = corp_{safe}']
  - id: corp-evil-token
    name: Corp evil token
    provider: Corp
    pattern: '{evil}'
    keywords: [evil_]
    severity: high
    examples: ['x = evil_qwzrtkpmnbvcxlkjhgfd!']
"""


def _rules_dir(tmp_path, evil: str):
    d = tmp_path / "myrules"
    d.mkdir()
    (d / "corp.yml").write_text(RULE_YAML.format(safe="a1" * 12, evil=evil))
    return d


def test_loader_refuses_an_unsafe_user_rule_naming_file_and_rule(tmp_path):
    d = _rules_dir(tmp_path, r"evil_(?P<secret>(?:[a-z]+)+)!")
    with pytest.raises(RuleError) as info:
        load_rule_file(d / "corp.yml")
    msg = str(info.value)
    assert str(d / "corp.yml") in msg and "'corp-evil-token'" in msg
    assert "not ReDoS-safe" in msg and "nested quantifier" in msg


@pytest.mark.parametrize("evil", [
    r"evil_(?P<secret>(?:[a-z]+)+)!",
    r"evil_(?P<secret>.*)!",
    r"evil_(?P<q>a)(?P<secret>[a-z]{8,32})(?P=q)",
])
@pytest.mark.parametrize("command", [["scan"], ["rules", "check"], ["rules", "list"]])
def test_cli_refuses_unsafe_user_rules_with_exit_2(tmp_path, command, evil):
    d = _rules_dir(tmp_path, evil)
    target = tmp_path / "empty.txt"
    target.write_text("nothing here\n")
    args = [*command, "--rules", str(d)] + ([str(target)] if command == ["scan"] else [])
    proc = run_keyscan(*args, env={"KEYSCAN_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("keyscan: error: ")
    assert "corp.yml" in lines[0] and "'corp-evil-token'" in lines[0] and "not ReDoS-safe" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_accepts_safe_user_rules(tmp_path):
    d = _rules_dir(tmp_path, r"evil_(?P<secret>[a-z]{20})!")
    proc = run_keyscan("rules", "check", "--rules", str(d), env={"KEYSCAN_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert "0 problems" in proc.stdout


# -- dynamic check: adversarial inputs ----------------------------------------


def _alphabet(rule) -> str:
    chars = set("".join(e.secret or e.text for e in rule.examples)) - {"\n", "\r"}
    return "".join(sorted(chars)) or "aA0"


def _fill(unit: str, size: int = SIZE) -> str:
    return (unit * (size // max(len(unit), 1) + 1))[:size]


def _adversarial(rule, size: int = SIZE):
    alpha = _alphabet(rule)
    for kw in rule.keywords[:3]:
        yield f"run of {kw!r} then the alphabet", _fill(kw, size // 2) + _fill(alpha, size // 2)
        yield f"{kw!r} + alphabet, repeated", _fill(kw + alpha, size)
        yield f"{kw!r} + 100 KB of spaces", kw + "=" + " " * size + "x"
        yield f"{kw!r} + 100 KB of one letter", kw + "=" + "A" * size
    for n, ex in enumerate(rule.examples[:2], 1):
        line = ex.text.replace("\n", " ")
        yield f"example {n} as one 100 KB line", _fill(line, size)
        yield f"example {n} near miss (last char cut), repeated", _fill(line[:-1] + " ", size)
        yield f"example {n} near miss (last char doubled), repeated", _fill(line + line[-1:] + "\n", size)
        yield f"example {n} then 100 KB of its alphabet", ex.text + _fill(alpha, size)
        if ex.secret and len(ex.secret) > 8:
            cut = ex.secret[: len(ex.secret) // 2]
            yield f"example {n} half secrets, repeated", _fill(line.replace(ex.secret, cut) + " ", size)


def _cpu(pattern, text) -> float:
    """CPU seconds of this process (other processes' load does not count);
    infinite when the regex ran into its time-out."""
    t0 = time.process_time()
    try:
        for _ in pattern.finditer(text, timeout=10 * BOUND):
            pass
    except TimeoutError:
        return float("inf")
    return time.process_time() - t0


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_shipped_rule_runs_in_linear_time_on_adversarial_input(rule):
    """No wall-clock threshold: the cost on a 4x larger input must grow about
    linearly (a quadratic pattern costs 16x).  CPU time, not wall time, and
    inputs too cheap to measure (under 20 ms at full size) pass."""
    pattern = regex.compile(rule.pattern)
    slow = []
    small = dict(_adversarial(rule, SIZE // 4))
    for name, text in _adversarial(rule, SIZE):
        big = _cpu(pattern, text)
        if big == float("inf"):
            slow.append(f"{name}: timed out")
            continue
        if big < 0.02:
            continue
        ratio = big / max(_cpu(pattern, small[name]), 1e-4)
        if ratio > 8:  # measure again before failing: a cold cache or a page fault can skew one run
            ratio = min(ratio, min(_cpu(pattern, text) for _ in range(2)) /
                        max(max(_cpu(pattern, small[name]) for _ in range(2)), 1e-4))
        if ratio > 8:
            slow.append(f"{name}: x{ratio:.1f} for 4x the input ({big:.2f}s CPU)")
    assert slow == [], f"{rule.id} ({rule.source}) grows faster than linear: {slow}"
