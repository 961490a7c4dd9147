"""Shared fixtures: the site is built once per test session and reused by the docs and browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))  # the site's own Sphinx extension


def sphinx_build(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run a strict Sphinx build (warnings are errors) with the project's conf.py."""
    cmd = [sys.executable, str(ROOT / "docs" / "_ext" / "run_sphinx.py"), "-T", "-W", "--keep-going", "-q", "-j", str((os.cpu_count() or 1) + 1), "-b", "html",
           "-c", str(ROOT), *extra, str(src), str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The whole site, built strictly into a fresh folder."""
    out = tmp_path_factory.mktemp("site")
    proc = sphinx_build(ROOT / "docs", out)
    if proc.returncode != 0:
        pytest.fail(f"docs build failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    out.joinpath("build-stderr.txt").write_text(proc.stderr)
    return out
