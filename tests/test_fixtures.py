"""`keyscan fixtures/` reports each planted key at the right file and line, and nothing else.

Every fixture directory carries a labels file written by its generator:
``labels:`` (or ``findings:``) entries ``{file, line, rule[, column][, location]}`` for
expected findings and ``{file, line, negative: true}`` for planted look-alikes. The
quality corpus (``fixtures/quality``) labels positives by provider family, so there
only the (file, line) is compared.
"""

import json

import pytest
import yaml

from conftest import FIXTURES, run_keyscan


def _label_sets():
    exact, lines_only = set(), set()
    for labels_file in sorted(FIXTURES.glob("*/labels.yml")):
        base = labels_file.parent
        doc = yaml.safe_load(labels_file.read_text())
        if "positives" in doc:  # the quality corpus
            root = base / doc.get("root", ".")
            for p in doc["positives"]:
                end = p.get("end_line", p["line"])
                lines_only.add((str((root / p["file"]).relative_to(FIXTURES.parent)), p["line"], end))
            continue
        for entry in doc.get("labels", []) + doc.get("findings", []):
            if entry.get("negative"):
                continue
            path = str((base / entry["file"]).relative_to(FIXTURES.parent))
            exact.add((path, entry["line"], entry["rule"]))
    return exact, lines_only


@pytest.fixture(scope="module")
def fixture_findings():
    proc = run_keyscan("fixtures", "-f", "json", "-q", "--no-progress")
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)["findings"]


def test_every_planted_key_is_reported_at_its_file_line_and_rule(fixture_findings):
    exact, lines_only = _label_sets()
    got = {(f["path"], f["start_line"], f["rule_id"]) for f in fixture_findings}
    labelled_dirs = {p.split("/")[1] for p, _, _ in exact}
    missed = sorted(exact - got)
    assert missed == []
    extra = sorted(g for g in got - exact
                   if g[0].split("/")[1] in labelled_dirs)
    assert extra == []


def test_quality_corpus_positives_found_and_nothing_else(fixture_findings):
    _, lines_only = _label_sets()
    if not lines_only:
        pytest.skip("no quality corpus")
    found = [(f["path"], f["start_line"]) for f in fixture_findings if f["path"].startswith("fixtures/quality/")]
    matched = {lab for lab in lines_only for (p, ln) in found if p == lab[0] and lab[1] <= ln <= lab[2]}
    missed = sorted(lines_only - matched)
    assert missed == []
    unlabelled = sorted((p, ln) for p, ln in found
                        if not any(p == lab[0] and lab[1] <= ln <= lab[2] for lab in lines_only))
    assert unlabelled == []
