"""Fingerprints and baselines do not help someone guess a secret."""

import hashlib
import json

import pytest

from keyscan import ScanOptions, scan
from keyscan import baseline as bl
from keyscan import fingerprint as fp
from keyscan.errors import UsageError
from keyscan.report import render
from keyscan.report.interface import ReportContext

from conftest import run_keyscan

TOKEN = "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"
PASSWORD = "Tr0ub4dor&3x"  # 12 characters, the case (made up)


def test_fingerprint_is_the_declared_scrypt():
    """The fingerprint is computed with exactly the declared parameters (so the
    work count below is work actually done per guess)."""
    want = hashlib.scrypt(f"generic-password-assignment\x00{PASSWORD}".encode(), salt=fp.REPORT_SALT,
                          n=fp.N, r=fp.R, p=fp.P, dklen=16).hex()
    assert fp.fingerprint("generic-password-assignment", PASSWORD) == want
    assert len(want) == 32
    assert fp.fingerprint("x", PASSWORD, b"other-salt") != fp.fingerprint("x", PASSWORD)


def test_ten_thousand_guesses_cost_at_least_a_second_of_hashing():
    """Work count: checking 10^4 candidate passwords against one fingerprint
    costs 10^4 scrypt evaluations, each 2*N BlockMix rounds of 2*r Salsa20/8
    cores over 128*r*N bytes of memory that must be kept (memory-hard).
    3.3e8 Salsa20/8 cores at >= 64 cycles each is >= 2e10 cycles, i.e. several
    seconds on one 4 GHz core, and 1 MiB per guess in flight.  (The old scheme
    was 10^4 SHA-256 blocks: a few milliseconds.)  bench/fingerprint.py
    measures the real time."""
    guesses = 10 ** 4
    salsa_per_guess = 2 * fp.N * 2 * fp.R
    assert guesses * salsa_per_guess >= 3 * 10 ** 8
    assert guesses * salsa_per_guess * 64 / 4e9 >= 1.0
    assert 128 * fp.R * fp.N >= 1024 * 1024


def _finding(tmp_path, text, name="settings.py", **kw):
    (tmp_path / name).write_text(text)
    res = scan(ScanOptions(paths=(str(tmp_path),), jobs=1, **kw))
    return res


def test_password_findings_show_no_prefix_nor_length(tmp_path):
    res = _finding(tmp_path, f'DB_PASSWORD = "{PASSWORD}"\n')
    (f,) = res.findings
    assert f.rule_id == "generic-password-assignment"
    assert f.redacted == "…(redacted)"
    for fmt in ("table", "json", "sarif", "markdown", "github", "gitlab"):
        out = render(fmt, res, ReportContext(root=str(tmp_path)))
        assert PASSWORD[:2] not in out.replace("settings.py", ""), fmt
        assert f"({len(PASSWORD)})" not in out, fmt


def test_token_findings_keep_their_prefix(tmp_path):
    res = _finding(tmp_path, f"GITHUB_TOKEN={TOKEN}\n", "a.env")
    assert [f.redacted for f in res.findings] == ["ghp_…(40)"]
    assert res.findings[0].fingerprint == fp.fingerprint("github-pat-classic", TOKEN)


def test_baseline_has_its_own_salt_and_no_report_fingerprint(tmp_path):
    (tmp_path / "a.env").write_text(f"T={TOKEN}\n")
    out1, out2 = tmp_path / "b1.json", tmp_path / "b2.json"
    assert run_keyscan("baseline", "create", str(tmp_path), "-o", str(out1)).returncode == 0
    assert run_keyscan("baseline", "create", str(tmp_path), "-o", str(out2)).returncode == 0
    d1, d2 = json.loads(out1.read_text()), json.loads(out2.read_text())
    assert d1["version"] == 2 and d1["fingerprint"]["scheme"] == "scrypt"
    assert d1["fingerprint"]["baseline_id"] != d2["fingerprint"]["baseline_id"]
    fps = {d1["entries"][0]["fingerprint"], d2["entries"][0]["fingerprint"]}
    assert len(fps) == 2
    assert fp.fingerprint("github-pat-classic", TOKEN) not in fps
    assert fp.legacy_fingerprint("github-pat-classic", TOKEN) not in fps
    salt = bytes.fromhex(d1["fingerprint"]["baseline_id"])
    assert d1["entries"][0]["fingerprint"] == fp.fingerprint("github-pat-classic", TOKEN, salt)
    res = _finding(tmp_path, f"T={TOKEN}\n", "a.env", baseline=str(out1))
    assert res.findings == () and dict(res.suppressed) == {"baseline": 1}


def _v1(tmp_path, secrets):
    entries = [{"fingerprint": fp.legacy_fingerprint("github-pat-classic", s), "rule_id": "github-pat-classic",
                "path": "a.env"} for s in secrets]
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"tool": "keyscan", "version": 1, "entries": entries}))
    return path


def test_version_1_baselines_are_still_read(tmp_path):
    path = _v1(tmp_path, [TOKEN])
    src = tmp_path / "src"
    src.mkdir()
    res = _finding(src, f"T={TOKEN}\n", "a.env", baseline=str(path))
    assert res.findings == () and dict(res.suppressed) == {"baseline": 1}


def test_update_rewrites_version_1_in_version_2(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.env").write_text(f"T={TOKEN}\n")
    path = _v1(tmp_path, [TOKEN, "ghp_" + "x" * 36])
    proc = run_keyscan("baseline", "update", str(src), "-b", str(path))
    assert proc.returncode == 0 and "1 entries kept, 1 removed" in proc.stderr, proc.stderr
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    salt = bytes.fromhex(doc["fingerprint"]["baseline_id"])
    assert [e["fingerprint"] for e in doc["entries"]] == [fp.fingerprint("github-pat-classic", TOKEN, salt)]
    # The updated file still hides the finding; an update keeps the salt.
    assert _finding(src, f"T={TOKEN}\n", "a.env", baseline=str(path)).findings == ()
    assert run_keyscan("baseline", "update", str(src), "-b", str(path)).returncode == 0
    assert json.loads(path.read_text())["fingerprint"]["baseline_id"] == doc["fingerprint"]["baseline_id"]


@pytest.mark.parametrize("doc, needle", [
    ({"tool": "keyscan", "version": 3, "entries": []}, "newer than this keyscan"),
    ({"tool": "keyscan", "version": 2, "fingerprint": {"scheme": "sha256"}, "entries": []}, "unsupported"),
    ({"tool": "keyscan", "version": 2, "fingerprint": {"scheme": "scrypt", "n": 1024, "r": 8, "p": 1,
                                                       "baseline_id": "00"}, "entries": []}, "baseline_id"),
])
def test_bad_baseline_scheme_is_a_usage_error(doc, needle):
    with pytest.raises(UsageError, match=needle):
        bl.parse(doc)
