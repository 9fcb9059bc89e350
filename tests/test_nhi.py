"""OWASP NHI mapping: data, ordering, location- and aggregation-based enrichment,
and the remediation catalogue covering every loaded rule."""

from __future__ import annotations

import dataclasses

import pytest

from keyscan import nhi
from keyscan.models import Confidence, Finding, Provenance, ScanOptions, Severity
from keyscan.redact import redact
from keyscan.remediation import NO_IDENTITY, catalogue, remediation_for
from keyscan.ruleset import load_rules


def make(path, secret="sk_live_51Hq8ZkQ2vLmX9cR4tYb7NwPd", rule_id="golden-stripe-live", nhi_ids=("NHI2",),
         tags=(), provenance=Provenance(), fingerprint=None):
    return Finding(rule_id=rule_id, rule_name="x", provider="Stripe", path=path, start_line=1, start_column=1,
                   end_line=1, end_column=len(secret) + 1, redacted=redact(secret),
                   fingerprint=fingerprint or f"fp-{secret}", severity=Severity.HIGH,
                   confidence=Confidence.HIGH, entropy=4.0, tags=tags, nhi=nhi_ids, provenance=provenance,
                   secret=secret)


def test_ten_risks_with_official_titles_and_links():
    r = nhi.risks()
    assert list(r) == [f"NHI{i}" for i in range(1, 11)]
    assert r["NHI2"].title == "Secret Leakage"
    assert r["NHI6"].title == "Insecure Cloud Deployment Configurations"
    assert r["NHI10"].title == "Human Use of NHI"
    assert r["NHI9"].url == "https://owasp.org/www-project-non-human-identities-top-10/2025/9-nhi-reuse/"
    assert r["NHI2"].official_id == "NHI2:2025" and r["NHI2"].tag == "OWASP-NHI2:2025"
    for risk in r.values():
        assert risk.url.startswith("https://owasp.org/www-project-non-human-identities-top-10/2025/")
        assert risk.slug.startswith(risk.id[3:] + "-")


def test_order_nhi2_first_then_ascending():
    assert nhi.order(["NHI10", "NHI7", "NHI5", "NHI2", "NHI7"]) == ("NHI2", "NHI5", "NHI7", "NHI10")
    assert nhi.order([]) == ("NHI2",)


@pytest.mark.parametrize("path", [
    ".github/workflows/ci.yml", "repo/.gitlab-ci.yml", "Jenkinsfile", "infra/main.tf", "prod.tfvars",
    "charts/api/values.yaml", "k8s/secret.yaml", "Dockerfile", "docker-compose.dev.yml", "ci-logs/job-123.txt",
])
def test_ci_and_deploy_paths(path):
    assert nhi.is_ci_or_deploy(path)
    assert "NHI6" in nhi.enrich([make(path)])[0].nhi


@pytest.mark.parametrize("path", [
    ".mcp.json", ".cursor/mcp.json", ".vscode/mcp.json", "claude_desktop_config.json", "home/.claude.json",
    ".codex/config.toml", ".config/goose/config.yaml", "cline_mcp_settings.json", ".gemini/settings.json",
    ".continue/config.yaml", ".zed/settings.json", "mcp_config.json",
])
def test_mcp_paths(path):
    assert nhi.is_mcp_config(path)
    assert "NHI3" in nhi.enrich([make(path)])[0].nhi


def test_plain_source_gets_only_type_risks():
    f = make("src/app.py", nhi_ids=("NHI2", "NHI7"), secret="abcdEFGH1234abcdEFGH1234", rule_id="x")
    assert nhi.enrich([f])[0].nhi == ("NHI2", "NHI7")


def test_personal_token_in_mcp_config_is_nhi10_and_nhi3():
    f = make(".cursor/mcp.json", rule_id="some-pat", tags=("personal-token",), secret="t" * 40)
    assert {"NHI3", "NHI10"} <= set(nhi.enrich([f])[0].nhi)


def test_transcript_and_shell_history_are_human_use():
    for path in (".claude/projects/-home-me-app/1b2c.jsonl", "home/me/.bash_history"):
        assert "NHI10" in nhi.enrich([make(path, secret="q" * 30, rule_id="x")])[0].nhi


def test_live_key_in_tests_and_test_key_in_production():
    assert "NHI8" in nhi.enrich([make("tests/test_pay.py")])[0].nhi
    assert "NHI8" in nhi.enrich([make(".env.development")])[0].nhi
    test_key = make(".env.production", secret="sk_test_51Hq8ZkQ2vLmX9cR4tYb7NwPd", rule_id="stripe-test")
    assert "NHI8" in nhi.enrich([test_key])[0].nhi
    assert "NHI8" not in nhi.enrich([make(".env.production")])[0].nhi


def test_same_secret_in_two_files_is_nhi9_and_environments_nhi8():
    a, b = make("svc-a/config.py", rule_id="x", secret="w" * 30), make("svc-b/config.py", rule_id="x",
                                                                           secret="w" * 30)
    out = nhi.enrich([a, b])
    assert all("NHI9" in f.nhi and "NHI8" not in f.nhi for f in out)
    out = nhi.enrich([make(".env.staging", rule_id="x", secret="w" * 30),
                      make(".env.production", rule_id="x", secret="w" * 30)])
    assert all({"NHI8", "NHI9"} <= set(f.nhi) for f in out)
    # the same secret twice in one file is not reuse
    one = make("a.py", rule_id="x", secret="w" * 30)
    assert "NHI9" not in nhi.enrich([one, dataclasses.replace(one, start_line=5)])[0].nhi


def test_history_only_is_improper_offboarding():
    f = make("old/config.py", rule_id="x", secret="v" * 30, provenance=Provenance(history_only=True))
    assert "NHI1" in nhi.enrich([f])[0].nhi
    assert "NHI1" not in nhi.enrich([make("old/config.py", rule_id="x", secret="v" * 30)])[0].nhi


def test_enrich_keeps_order_and_is_idempotent():
    fs = [make("b/.mcp.json", rule_id="x", secret="y" * 30), make("a/Dockerfile", rule_id="x", secret="z" * 30)]
    once = nhi.enrich(fs)
    assert [f.path for f in once] == ["b/.mcp.json", "a/Dockerfile"]
    assert nhi.enrich(once) == once
    for f in once:
        assert f.nhi[0] == "NHI2" and list(f.nhi[1:]) == sorted(f.nhi[1:], key=lambda x: int(x[3:]))


# --------------------------------------------------------------------------
# Through the real pipeline with built-in rules


@pytest.fixture(scope="module")
def engine():
    from keyscan.api import build_engine

    return build_engine(ScanOptions())


def _example_secret(rule_id):
    for r in load_rules():
        if r.id == rule_id:
            for ex in r.examples:
                if ex.secret:
                    return ex.secret
    pytest.fail(f"rule {rule_id} missing")


def test_builtin_github_pat_in_mcp_config(engine):
    from keyscan.api import scan_bytes

    pat = _example_secret("github-pat-classic")
    doc = ('{"mcpServers": {"github": {"command": "npx", "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "%s"}}}}\n'
           % pat).encode()
    found = nhi.enrich(scan_bytes(engine, ".cursor/mcp.json", doc))
    assert [f.rule_id for f in found] == ["github-pat-classic"]
    assert {"NHI2", "NHI3", "NHI10"} <= set(found[0].nhi)


def test_builtin_workflow_finding_is_nhi6(engine):
    from keyscan.api import scan_bytes

    pat = _example_secret("github-pat-classic")
    doc = f"jobs:\n  a:\n    steps:\n      - run: gh release create\n        env:\n          GH_TOKEN: {pat}\n"
    found = nhi.enrich(scan_bytes(engine, ".github/workflows/release.yml", doc.encode()))
    assert found and all("NHI6" in f.nhi for f in found)


def test_builtin_akia_key_is_nhi7(engine):
    from keyscan.api import scan_bytes

    akia = [r for r in load_rules() if any("AKIA" in (ex.secret or ex.text) for ex in r.examples)]
    if not akia:
        pytest.fail("no built-in AWS access key rule")
    ex = next(ex for ex in akia[0].examples if "AKIA" in (ex.secret or ex.text))
    found = [f for f in scan_bytes(engine, ex.path, ex.text.encode()) if f.secret.startswith("AKIA")]
    assert found and all("NHI7" in f.nhi for f in found)


# --------------------------------------------------------------------------
# Remediation catalogue


def test_every_loaded_rule_has_a_specific_remediation():
    missing = []
    for rule in load_rules():
        rem = remediation_for(rule)
        if rem.is_default:
            missing.append(f"{rule.id} (family {rule.family!r}, provider {rule.provider!r})")
    assert not missing, "add these families to keyscan/data/remediation.yml: " + ", ".join(missing)


def test_catalogue_entries_are_complete():
    cat = catalogue()
    for key in ("openai", "anthropic", "google", "aws", "gcp", "azure", "github", "gitlab", "slack", "stripe",
                "huggingface", "npm", "pypi", "mcp", "default"):
        assert key in cat
    for rem in cat.values():
        assert rem.revoke and rem.action and rem.docs, rem.family
        assert all(d.url.startswith("https://") for d in rem.docs)
        steps = rem.steps()
        assert steps[0].startswith("Revoke/rotate:")
        if rem.identity:
            assert rem.alternative, rem.family
        else:
            assert NO_IDENTITY in steps
    assert cat["aws"].identity and "role-to-assume" in " ".join(cat["aws"].alternative)
    assert "Trusted publishing" in " ".join(cat["pypi"].alternative)
    assert "Vertex AI" in " ".join(cat["google"].alternative)
    assert "Entra ID" in " ".join(cat["azure-openai"].alternative)
    assert "GitHub App" in " ".join(cat["github"].alternative)
    assert "OAuth 2.1" in " ".join(cat["mcp"].alternative)
    assert not cat["stripe"].identity


def test_remediation_lookup_by_alias_and_provider():
    assert remediation_for("Hugging Face").family == "huggingface"
    assert remediation_for("gemini").family == "google"
    assert remediation_for("no-such-vendor").family == "default"


# -- issue 16, bug 7: typed provenance; NHI6 fires on CI logs -------------


def test_nhi6_fires_for_a_ci_log_anywhere(tmp_path):
    """A CI log recognised by its content (not its path) carries
    ``carrier="ci-log"``: nothing set the old ``carrier`` property, so NHI6
    never fired for it."""
    from keyscan import scan

    token = "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"
    (tmp_path / "downloads").mkdir()
    log = tmp_path / "downloads" / "output.log"
    log.write_text("2024-05-01T10:00:00.1234567Z ##[group]Run deploy\n"
                   f"2024-05-01T10:00:01.1234567Z export GITHUB_TOKEN={token}\n")
    plain = tmp_path / "notes.txt"
    plain.write_text(f"GITHUB_TOKEN={token}\n")
    assert not nhi.is_ci_or_deploy("downloads/output.log")
    res = scan(ScanOptions(paths=(str(tmp_path),), jobs=1))
    by_file = {f.path.rsplit("/", 1)[-1]: f for f in res.findings}
    assert set(by_file) == {"output.log", "notes.txt"}
    assert by_file["output.log"].provenance.carrier == "ci-log"
    assert "NHI6" in by_file["output.log"].nhi
    assert by_file["notes.txt"].provenance.carrier == ""
    assert "NHI6" not in by_file["notes.txt"].nhi


def test_provenance_refuses_unknown_keys_and_keeps_report_keys():
    with pytest.raises(ValueError, match="unknown provenance key 'path'"):
        Provenance.from_pairs((("path", "x"),))
    p = Provenance.from_pairs((("commit", "c1"), ("commitDate", "2024-01-01"), ("history_only", "true")))
    assert (p.commit, p.commit_date, p.history_only) == ("c1", "2024-01-01", True)
    assert dict(p.pairs()) == {"commit": "c1", "commitDate": "2024-01-01", "history_only": "true"}
    f = make("a.py", provenance=p)
    assert f.prop("commitDate") == "2024-01-01" and f.prop("decoder") is None
    with pytest.raises(KeyError):
        f.prop("author")  # nothing sets it: asking is a bug
