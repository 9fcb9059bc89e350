"""Every shipped rule compiles and every example passes through the real pipeline."""

import pytest

from keyscan.detect.prefilter import hyperscan_available
from keyscan.errors import RuleError
from keyscan.ruleset import load_rules
from keyscan.ruleset.check import check_rules
from keyscan.ruleset.loader import load_rule_file

from conftest import run_keyscan

ENGINES = ["python"] + (["hyperscan"] if hyperscan_available() else [])


@pytest.mark.parametrize("kind", ENGINES)
def test_all_rule_examples_pass(kind):
    problems = check_rules(load_rules(), kind, probe=False)  # the probe does not depend on the engine
    assert [str(p) for p in problems] == []


def test_rule_set_size_and_unique_ids():
    rules = load_rules()
    assert len(rules) >= 40
    assert len({r.id for r in rules}) == len(rules)
    for r in rules:
        assert r.examples, r.id
        assert r.negative_examples, f"{r.id} has no negative examples"


@pytest.mark.slow  # the command end to end; test_all_rule_examples_pass covers the examples in process
def test_rules_check_command_passes():
    proc = run_keyscan("rules", "check", "--no-probe")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok (0 problems)")


@pytest.mark.slow
def test_rules_check_probes_every_builtin_rule_on_adversarial_inputs():
    """The command as users run it: policy, examples and the adversarial probe
    (keyscan/ruleset/probe.py) over every shipped rule."""
    proc = run_keyscan("rules", "check")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok (0 problems)")


@pytest.mark.slow  # the command end to end over every rule's examples (~6 s)
def test_rules_check_fails_on_a_missed_example(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "rules:\n"
        "  - id: test-token\n"
        "    name: Test token\n"
        "    provider: Test\n"
        "    pattern: '(?P<secret>tst_[a-z0-9]{20})'\n"
        "    keywords: [tst_]\n"
        "    severity: low\n"
        "    examples: ['k=tst_abc']\n"
        "    negative_examples: ['k=tst_q8w7e6r5t4y3u2i1o0p9']\n"
    )
    proc = run_keyscan("rules", "check", "--no-probe", "--rules", str(tmp_path))
    assert proc.returncode == 1
    assert "rule 'test-token': example 1 not detected" in proc.stderr
    assert "rule 'test-token': negative example 1 reported" in proc.stderr


@pytest.mark.parametrize("body,message", [
    ("  - id: x1\n    name: X\n    provider: P\n    pattern: '(?P<secret>['\n    keywords: [ab]\n"
     "    severity: low\n    examples: [a]\n", "pattern does not compile"),
    ("  - id: x2\n    name: X\n    provider: P\n    pattern: 'ab[0-9]+'\n    keywords: [ab]\n"
     "    severity: low\n    examples: [a]\n", "named group (?P<secret>"),
    ("  - id: x3\n    name: X\n    provider: P\n    pattern: '(?P<secret>ab)'\n    keywords: [ab]\n"
     "    severity: urgent\n    examples: [a]\n", "unknown severity"),
    ("  - id: x4\n    name: X\n    provider: P\n    pattern: '(?P<secret>ab)'\n    keywords: [ab]\n"
     "    severity: low\n", "missing 'examples'"),
    ("  - id: x5\n    name: X\n    provider: P\n    pattern: '(?P<secret>ab)'\n    keywords: [ab]\n"
     "    severity: low\n    examples: [a]\n    colour: red\n", "unknown key(s) colour"),
    ("  - id: x6\n    name: X\n    provider: P\n    pattern: '(?P<secret>ab)'\n    keywords: [ab]\n"
     "    severity: low\n    examples: [a]\n    starts_within: -3\n", "'starts_within' must be an integer"),
])
def test_bad_rule_file_error_names_file_and_rule(tmp_path, body, message):
    path = tmp_path / "r.yml"
    path.write_text("rules:\n" + body)
    with pytest.raises(RuleError) as err:
        load_rule_file(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_bad_rules_dir_on_cli_is_exit_2(tmp_path):
    (tmp_path / "r.yml").write_text("rules: [1, 2\n")
    proc = run_keyscan("--rules", str(tmp_path), str(tmp_path))
    assert proc.returncode == 2
    # the last line is the one error (a scan first names its configuration: "keyscan: rules DIR (--rules)")
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("keyscan: error: ") and "r.yml" in last and proc.stderr.count("error:") == 1
    assert "Traceback" not in proc.stderr


def test_starts_within_tries_the_regex_only_just_before_the_keyword(tmp_path):
    """A match that starts further before its keyword than ``starts_within``
    says is not tried; the default window search finds it."""
    from keyscan.detect.engine import Engine

    text = "name_prefix_token=Zq8wK2mP4xR7vT1n"
    def rule(extra: str):
        path = tmp_path / "r.yml"
        path.write_text("rules:\n  - id: t1\n    name: T\n    provider: P\n"
                        "    pattern: '(?P<secret>name_prefix_token=[A-Za-z0-9]{16})'\n"
                        "    keywords: [token]\n    severity: low\n    examples: [a]\n" + extra)
        return load_rule_file(path)
    assert [m.secret for m in Engine(rule("")).scan(text.encode())] == [text]
    assert [m.secret for m in Engine(rule("    starts_within: 12\n")).scan(text.encode())] == [text]
    assert Engine(rule("    starts_within: 11\n")).scan(text.encode()) == []
