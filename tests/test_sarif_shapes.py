"""SARIF is valid on every shape of finding: several secrets per long line,
multi-line secrets, non-ASCII columns, secrets that are JSON keys; contextRegion
in raw coordinates (a superset of region, or absent) and never showing another
secret in clear."""

import json
import shutil
import subprocess

import pytest

from keyscan import ScanOptions, scan
from keyscan.report import render
from keyscan.report.interface import ReportContext

from conftest import FIXTURES
from test_reports import VALIDATOR

KEYS = ["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", "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",
        "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"]
AWS = "AKIAQ3EGVZ7NRTXK4L2P"


def _pem() -> str:
    src = FIXTURES / "quality" / "corpus" / "deploy" / "keys" / "deploy_key"
    return src.read_text()


def _shapes(root):
    long_line = " ".join(f'"k{i}": "{k}",' for i, k in enumerate(KEYS * 3)) + " " + "x=1; " * 100
    files = {
        "long.json": "{" + long_line.rstrip(", ") + ' "end": 0}\n',
        "nonascii.py": f'# héllo wörld — ünïcode 日本語\nTOKENS = ["日本語 {KEYS[0]}", "ñ {KEYS[1]}"]  # ✓\n',
        "keys.json": json.dumps({"cache": {KEYS[0]: {"refresh": KEYS[1]}}}),
        "multi.txt": "before\n" + _pem() + "after\n",
        "mixed.env": f"A={KEYS[0]} B={AWS} C={KEYS[2]}\n",
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return files


def _results(doc):
    return doc["runs"][0]["results"]


def _check_regions(doc, root):
    n = 0
    for r in _results(doc):
        loc = r["locations"][0]["physicalLocation"]
        reg, ctx = loc["region"], loc.get("contextRegion")
        if ctx is None:
            continue
        n += 1
        # Superset in raw coordinates.
        assert ctx["startLine"] <= reg["startLine"] and ctx["endLine"] >= reg["endLine"], (reg, ctx)
        if ctx["startLine"] == reg["startLine"]:
            assert ctx["startColumn"] <= reg["startColumn"], (reg, ctx)
        if ctx["endLine"] == reg["endLine"]:
            assert ctx["endColumn"] >= reg["endColumn"], (reg, ctx)
        # The columns are those of the file on disk.
        path = root / loc["artifactLocation"]["uri"]
        line = path.read_text(encoding="utf-8").splitlines()[reg["startLine"] - 1]
        assert line[reg["startColumn"] - 1:reg["endColumn"] - 1]
    return n


def test_context_regions_are_raw_supersets(tmp_path):
    _shapes(tmp_path)
    result = scan(ScanOptions(paths=(str(tmp_path),), jobs=1))
    doc = json.loads(render("sarif", result, ReportContext(root=str(tmp_path))))
    assert len(_results(doc)) >= 12
    assert _check_regions(doc, tmp_path) >= 8
    text = json.dumps(doc)
    for k in KEYS + [AWS]:
        assert k[4:16] not in text
    names = {r["id"]: r["name"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert all(n.lower() != i.lower() for i, n in names.items()), names


def test_jwt_rule_name_differs_from_id():
    from keyscan.report.sarif import _rule_name

    assert _rule_name("jwt") == "JwtSecret"
    assert _rule_name("github-pat-classic") == "GithubPatClassic"


@pytest.mark.parametrize("hide", ["baseline", "allowlist", "disabled", "min-severity"])
def test_context_never_shows_a_hidden_secret_on_the_same_line(tmp_path, hide):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.env").write_text(f"A={KEYS[0]} B={AWS}\n")
    opts = dict(paths=(str(src),), jobs=1)
    if hide == "baseline":
        from keyscan import baseline as bl

        first = scan(ScanOptions(**opts))
        bl.write(str(tmp_path / "b.json"), bl.entries_for([f for f in first.findings if f.secret == AWS]))
        opts["baseline"] = str(tmp_path / "b.json")
    elif hide == "allowlist":
        opts["allow_values"] = (AWS,)
    elif hide == "disabled":
        opts["disabled_rules"] = ("aws-access-key-id",)
    else:
        first = scan(ScanOptions(**opts))
        sev = {f.secret: f.severity for f in first.findings}
        assert sev[AWS].rank < sev[KEYS[0]].rank or pytest.skip("the AWS id is not below the token")
        opts["min_severity"] = sev[KEYS[0]]
    result = scan(ScanOptions(**opts))
    assert [f.secret for f in result.findings] == [KEYS[0]]
    out = render("sarif", result, ReportContext(root=str(src)))
    assert AWS not in out and AWS[4:] not in out
    ctx = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["contextRegion"]
    assert ctx["snippet"]["text"].startswith("A=ghp_…(40) B=")


@pytest.mark.slow
def test_strict_validation_of_fixtures_and_generated_shapes(tmp_path):
    if not VALIDATOR.exists() or not shutil.which("npm"):
        pytest.skip("validate-sarif not available")
    gen = tmp_path / "gen"
    gen.mkdir()
    _shapes(gen)
    files = []
    for name, target in [("gen", gen)] + [(p.name, p) for p in sorted(FIXTURES.iterdir()) if p.is_dir()]:
        result = scan(ScanOptions(paths=(str(target),)))
        out = tmp_path / f"{name}.sarif"
        out.write_text(render("sarif", result, ReportContext(root=str(target))), encoding="utf-8")
        files.append(str(out))
    proc = subprocess.run([str(VALIDATOR), "--strict", *files], capture_output=True, text=True, timeout=1800)
    if proc.returncode == 2:
        pytest.skip(f"validate-sarif tools could not be installed: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("schema errors 0, multitool errors 0, multitool warnings 0") == len(files), proc.stdout


def test_snippet_scrub_finds_the_same_secrets_as_a_search_per_secret():
    """Context snippets are scrubbed through a per-file index of secret prefixes
    (thousands of secrets in one file made a search per secret quadratic); the
    result equals redacting each secret found in the text, longest first."""
    import random
    from types import SimpleNamespace

    from keyscan.redact import redact
    from keyscan.report.sarif import _Secrets

    rng = random.Random(11)
    alphabet = "abcXYZ019_-"
    secrets = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(2, 9))) for _ in range(300)})
    fake = [SimpleNamespace(path="a.json", secret=s, start_line=1, end_line=1, start_column=1, end_column=2)
            for s in secrets]
    index = _Secrets(tuple(fake))  # type: ignore[arg-type]

    def by_each_secret(text: str) -> str:
        for s in sorted(secrets, key=lambda s: (-len(s), s)):
            if s in text:
                text = text.replace(s, redact(s, prefix=False))
        return text

    for _ in range(400):
        text = "".join(rng.choice(alphabet + " =\"") for _ in range(rng.randint(0, 60)))
        assert index.scrub("a.json", text) == by_each_secret(text)
    assert index.scrub("other.json", "abcXYZ") == "abcXYZ"
