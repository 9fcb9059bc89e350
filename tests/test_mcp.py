"""MCP client configurations: recognition, decoder, inventory, discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from keyscan.api import scan_bytes
from keyscan.decoders.mcp_decoder import DECODER, is_reference
from keyscan.documents import read_document
from keyscan.mcp.clients import CLIENTS, client_for, is_mcp_config
from keyscan.mcp.inventory import (discover, inventory_to_dict, load_jsonc, render_json,
                                   render_table, run_mcp_inventory)

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "mcp"
LABELS = yaml.safe_load((ROOT / "labels.yml").read_text(encoding="utf-8"))
FILES = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
               if p.is_file() and p.name not in ("generate.py", "labels.yml"))




def _loaded(engine) -> set[str]:
    return {r.id for r in engine.rules}


def _scan(engine, rel: str):
    return scan_bytes(engine, rel, (ROOT / rel).read_bytes())


# --------------------------------------------------------------------------
# Recognition


@pytest.mark.parametrize("path,client", [
    ("/Users/me/Library/Application Support/Claude/claude_desktop_config.json", "claude-desktop"),
    (r"C:\Users\me\AppData\Roaming\Claude\claude_desktop_config.json", "claude-desktop"),
    ("repo/.mcp.json", "claude-code"),
    (".mcp.json", "claude-code"),
    ("/home/me/.claude.json", "claude-code-user"),
    ("repo/.claude/settings.local.json", "claude-code-settings"),
    ("/home/me/.claude/settings.json", "claude-code-settings"),
    ("repo/.cursor/mcp.json", "cursor"),
    ("repo/.vscode/mcp.json", "vscode"),
    ("/home/me/.config/Code/User/mcp.json", "vscode"),
    ("repo/.vscode/settings.json", "vscode-settings"),
    ("/home/me/.codeium/windsurf/mcp_config.json", "windsurf"),
    ("/home/me/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/"
     "cline_mcp_settings.json", "cline"),
    (r"C:\Users\me\AppData\Roaming\Cursor\User\globalStorage\saoudrizwan.claude-dev"
     r"\settings\cline_mcp_settings.json", "cline"),
    ("repo/.roo/mcp.json", "roo"),
    ("/home/me/.config/zed/settings.json", "zed"),
    ("repo/.zed/settings.json", "zed"),
    ("/home/me/.codex/config.toml", "codex"),
    ("/home/me/.config/goose/config.yaml", "goose"),
    (r"C:\Users\me\AppData\Roaming\Block\goose\config\config.yaml", "goose"),
    ("/home/me/.config/goose/secrets.yaml", "goose-secrets"),
    ("repo/.gemini/settings.json", "gemini"),
    ("/etc/gemini-cli/settings.json", "gemini"),
    ("/home/me/.continue/config.yaml", "continue"),
    ("repo/.continue/mcpServers/github.yaml", "continue-block"),
    ("repo/.continue/mcpServers/copied.json", "continue-block"),
    ("repo/.amazonq/mcp.json", "amazonq"),
    ("/home/me/.aws/amazonq/cli-agents/default.json", "amazonq"),
    ("/home/me/.kiro/settings/mcp.json", "kiro"),
    ("repo/.junie/mcp/mcp.json", "junie"),
    ("repo/opencode.json", "opencode"),
])
def test_is_mcp_config(path, client):
    c = is_mcp_config(path)
    assert c is not None and c.id == client


@pytest.mark.parametrize("path", ["repo/mcp.json", "repo/settings.json", "repo/config.toml",
                                  "repo/config.yaml", "repo/package.json", "repo/.vscode/tasks.json",
                                  "repo/.continue/other/x.yaml"])
def test_not_mcp_config(path):
    assert is_mcp_config(path) is None


def test_content_sniff_for_unnamed_json():
    assert client_for("docs/example-config.json", b'{\n  "mcpServers": {}\n}').id == "generic"
    assert client_for("docs/example-config.json", b'{"name": "x"}') is None


def test_every_client_has_locations():
    for c in CLIENTS:
        assert c.patterns, c.id
        assert c.project or c.user, c.id
        for pats in [c.project, *c.user.values()]:
            for p in pats:
                assert is_mcp_config("/x/" + p.replace("*", "a")) is not None, (c.id, p)


# --------------------------------------------------------------------------
# Findings through the real pipeline


def _expected(rel: str):
    return {(x["line"], x["rule"], x["location"]) for x in LABELS["findings"] if x["file"] == rel}


@pytest.mark.parametrize("rel", FILES)
def test_fixture_findings_exact(engine, rel):
    loaded = _loaded(engine)
    want = {t for t in _expected(rel) if t[1] in loaded}
    findings = _scan(engine, rel)
    got = {(f.start_line, f.rule_id, f.location) for f in findings}
    assert got == want
    # the reported column is where the secret starts on disk
    for f in findings:
        assert f.line_text[f.start_column - 1:].startswith(f.secret), f


def test_planted_rules_exist(engine):
    missing = sorted({x["rule"] for x in LABELS["findings"]} - _loaded(engine))
    if missing:
        pytest.fail(f"rules missing: {', '.join(missing)}")


@pytest.mark.parametrize("rel", sorted({d["file"] for d in LABELS["decoys"]}))
def test_decoys_give_nothing(engine, rel):
    lines = {d["line"] for d in LABELS["decoys"] if d["file"] == rel}
    hits = [f for f in _scan(engine, rel) if f.start_line in lines]
    assert hits == []


def test_every_client_format_has_a_fixture():
    seen = {client_for(rel, (ROOT / rel).read_bytes()[:8192]).id for rel in FILES}
    for cid in ("claude-desktop", "claude-code", "claude-code-user", "claude-code-settings",
                "cursor", "vscode", "windsurf", "cline", "roo", "zed", "codex", "goose",
                "goose-secrets", "gemini", "continue", "continue-block", "amazonq", "kiro",
                "junie", "opencode"):
        assert cid in seen


# --------------------------------------------------------------------------
# The decoder's fragments


def _fragments(rel: str):
    doc = read_document(rel, (ROOT / rel).read_bytes())
    assert DECODER.wants(doc)
    return doc, list(DECODER.fragments(doc))


@pytest.mark.parametrize("rel", FILES)
def test_fragment_segments_map_exactly(rel):
    doc, frags = _fragments(rel)
    text = doc.text
    for frag in frags:
        for seg in frag.segments:
            for i in range(seg.frag_start, seg.frag_start + seg.length):
                ch = frag.text[i]
                if ch.isalnum():
                    assert text[seg.to_doc(i)] == ch, (rel, seg, i)


def _lines(rel: str) -> list[str]:
    return [ln for f in _fragments(rel)[1] for ln in f.text.split("\n")]


def test_fragment_contexts():
    desktop = _lines("claude-desktop/claude_desktop_config.json")
    assert any(ln.startswith("GITHUB_PERSONAL_ACCESS_TOKEN=ghp_") for ln in desktop)  # env
    assert any(ln.startswith("GITHUB_PERSONAL_ACCESS_TOKEN=ghp_") and "docker" not in ln
               for ln in desktop)  # docker -e NAME=value
    assert any(ln.startswith("Authorization: Bearer sk-proj-") for ln in desktop)  # JSON in env
    codex = _lines("home/.codex/config.toml")
    assert any(ln.startswith("--serper-api-key ") for ln in codex)  # split flag
    assert any(ln.startswith("X-Api-Key=sk-ant-api03-") or ln.startswith("X-Api-Key: sk-ant-")
               for ln in codex)
    assert any(ln.startswith("HF_TOKEN=hf_") for ln in codex)  # inline table
    vscode = _lines("project/.vscode/mcp.json")
    assert any(ln.startswith("--token ghp_") for ln in vscode)
    assert any(ln.startswith("Authorization: Bearer gsk_") for ln in vscode)
    mcp = _lines("project/.mcp.json")
    assert any(ln.startswith("OPENAI_API_KEY=sk-proj-") for ln in mcp)  # ${X:-default}
    assert any(ln.startswith("tavilyApiKey=tvly-") for ln in mcp)  # URL query
    goose = _lines("home/.config/goose/config.yaml")
    assert any(ln.startswith("GITHUB_PERSONAL_ACCESS_TOKEN=ghp_") for ln in goose)
    assert any(ln.startswith("Authorization: Bearer gsk_") for ln in goose)


def test_references_give_no_fragment():
    everything = "\n".join(ln for rel in FILES for ln in _lines(rel))
    for ref in ("${input:", "${env:", "{env:", "${{ secrets.", "${INTERNAL_API_TOKEN}",
                "$EVENTS_TOKEN", "$GOOGLE_API_KEY", "op://", "${user_config.", "${file:"):
        assert ref not in everything, ref
    for v in ("${input:key}", "${env:X}", "${X}", "${X:-}", "{env:X}", "$X", "Bearer ${T}",
              "${{ secrets.X }}", "op://vault/item/field"):
        assert is_reference(v), v
    assert not is_reference("Bearer sk-abc")


def test_split_flag_and_query_locations(engine):
    doc = read_document("project/.mcp.json", (ROOT / "project/.mcp.json").read_bytes())
    off = doc.text.index("tvly-")
    assert DECODER.locate(doc, off) == "mcpServers.tavily.url"
    assert DECODER.locate(doc, doc.text.index('"mcpServers"') - 1) is None


@pytest.mark.parametrize("rel", FILES)
def test_malformed_input_never_raises(rel):
    raw = (ROOT / rel).read_bytes()
    for cut in (1, len(raw) // 3, len(raw) // 2, len(raw) - 2):
        for data in (raw[:cut], raw[cut:], raw[:cut] + b'"\n{[' + raw[cut:]):
            doc = read_document(rel, data)
            list(DECODER.fragments(doc))
            for off in range(0, len(doc.text), 97):
                DECODER.locate(doc, off)


# --------------------------------------------------------------------------
# Inventory

SERVERS = {
    # (file, server): (transport, auth, disabled)
    ("claude-desktop/claude_desktop_config.json", "github"): ("stdio", "static-key-in-file", False),
    ("claude-desktop/claude_desktop_config.json", "github-docker"): ("stdio", "env-reference", False),
    ("claude-desktop/claude_desktop_config.json", "github-docker-inline"):
        ("stdio", "static-key-in-file", False),
    ("claude-desktop/claude_desktop_config.json", "postgres"): ("stdio", "static-key-in-file", False),
    ("claude-desktop/claude_desktop_config.json", "notion"): ("stdio", "static-key-in-file", False),
    ("claude-desktop/claude_desktop_config.json", "filesystem"): ("stdio", "none", False),
    ("claude-desktop/claude_desktop_config.json", "onepassword"): ("stdio", "secret-manager", False),
    ("project/.mcp.json", "sentry"): ("http", "oauth", False),
    ("project/.mcp.json", "internal-api"): ("http", "env-reference", False),
    ("project/.mcp.json", "openai-tools"): ("stdio", "static-key-in-file", False),
    ("project/.mcp.json", "claude-bridge"): ("stdio", "static-key-in-file", False),
    ("project/.mcp.json", "tavily"): ("sse", "static-key-in-file", False),
    ("project/.mcp.json", "corp-gateway"): ("http", "secret-manager", False),
    ("project/.mcp.json", "plugin-like"): ("stdio", "keychain", False),
    ("home/.claude.json", "huggingface"): ("http", "static-key-in-file", False),
    ("home/.claude.json", "context7"): ("http", "oauth", False),
    ("home/.claude.json", "groq"): ("stdio", "static-key-in-file", False),
    ("home/.claude.json", "db"): ("stdio", "secret-manager", False),
    ("project/.cursor/mcp.json", "perplexity"): ("http", "static-key-in-file", False),
    ("project/.cursor/mcp.json", "linear"): ("stdio", "none", False),
    ("project/.cursor/mcp.json", "brave"): ("stdio", "env-reference", False),
    ("project/.cursor/mcp.json", "local-tools"): ("stdio", "env-reference", False),
    ("project/.vscode/mcp.json", "perplexity"): ("stdio", "input-prompt", False),
    ("project/.vscode/mcp.json", "github-local"): ("stdio", "static-key-in-file", False),
    ("project/.vscode/mcp.json", "api"): ("http", "static-key-in-file", False),
    ("project/.vscode/mcp.json", "playwright"): ("stdio", "none", False),
    ("home/.codeium/windsurf/mcp_config.json", "tavily-remote"): ("http", "static-key-in-file", False),
    ("home/.codeium/windsurf/mcp_config.json", "figma"): ("http", "env-reference", False),
    ("home/.codeium/windsurf/mcp_config.json", "secrets-file"): ("stdio", "env-reference", False),
    ("home/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
     "langsmith"): ("stdio", "static-key-in-file", True),
    ("home/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
     "remote-docs"): ("http", "oauth", False),
    ("project/.roo/mcp.json", "hf-hub"): ("http", "static-key-in-file", False),
    ("home/.config/zed/settings.json", "openai-search"): ("stdio", "static-key-in-file", False),
    ("home/.config/zed/settings.json", "hf-old"): ("stdio", "static-key-in-file", False),
    ("home/.config/zed/settings.json", "remote-oauth"): ("http", "oauth", False),
    ("home/.codex/config.toml", "perplexity"): ("stdio", "static-key-in-file", False),
    ("home/.codex/config.toml", "serper"): ("stdio", "static-key-in-file", False),
    ("home/.codex/config.toml", "github"): ("http", "env-reference", False),
    ("home/.codex/config.toml", "linear"): ("stdio", "env-reference", False),
    ("home/.codex/config.toml", "claude-gw"): ("http", "static-key-in-file", False),
    ("home/.codex/config.toml", "hf-disabled"): ("stdio", "static-key-in-file", True),
    ("home/.codex/config.toml", "vaulted"): ("stdio", "secret-manager", False),
    ("home/.config/goose/config.yaml", "developer"): ("stdio", "none", False),
    ("home/.config/goose/config.yaml", "github"): ("stdio", "static-key-in-file", False),
    ("home/.config/goose/config.yaml", "tavily"): ("stdio", "static-key-in-file", True),
    ("home/.config/goose/config.yaml", "slack"): ("stdio", "keychain", False),
    ("home/.config/goose/config.yaml", "groq-remote"): ("http", "static-key-in-file", False),
    ("project/.gemini/settings.json", "search"): ("http", "static-key-in-file", False),
    ("project/.gemini/settings.json", "events"): ("sse", "env-reference", False),
    ("project/.gemini/settings.json", "bq"): ("stdio", "env-reference", False),
    ("home/.continue/config.yaml", "hf"): ("stdio", "static-key-in-file", False),
    ("home/.continue/config.yaml", "docs"): ("http", "oauth", False),
    ("project/.continue/mcpServers/github.yaml", "GitHub"): ("stdio", "static-key-in-file", False),
    ("project/.continue/mcpServers/github.yaml", "Search"): ("stdio", "secret-manager", False),
    ("project/.amazonq/mcp.json", "aws-docs"): ("stdio", "none", False),
    ("project/.amazonq/mcp.json", "serper"): ("stdio", "static-key-in-file", False),
    ("home/.kiro/settings/mcp.json", "fetch"): ("stdio", "none", False),
    ("home/.kiro/settings/mcp.json", "tavily"): ("stdio", "static-key-in-file", True),
    ("project/.junie/mcp/mcp.json", "langsmith"): ("stdio", "none", False),
    ("project/.junie/mcp/mcp.json", "remote"): ("http", "static-key-in-file", False),
    ("project/opencode.json", "jira"): ("stdio", "env-reference", False),
    ("project/opencode.json", "context"): ("http", "static-key-in-file", False),
}


@pytest.fixture(scope="module")
def inventory(engine):
    from keyscan.mcp.clients import CLIENTS_BY_ID
    from keyscan.mcp.inventory import ConfigLocation, inventory_files

    locs = []
    for rel in FILES:
        p = ROOT / rel
        locs.append(ConfigLocation(p, client_for(p.as_posix(), p.read_bytes()[:8192]),
                                   "project" if rel.startswith("project/") else "user"))
    assert CLIENTS_BY_ID
    return inventory_files(locs, engine)


def test_inventory_classification(inventory):
    got = {}
    for s in inventory.servers:
        rel = Path(s.file).relative_to(ROOT).as_posix()
        got[(rel, s.name)] = (s.transport, s.auth, s.disabled)
    assert got == SERVERS


def test_inventory_findings_equal_scan(engine, inventory):
    for cf in inventory.files:
        rel = Path(cf.path).relative_to(ROOT).as_posix()
        scan = scan_bytes(engine, cf.path, (ROOT / rel).read_bytes())
        assert sorted(f.fingerprint for f in cf.findings) == sorted(f.fingerprint for f in scan)
        attributed = [f for s in cf.servers for f in s.findings]
        # every finding inside a server entry is attributed to exactly one server
        assert len(attributed) == len({id(f) for f in attributed})
        for s in cf.servers:
            for f in s.findings:
                assert f.location.startswith(s.location)


def test_inventory_scopes(inventory):
    groq = [s for s in inventory.servers if s.name == "groq"][0]
    assert groq.scope == "local (/home/dev/src/shop)"
    assert groq.location == 'projects["/home/dev/src/shop"].mcpServers.groq'


def test_inventory_output_is_redacted(inventory):
    from rich.console import Console

    secrets = {f.secret for f in inventory.findings}
    assert secrets
    out = render_json(inventory)
    data = json.loads(out)
    assert data["summary"]["servers"] == len(SERVERS)
    assert inventory_to_dict(inventory) == data
    console = Console(record=True, width=300)
    render_table(inventory, console)
    table = console.export_text()
    for s in secrets:
        assert s not in out and s not in table
        assert s[-12:] not in out and s[-12:] not in table


def test_jsonc_loader():
    assert load_jsonc('{\n // c\n "a": [1, 2,], /* x */ "b": "//not", }') == \
        {"a": [1, 2], "b": "//not"}


# --------------------------------------------------------------------------
# Discovery


LAYOUTS = {
    "linux": [".claude.json", ".cursor/mcp.json", ".codeium/windsurf/mcp_config.json",
              ".config/Claude/claude_desktop_config.json", ".config/Code/User/mcp.json",
              ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/"
              "cline_mcp_settings.json", ".config/zed/settings.json", ".codex/config.toml",
              ".config/goose/config.yaml", ".config/goose/secrets.yaml", ".gemini/settings.json",
              ".continue/config.yaml", ".aws/amazonq/mcp.json",
              ".aws/amazonq/cli-agents/dev.json", ".kiro/settings/mcp.json",
              ".junie/mcp/mcp.json", ".claude/settings.json"],
    "darwin": [".claude.json", "Library/Application Support/Claude/claude_desktop_config.json",
               "Library/Application Support/Code/User/mcp.json",
               "Library/Application Support/Code/User/globalStorage/saoudrizwan.claude-dev/"
               "settings/cline_mcp_settings.json", ".config/zed/settings.json",
               ".config/goose/config.yaml", ".codex/config.toml", ".cursor/mcp.json"],
    "win32": [".claude.json", "AppData/Roaming/Claude/claude_desktop_config.json",
              "AppData/Roaming/Code/User/mcp.json",
              "AppData/Roaming/Code/User/globalStorage/saoudrizwan.claude-dev/settings/"
              "cline_mcp_settings.json", "AppData/Roaming/Block/goose/config/config.yaml",
              ".codex/config.toml", ".cursor/mcp.json", ".codeium/windsurf/mcp_config.json"],
}
FOREIGN_LINUX = [".config/Claude/claude_desktop_config.json", ".config/Code/User/mcp.json"]
FOREIGN_MAC = ["Library/Application Support/Claude/claude_desktop_config.json",
               "Library/Application Support/Code/User/mcp.json"]
FOREIGN_WIN = ["AppData/Roaming/Claude/claude_desktop_config.json",
               "AppData/Roaming/Code/User/mcp.json"]
PROJECT = [".mcp.json", ".vscode/mcp.json", ".cursor/mcp.json", ".gemini/settings.json",
           ".continue/mcpServers/a.yaml", ".amazonq/mcp.json", ".zed/settings.json",
           ".codex/config.toml", ".junie/mcp/mcp.json", ".claude/settings.local.json",
           "opencode.json", ".roo/mcp.json"]


@pytest.mark.parametrize("platform", sorted(LAYOUTS))
def test_discover(tmp_path, platform):
    home, proj = tmp_path / "home", tmp_path / "proj"
    for base, rels in ((home, LAYOUTS[platform]), (proj, PROJECT)):
        for rel in rels:
            p = base / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text('{"mcpServers": {}}\n' if p.suffix == ".json" else "x: 1\n")
    # files of other OSes and non-config files are not picked up
    (home / "notes.json").write_text("{}")
    foreign = {"linux": FOREIGN_MAC + FOREIGN_WIN, "darwin": FOREIGN_LINUX + FOREIGN_WIN,
               "win32": FOREIGN_LINUX + FOREIGN_MAC}[platform]
    for rel in foreign:
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("{}")
    found = discover(proj, home=home, platform=platform)
    got_home = sorted(loc.path.relative_to(home).as_posix() for loc in found
                      if loc.scope == "user")
    got_proj = sorted(loc.path.relative_to(proj).as_posix() for loc in found
                      if loc.scope == "project")
    assert got_home == sorted(LAYOUTS[platform])
    assert got_proj == sorted(PROJECT)
    for loc in found:
        assert is_mcp_config(loc.path.as_posix()) is not None
    only_proj = discover(proj, home=home, platform=platform, include_home=False)
    assert all(loc.scope == "project" for loc in only_proj)


def test_run_mcp_inventory_entry_point(tmp_path, engine):
    home, proj = tmp_path / "home", tmp_path / "proj"
    (proj / ".cursor").mkdir(parents=True)
    (home / ".codex").mkdir(parents=True)
    src = ROOT / "project/.cursor/mcp.json"
    (proj / ".cursor/mcp.json").write_bytes(src.read_bytes())
    (home / ".codex/config.toml").write_bytes((ROOT / "home/.codex/config.toml").read_bytes())
    inv = run_mcp_inventory(str(proj), str(home), True, platform="linux", engine=engine)
    assert {Path(f.path).name for f in inv.files} == {"mcp.json", "config.toml"}
    inv2 = run_mcp_inventory(str(proj), str(home), False, platform="linux", engine=engine)
    assert [Path(f.path).name for f in inv2.files] == ["mcp.json"]
