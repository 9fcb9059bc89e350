"""Regex safety as policy plus budget: every rule follows the regex policy
(keyscan/ruleset/policy.py) when it is loaded; `keyscan rules check` runs the
adversarial probe (keyscan/ruleset/probe.py); at scan time a rule that uses up
its time budget on a file is disabled there and reported with its id.

No test here compares a duration with a threshold: the verdicts are the
policy's (static), and the slow patterns used are exponential (2**40 steps and
more), so they run into any time-out on any machine; what is counted is regex
calls, not seconds."""

import pytest
import regex

from keyscan.detect import engine as engine_mod
from keyscan.detect.engine import Engine, RuleBudget
from keyscan.errors import RuleError
from keyscan.models import Severity
from keyscan.pipeline.document import scan_bytes
from keyscan.ruleset import load_rules
from keyscan.ruleset.loader import load_rule_file
from keyscan.ruleset.model import Example, Rule
from keyscan.ruleset.policy import MAX_BOUND, check_pattern, pattern_problems
from keyscan.ruleset.probe import adversarial_inputs, probe_rule

from conftest import run_keyscan

RULES = load_rules()

# -- the policy -----------------------------------------------------------------

UNSAFE = {
    r"(?P<secret>(a+)+)": "nested quantifier",
    r"(?P<secret>(a*)*)": "nested quantifier",
    r"(?P<secret>(?:x[a-z]+){2,9})": "nested quantifier",
    r"(?P<secret>(?:[a-z]{1,9}){1,40})": "nested quantifier",
    r"(?P<secret>(?:[a-z]{1,9}\.?){1,40})": "nested quantifier",  # an optional delimiter delimits nothing
    r"(?i)(?P<secret>(?:[a-z]{1,9}A){1,40})": "nested quantifier",  # A is a letter when case is ignored
    r"(?P<secret>(a|a)*)": "repeated alternation",
    r"(?P<secret>(?:ab|ab){0,64})": "repeated alternation",
    r"(?P<secret>(?:\w|\d){0,64})": "repeated alternation",
    r"token=(?P<secret>.*)": "unbounded quantifier '.*'",
    r"token=(?P<secret>.+)x": "unbounded quantifier '.+'",
    r"token=(?P<secret>\S+)": "unbounded quantifier '\\S+'",
    r'token="(?P<secret>[^"]*)"': "unbounded quantifier '[^\"]*'",
    r"token=(?P<secret>[a-z]{8,})": "unbounded quantifier '[a-z]{8,}'",
    r"token=(?P<secret>[a-z]{8,64}+)\S*+": "unbounded quantifier '\\S*+'",  # possessive, still unbounded
    r"(?|(?P<secret>a{8})|b)+": "unbounded quantifier",  # regex-only syntax
    r"\p{L}+(?P<secret>a{8})": "unbounded quantifier '\\p{L}+'",
    r"(?P<secret>[a-z]{1,%d})" % (MAX_BOUND + 1): f"quantifier bound {MAX_BOUND + 1}",
    r"(?P<q>['\"])(?P<secret>[a-z]{8,64})(?P=q)": "backreference '(?P=q)'",
    r"(['\"])(?P<secret>[a-z]{8,64})\1": "backreference '\\1'",
    r"(?P<q>x)(?P<secret>[a-z]{8})\g<q>": "backreference",
    r"(x)?(?(1)(?P<secret>[a-z]{8})|y)": "conditional",
    r"(?P<secret>a{1,8}(?R)?)": "recursion '(?R)'",
    r"(?P<x>a{1,8})(?P<secret>(?&x))": "recursion '(?&x)'",
    r"(?P<secret>(?:token){e<=2})": "fuzzy matching '{e<=2}'",
    r"[[](?P<secret>(a+)+)": "nested quantifier",  # "[" inside a set is a literal, not a nested set
    r"[]a](?P<secret>a+)": "unbounded quantifier 'a+'",  # a leading "]" is a literal
}

SAFE = [
    r"(?<![A-Za-z0-9_])(?P<secret>ghp_[A-Za-z0-9]{36})(?![A-Za-z0-9_])",
    r"(?i)api[_-]?key[\s\S]{0,300}?(?P<secret>[a-f0-9]{32})",
    r"(?P<secret>(?:[a-z0-9-]{1,63}\.){0,4}example\.com)",  # each repetition ends at a dot
    r"(?P<secret>(?:[a-z]{1,9}A){1,40})",  # case matters: A delimits
    r"(?P<secret>(?:\s|\\[rn]){0,8}[A-Za-z0-9+/]{40})",  # branches start differently
    r"(?P<secret>[A-Za-z0-9_./+~-]{11,255}+)(?![$({\[])",
    r"(?:(?P<secret>sk-[a-z]{8})|(?P<secret>pk-[a-z]{8}))",  # regex allows a repeated group name
    r"(?P<secret>\p{L}{8,32})",  # regex-only syntax, bounded
    r"(?>a{1,5})(?P<secret>b{8})",
    r"(?P<secret>(?>[a-z]{1,9}){1,40})",  # atomic: never backtracks into the group
    r"(?P<secret>(?:[a-z]{1,9}+){1,40})",  # possessive
    r"(?P<secret>[{]x{2}[}])a{3}",  # braces in a class are not quantifiers
]


@pytest.mark.parametrize("pattern,reason", sorted(UNSAFE.items()))
def test_policy_refuses(pattern, reason):
    problem = check_pattern(pattern)
    assert problem is not None and problem.startswith(reason), (pattern, problem)
    assert "\n" not in problem


@pytest.mark.parametrize("pattern", SAFE)
def test_policy_accepts(pattern):
    assert pattern_problems(pattern) == []


def test_every_shipped_rule_follows_the_policy():
    assert len(RULES) > 200
    bad = {(r.id, what): pattern_problems(p) for r in RULES for what, p in (("pattern", r.pattern),
                                                                             ("anchor", r.anchor))
           if p and pattern_problems(p)}
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


@pytest.mark.parametrize("command, evil", [
    (["scan"], r"evil_(?P<secret>(?:[a-z]+)+)!"),
    (["scan"], r"evil_(?P<secret>.*)!"),
    (["scan"], r"evil_(?P<q>a)(?P<secret>[a-z]{8,32})(?P=q)"),
    (["rules", "check"], r"evil_(?P<secret>.*)!"),
    (["rules", "list"], r"evil_(?P<q>a)(?P<secret>[a-z]{8,32})(?P=q)"),
])
def test_cli_refuses_unsafe_user_rules_with_exit_2(tmp_path, command, evil):
    d = _rules_dir(tmp_path, evil)
    target = tmp_path / "empty.txt"
    target.write_text("nothing here\n")
    args = [*command, "--rules", str(d)] + ([str(target)] if command == ["scan"] else [])
    proc = run_keyscan(*args, env={"KEYSCAN_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 2, proc.stderr
    # one error line, the last (a scan first names its configuration: "keyscan: rules DIR (--rules)")
    lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("keyscan: rules ")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("keyscan: error: ")
    assert "corp.yml" in lines[0] and "'corp-evil-token'" in lines[0] and "not ReDoS-safe" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.slow  # the command end to end, with a cold rule cache (~7 s)
def test_cli_accepts_safe_user_rules(tmp_path):
    d = _rules_dir(tmp_path, r"evil_(?P<secret>[a-z]{20})!")
    proc = run_keyscan("rules", "check", "--no-probe", "--rules", str(d), env={"KEYSCAN_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert "0 problems" in proc.stdout


# -- the adversarial probe (keyscan rules check) -----------------------------------


def _rule(pattern: str, keyword: str, example: str, rule_id: str = "test-slow") -> Rule:
    """A rule built directly, bypassing the loader's policy check (as a rule
    the policy cannot see through would)."""
    return Rule(id=rule_id, name="Test", provider="Test", pattern=pattern, keywords=(keyword,),
                severity=Severity.HIGH, examples=(Example(text=example),), window=4096, window_before=0)


# 2**n ways to split a run of "a" between the two branches; no "b" ever comes.
EXPONENTIAL = r"(?P<secret>zq(?:a|aa){1,400}b)"


def test_probe_inputs_are_built_from_the_rule():
    rule = RULES[0]
    inputs = dict(adversarial_inputs(rule, 4000))
    assert len(inputs) >= 8
    assert all(len(text) >= 4000 for text in inputs.values())
    assert any(rule.keywords[0] in text for text in inputs.values())


def test_probe_reports_an_exponential_pattern():
    rule = _rule(EXPONENTIAL, "zq", "zq" + "a" * 30)
    verdict = probe_rule(rule, size=4000, timeout=0.2)
    assert verdict is not None and "timed out" in verdict


def test_rules_check_reports_a_policy_break_it_did_not_load():
    from keyscan.ruleset.check import check_rules

    rule = _rule(r"(?P<secret>zq[a-z]{1,9}+)(?:x|x){2,4}", "zq", "zq" + "abc" + "xx")
    problems = [str(p) for p in check_rules([rule], "python", probe=False)]
    assert problems[:1] == [": rule 'test-slow': pattern breaks the regex policy: repeated alternation with "
                        "overlapping branches '(?:x|x){2,4}'"]


# -- the time budget at scan time ----------------------------------------------


class _Counting:
    """A compiled pattern that counts the regex calls made with it."""

    def __init__(self, pattern):
        self.pattern, self.calls = pattern, 0

    def finditer(self, *args, **kwargs):
        self.calls += 1
        return self.pattern.finditer(*args, **kwargs)

    def match(self, *args, **kwargs):
        self.calls += 1
        return self.pattern.match(*args, **kwargs)


def _slow_engine(monkeypatch):
    rules = [_rule(EXPONENTIAL, "zq", "zq" + "a" * 30), *[r for r in RULES if r.id == "github-pat-classic"]]
    engine = Engine(rules, "python")
    counting = _Counting(regex.compile(EXPONENTIAL))
    real = engine.pattern
    monkeypatch.setattr(engine, "pattern", lambda ri: counting if ri == 0 else real(ri))
    return engine, counting


def test_a_rule_over_its_budget_is_disabled_for_the_rest_of_the_file(monkeypatch):
    monkeypatch.setattr(engine_mod, "RULE_BUDGET", 0.2)
    engine, counting = _slow_engine(monkeypatch)
    (example,) = [r.examples[0].text for r in RULES if r.id == "github-pat-classic"]
    # 50 windows far apart (each keyword hit its own window), then the GitHub rule's own example.
    text = "".join(f"zq{'a' * 60}\n" + "." * 5000 + "\n" for _ in range(50)) + example + "\n"
    failures: list[str] = []
    found = scan_bytes(engine, "big.txt", text.encode(), failures=failures)
    assert counting.calls == 1  # the first window used up the budget; the other 49 were not run
    assert [f.rule_id for f in found] == ["github-pat-classic"]  # the other rules go on
    assert failures == ["rule test-slow disabled on this file: its regex used up its time budget "
                        "(0.2 s; matches of this rule may be missing)"]


def test_the_budget_is_per_document(monkeypatch):
    monkeypatch.setattr(engine_mod, "RULE_BUDGET", 0.2)
    engine, counting = _slow_engine(monkeypatch)
    for n in range(3):
        failures: list[str] = []
        scan_bytes(engine, f"f{n}.txt", f"zq{'a' * 60}\n".encode(), failures=failures)
        assert [f.split(":")[0] for f in failures] == ["rule test-slow disabled on this file"]
    assert counting.calls == 3


def test_a_budget_shared_by_calls_adds_up(monkeypatch):
    engine, counting = _slow_engine(monkeypatch)
    budget = RuleBudget(seconds=0.2)
    data = f"zq{'a' * 60}\n".encode()
    engine.scan(data, budget=budget)
    assert budget.disabled == {"test-slow"} and budget.spent["test-slow"] > 0
    engine.scan(data, budget=budget)  # a decoded view of the same document: not run again
    assert counting.calls == 1
