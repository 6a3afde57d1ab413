"""Packaging: model/, training/ and serving/ sit at the repository root yet import as nabiz.*."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _packages_on_disk() -> set[str]:
    """Every folder with an __init__.py under a mapped root, by its import name."""
    names = set()
    for import_name, folder in SETUPTOOLS["package-dir"].items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root).parts
            names.add(".".join((import_name, *relative)))
    return names


def test_every_package_on_disk_is_listed_in_pyproject():
    assert _packages_on_disk() == set(SETUPTOOLS["packages"])


def test_python_dash_m_nabiz_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "nabiz", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "score" in result.stdout


def test_the_wheel_holds_every_module_and_data_file_under_its_import_name(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("nabiz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "nabiz/model/predictor.py" in names
    assert "nabiz/training/config.py" in names
    assert "nabiz/serving/app.py" in names
    assert "nabiz/serving/queue/migrations/script.py.mako" in names
    assert "nabiz/deasciify_patterns.json.gz" in names
    assert not any(name.startswith(("model/", "training/", "serving/")) for name in names)
