"""ruff and mypy, as configured in pyproject.toml (.ci/run runs them too): here so
a plain `pytest` run shows a lint or type error before CI does."""

import importlib.util
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("tool,args", [("ruff", ["check", "."]), ("mypy", [])])
def test_tool_is_clean(tool, args):
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]')")
    proc = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
