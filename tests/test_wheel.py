"""The built wheel carries the rules and an installed copy finds them."""

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # end-to-end tier (pyproject.toml: -m slow)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "No module named build" in proc.stderr:
        pytest.skip("the 'build' package is not installed")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (whl,) = out.glob("keyscan-*.whl")
    return whl


def test_wheel_contains_rules_and_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.rsplit("/", 1)[-1] for n in names if n.startswith("keyscan/_rules/")}
    expected = {p.name for p in (ROOT / "rules").glob("*.yml")}
    assert expected and expected <= shipped


def test_installed_copy_finds_its_rules(wheel, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import keyscan, keyscan.ruleset as r, sys;"
        "from keyscan.ruleset.check import check_rules;"
        "print(keyscan.__file__); print(r.builtin_rules_dir());"
        "rules = r.load_rules(); print(len(rules)); print(len(check_rules(rules)))"
    )
    env = dict(os.environ, PYTHONPATH=str(target), KEYSCAN_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    module_file, rules_dir, count, problems = proc.stdout.split("\n")[:4]
    assert module_file.startswith(str(target))
    assert rules_dir == str(target / "keyscan" / "_rules")
    from keyscan.ruleset import load_rules

    assert int(count) == len(load_rules())
    assert problems == "0"
