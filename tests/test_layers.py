"""The house keeps its shape: `make lint` holds the layers (every app is in one,
and a wrong import fails it), and no source file grows past a room's size.

The contracts live in pyproject.toml; these tests keep them from quietly
covering less than the tree (a new app left out of the layers could import
anything) and show that import-linter fails on the two mistakes they forbid.
"""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# A module longer than this is doing more than one job: split it by job.
MOST_LINES = 450


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["type"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_every_app_sits_in_exactly_one_layer():
    layers = contracts()["layers"]["layers"]
    named = [name.strip() for layer in layers for name in layer.split("|")]
    apps = [
        f"toc.{p.name}"
        for p in (ROOT / "toc").iterdir()
        if (p / "__init__.py").exists()
    ]
    assert sorted(named) == sorted(apps)


def test_no_source_file_is_longer_than_a_room():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "toc").rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MOST_LINES
    }
    assert too_long == {}


def test_the_pure_layers_are_the_ones_kept_free_of_django():
    forbidden = contracts()["forbidden"]
    assert forbidden["source_modules"] == ["toc.analysis", "toc.charts"]
    assert "django" in forbidden["forbidden_modules"]


def lint_imports_with(
    tmp_path: Path, module: str, line: str
) -> subprocess.CompletedProcess:
    """Run import-linter on a copy of the tree with `line` added to `module`."""
    shutil.copytree(
        ROOT / "toc", tmp_path / "toc", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    planted = tmp_path / module
    planted.write_text(planted.read_text() + f"\n{line}\n")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_unplanted_copy_passes(tmp_path):
    result = lint_imports_with(tmp_path, "toc/metrics/wire.py", "")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # metrics sits below cycles, which imports metrics: this makes a circle.
        (
            "toc/metrics/wire.py",
            "from toc.cycles import records",
            "toc.metrics is not allowed to import toc.cycles",
        ),
        (
            "toc/analysis/cascade.py",
            "from django.db import models",
            "toc.analysis is not allowed to import django",
        ),
    ],
    ids=["import pointing up", "Django in analysis"],
)
def test_a_forbidden_import_fails(tmp_path, module, line, broken):
    result = lint_imports_with(tmp_path, module, line)
    assert result.returncode == 1
    assert broken in result.stdout
