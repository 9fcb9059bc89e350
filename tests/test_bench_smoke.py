"""Smoke tests for the benchmark scripts and the labelled quality corpus.

Fast and offline: no timing assertions and no reference scanners here. They check that
bench/ imports, that the corpus generator is deterministic and matches the committed
corpus, and that every label points at a real line of a real file.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
QUALITY = ROOT / "fixtures" / "quality"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench_modules():
    # the scripts put bench/ on sys.path themselves and import `common` from there
    perf = _load("bench_perf", BENCH / "perf.py")
    quality = _load("bench_quality", BENCH / "quality.py")
    return sys.modules["common"], perf, quality


def test_bench_scripts_import(bench_modules):
    common, perf, quality = bench_modules
    assert callable(perf.main) and callable(quality.main)
    assert {t.name for t in common.reference_tools()} >= {"gitleaks", "betterleaks", "kingfisher"}
    table = common.md_table(["tool", "MB/s"], [["keyscan", "1.0"]])
    assert table.splitlines()[1].startswith("| ---")


def test_labels_well_formed_and_on_real_lines():
    data = yaml.safe_load((QUALITY / "labels.yml").read_text(encoding="utf-8"))
    root = QUALITY / data["root"]
    positives, negatives = data["positives"], data["negatives"]
    assert 60 <= len(positives) <= 120 and 60 <= len(negatives) <= 140
    seen = set()
    for lab in positives + negatives:
        assert {"file", "line", "family", "carrier", "kind"} <= set(lab), lab
        path = root / lab["file"]
        assert path.is_file(), lab
        lines = path.read_text(encoding="utf-8").split("\n")
        end = lab.get("end_line", lab["line"])
        assert 1 <= lab["line"] <= end <= len(lines), lab
        assert lines[lab["line"] - 1].strip(), f"label on an empty line: {lab}"
        key = (lab["file"], lab["line"])
        assert key not in seen, f"two labels on one line: {lab}"
        seen.add(key)
    assert all(lab.get("negative") is True for lab in negatives)
    assert not any(lab.get("negative") for lab in positives)
    # every corpus file carries at least one label, and one carrier
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    labelled = {lab["file"] for lab in positives + negatives}
    assert files == labelled
    for f in files:
        assert len({lab["carrier"] for lab in positives + negatives if lab["file"] == f}) == 1


def test_generator_is_deterministic_and_matches_committed_corpus():
    gen = _load("quality_generate", QUALITY / "generate.py")
    docs = gen.build(gen.Keys(gen.SEED))
    assert gen.render_labels(docs) == (QUALITY / "labels.yml").read_text(encoding="utf-8")
    for doc in docs:
        assert (QUALITY / "corpus" / doc.path).read_text(encoding="utf-8") == doc.text, doc.path


def test_fake_keys_are_structurally_valid():
    gen = _load("quality_generate", QUALITY / "generate.py")
    from keyscan.detect.checks import github_crc32, gitlab_routable_crc32, npm_crc32, pypi_macaroon

    k = gen.Keys(7)
    for _ in range(20):
        assert github_crc32(k.github("ghp")).value == "valid"
        assert npm_crc32(k.npm()).value == "valid"
        assert gitlab_routable_crc32(k.gitlab()).value == "valid"
        assert pypi_macaroon(k.pypi()).value == "valid"
    assert len(k.openai("proj")) == 164 and "T3BlbkFJ" in k.openai("proj")
    assert len(k.anthropic()) == 108 and k.anthropic().endswith("AA")
    assert len(k.aws_id()) == 20 and len(k.aws_secret()) == 40
    header = json.loads(gen.base64.urlsafe_b64decode(k.jwt({"sub": "x"}).split(".")[0] + "=="))
    assert header["alg"] == "HS256"


def test_other_fixture_label_sets_load(bench_modules):
    _, _, quality = bench_modules
    for ls in quality.discover_label_sets():
        assert ls.scan_root.is_dir(), ls.name
        for lab in ls.labels:
            path = ls.scan_root / lab.file
            assert path.is_file(), (ls.name, lab)
            n = len(path.read_text(encoding="utf-8", errors="replace").split("\n"))
            assert 1 <= lab.line <= n, (ls.name, lab)


def test_scoring_counts_lines_once(bench_modules):
    _, _, quality = bench_modules
    L = quality.Label
    ls = quality.LabelSet("t", QUALITY, [L("a", 1, 1, False, "x", "c"), L("a", 5, 7, False, "y", "c"),
                                         L("a", 9, 9, True, "x", "c")], False)
    s = quality.score(ls, [("a", 1, "r1"), ("a", 1, "r2"), ("a", 6, "r"), ("a", 9, "r"), ("b", 2, "r")])
    assert s.hit == {0, 1}
    assert len(s.tp_lines) == 2 and len(s.fp_lines) == 2


def test_creddata_only_the_8_to_f_half():
    creddata = _load("bench_creddata", BENCH / "creddata.py")
    for rid in ("8035fc42", "ab473e6e", "ffffffff"):
        creddata.assert_allowed(rid)
    for rid in ("00408ef6", "7fffffff", "08295bf0"):
        with pytest.raises(AssertionError):
            creddata.assert_allowed(rid)
    # CredData's id is the crc32 of the snapshot key's bytes (its download_data.get_new_repo_id)
    assert creddata.repo_id_of("00") == "d202ef8d"


def test_creddata_scoring_on_labelled_lines():
    creddata = _load("bench_creddata", BENCH / "creddata.py")
    R = creddata.Row
    rows = [R("x/a.py", 3, 3, "T", ("Password",)), R("x/a.py", 10, 14, "T", ("PEM Private Key",)),
            R("x/a.py", 20, 20, "F", ("Password",)), R("x/a.py", 21, 21, "X", ("Token",)),
            R("x/b.py", 1, 1, "T", ("Slack Token", "Token"))]
    s = creddata.score(rows, [("x/a.py", 3, "r"), ("x/a.py", 3, "r2"), ("x/a.py", 12, "r"),
                              ("x/a.py", 20, "r"), ("x/a.py", 21, "r"), ("x/a.py", 99, "r")])
    assert s.found == {0, 1}
    assert sorted(s.tp_lines) == [("x/a.py", 3), ("x/a.py", 12)]
    assert sorted(s.fp_lines) == [("x/a.py", 20), ("x/a.py", 21)]
    assert s.unlabelled == 1
