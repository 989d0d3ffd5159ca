"""A non-editable install works from any folder: the package alone, outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built wheel, unpacked: what ``pip install .`` puts in site-packages."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = out.glob("claimbot-*.whl")
    target = out / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(installed)}  # before the editable checkout
    env.pop("BOT_KNOWLEDGE_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_wheel_holds_the_package_and_no_tests_or_benchmark(installed: Path) -> None:
    names = {p.name for p in installed.iterdir()}
    assert "bot" in names and "tests" not in names and "bench" not in names
    assert (installed / "bot" / "search" / "scorer.py").is_file()


def test_installed_bot_runs_from_another_folder(installed: Path, tmp_path: Path) -> None:
    probe = run(installed, tmp_path, "--version")
    assert probe.returncode == 0 and probe.stdout.startswith("python -m bot ")
    where = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True, text=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(installed))  # the unpacked wheel, not the checkout
    assert run(installed, tmp_path, "validate", str(ROOT / "knowledge")).returncode == 0
    asked = run(installed, tmp_path, "ask", "--knowledge", str(ROOT / "knowledge"), "Mohajer-6")
    assert asked.returncode == 0 and "[2023-ukraine-air-force-mohajer-6-and-shahed]" in asked.stdout


def test_without_a_knowledge_folder_the_error_says_how_to_pick_one(
    installed: Path, tmp_path: Path
) -> None:
    result = run(installed, tmp_path, "ask", "Mohajer-6")
    assert result.returncode == 1
    assert "--knowledge DIR" in result.stderr and "BOT_KNOWLEDGE_DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_command_says_where_the_benchmark_is(installed: Path, tmp_path: Path) -> None:
    result = run(installed, tmp_path, "bench", "--quick")
    assert result.returncode == 2 and "python -m bench" in result.stderr
