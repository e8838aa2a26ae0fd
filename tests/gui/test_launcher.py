"""The desktop launcher: install-launcher.sh registers a .desktop file whose Exec line starts the app."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALLER = REPO_ROOT / "packaging" / "install-launcher.sh"


def desktop_exec_argv(exec_value: str, file_arg: str) -> list[str]:
    """Split an Exec value as a desktop does: string unescape, quoting rules, then %f = one file."""
    unescaped = exec_value.replace("\\\\", "\\")
    argv = shlex.split(unescaped)
    return [file_arg if a == "%f" else a for a in argv]


@pytest.fixture
def user_dirs(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "share"),
        XDG_DESKTOP_DIR=str(tmp_path / "Desktop"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        POSEDESK_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def test_installed_launcher_starts_the_app(tmp_path: Path, user_dirs: dict[str, str], example_project: Path) -> None:
    if not (REPO_ROOT / ".venv" / "bin" / "python").is_file():
        pytest.skip("the launcher points at the project's .venv, which does not exist here")
    done = subprocess.run(
        ["bash", str(INSTALLER), "--desktop-icon"], env=user_dirs, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    desktop_file = tmp_path / "share" / "applications" / "posedesk.desktop"
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment, method-assign]
    entry.read(desktop_file, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "PoseDesk"
    assert Path(section["Icon"]).is_file()
    assert (tmp_path / "Desktop" / "posedesk.desktop").is_file()  # double-click icon on the desktop
    out = tmp_path / "launched.png"
    argv = desktop_exec_argv(section["Exec"], str(example_project))
    assert argv[:3] == [str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "pose_gui"]
    launched = subprocess.run(
        [*argv, "--screenshot", str(out)],
        cwd=section["Path"],
        env=user_dirs,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert launched.returncode == 0, launched.stderr
    assert QImage(str(out)).width() == 1280


def test_uninstall_removes_the_launcher(tmp_path: Path, user_dirs: dict[str, str]) -> None:
    if not (REPO_ROOT / ".venv" / "bin" / "python").is_file():
        pytest.skip("the launcher points at the project's .venv, which does not exist here")
    subprocess.run(["bash", str(INSTALLER)], env=user_dirs, check=True, capture_output=True, timeout=60)
    desktop_file = tmp_path / "share" / "applications" / "posedesk.desktop"
    assert desktop_file.is_file()
    done = subprocess.run(["bash", str(INSTALLER), "--uninstall"], env=user_dirs, capture_output=True, text=True)
    assert done.returncode == 0
    assert not desktop_file.exists()
    assert not (tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "posedesk.svg").exists()


def test_launcher_of_a_checkout_whose_path_has_spaces(tmp_path: Path, user_dirs: dict[str, str]) -> None:
    if not (REPO_ROOT / ".venv" / "bin" / "python").is_file():
        pytest.skip("the launcher points at the project's .venv, which does not exist here")
    checkout = tmp_path / "my projects" / "pose desk"
    (checkout / "packaging").mkdir(parents=True)
    for name in ("install-launcher.sh", "posedesk.desktop"):
        (checkout / "packaging" / name).write_bytes((REPO_ROOT / "packaging" / name).read_bytes())
    for name in (".venv", "pose_gui", "pose_core"):
        (checkout / name).symlink_to(REPO_ROOT / name)
    subprocess.run(["bash", str(checkout / "packaging" / "install-launcher.sh")], env=user_dirs, check=True, timeout=60)
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(tmp_path / "share" / "applications" / "posedesk.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    argv = desktop_exec_argv(section["Exec"], "/some project")
    assert argv == [str(checkout / ".venv" / "bin" / "python"), "-m", "pose_gui", "/some project"]
    assert section["Path"] == str(checkout)
    version = subprocess.run(
        [*argv[:3], "--version"], cwd=section["Path"], env=user_dirs, capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("PoseDesk ")
