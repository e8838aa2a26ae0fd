"""Faults in file reading and writing: one clear message, nothing half-written (issue 16: 6, 7b, 8, 17)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pose_core.config.io import LoadedConfig, load_config, load_yaml_file, read_yaml_file
from pose_core.errors import ConfigError, DataError
from pose_core.io.atomic import atomic_write_path, atomic_write_text

# ------------------------------------------------------------------ one atomic writer (6, 7b)


def test_a_symlinked_file_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "config.yaml"
    shared.parent.mkdir()
    shared.write_text("a: 1\n")
    link = tmp_path / "project" / "config.yaml"
    link.parent.mkdir()
    link.symlink_to(shared)
    atomic_write_text(link, "a: 2\n")
    assert link.is_symlink() and shared.read_text() == "a: 2\n"
    assert sorted(p.name for p in link.parent.iterdir()) == ["config.yaml"]
    assert sorted(p.name for p in shared.parent.iterdir()) == ["config.yaml"]


def test_the_file_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("a: 1\n")
    path.chmod(0o640)
    atomic_write_text(path, "a: 2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_message_and_the_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("a: 1\n")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(DataError, match="not writable"):
            atomic_write_text(path, "a: 2\n")
    finally:
        tmp_path.chmod(0o700)
    assert path.read_text() == "a: 1\n"


def test_a_read_only_folder_fails_cleanly_when_the_cleanup_fails_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EROFS from the write and from the temporary file's removal: still the one message."""
    import errno

    def read_only(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(DataError, match="is not writable"):
        LoadedConfig(cfg=load_config(None, ["data.data_dir=/x"], check_paths=False).cfg).save(tmp_path / "c.yaml")


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "video.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".video.{int(dead.stdout)}-0123abcd.partial.csv"
    stale.write_text("half a prediction")
    alive = tmp_path / f".video.{os.getpid()}-0123abcd.partial.csv"  # a write in progress elsewhere
    alive.write_text("in progress")
    with atomic_write_path(path) as tmp:
        tmp.write_text("full")
    assert not stale.exists() and alive.exists() and path.read_text() == "full"


def test_every_config_save_goes_through_the_one_atomic_helper() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(p.relative_to(root))
        for p in [*root.joinpath("pose_core").rglob("*.py"), *root.joinpath("pose_gui").rglob("*.py")]
        if "def atomic_write_text" in p.read_text(encoding="utf-8") and p.name != "atomic.py"
    ]
    assert offenders == []


# ------------------------------------------------------------------ config reads (8, 17)


def test_a_non_utf8_byte_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"data:\n  data_dir: /tmp/caf\xe9\n")
    with pytest.raises(ConfigError, match=r"config.yaml: line 2, column 21 has the byte 0xe9.*UTF-8"):
        read_yaml_file(path)
    with pytest.raises(ConfigError, match="line 2"):
        load_yaml_file(path)


def test_a_folder_given_as_the_config_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a config file"):
        read_yaml_file(tmp_path)


def test_a_duplicated_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("training:\n  max_epochs: 5\n  train_batch_size: 4\n  max_epochs: 50\n")
    with pytest.raises(ConfigError, match=r"key 'max_epochs' appears twice \(lines 2 and 4\)"):
        read_yaml_file(path)


def test_an_empty_training_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"data:\n  data_dir: {tmp_path}\ntraining: null\n")
    with pytest.raises(ConfigError, match="'training:' is empty"):
        load_config(path, check_paths=False)
    path.write_text(f"data:\n  data_dir: {tmp_path}\nlosses:\n")
    assert load_config(path, check_paths=False).cfg.losses.temporal.log_weight is not None


@pytest.mark.parametrize(
    "override",
    ["training.optimizer_params.learning_rate=nan", "losses.temporal.epsilon=inf", "training.train_frames=-inf"],
)
def test_a_number_that_is_not_finite_is_refused(tmp_path: Path, override: str) -> None:
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=f"{key}=.* is not a finite number") as info:
        load_config(None, [f"data.data_dir={tmp_path}", override], check_paths=False)
    assert info.value.key == key


def test_a_data_dir_that_is_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        load_config(None, [f"data.data_dir={tmp_path / 'file'}"])


def test_an_unreadable_source_image_in_import_dlc_blames_the_source(tmp_path: Path) -> None:
    from pose_core.interop.dlc import _copy_source_image

    source = tmp_path / "dlc" / "labeled-data" / "v" / "img0.png"
    source.mkdir(parents=True)  # cannot be read as a file (permissions do not stop root)
    with pytest.raises(DataError, match=r"Cannot read the labelled image .*img0.png of the DeepLabCut project"):
        _copy_source_image(source, tmp_path / "dest.png")
    assert not (tmp_path / "dest.png").exists()


def test_a_run_folder_opened_as_a_project_points_at_its_data_dir(tmp_path: Path) -> None:
    from pose_core.project import Project

    data = tmp_path / "elsewhere" / "mouse-project"
    data.mkdir(parents=True)
    run = tmp_path / "runs" / "a" / "b" / "run1"
    run.mkdir(parents=True)
    (run / "events.jsonl").write_text("")
    (run / "config.yaml").write_text(f"data:\n  data_dir: {data}\n")
    with pytest.raises(DataError, match=f"open the project folder {data} instead"):
        Project.open(run)


def test_a_video_given_as_the_run_dir_says_it_is_a_file(tmp_path: Path) -> None:
    from pose_core.errors import RunError
    from pose_core.inference.predictor import find_run_files

    video = tmp_path / "session1.mp4"
    video.write_bytes(b"\x00")
    with pytest.raises(RunError, match="is a file, not a run directory"):
        find_run_files(video)


def test_a_full_disk_during_training_is_one_message_naming_the_run_folder(tmp_path: Path) -> None:
    import errno

    from pose_core.training.run import _write_failure

    error = _write_failure(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.tfevents")), tmp_path)
    assert f"Disk full while training in {tmp_path}" in str(error)
    assert f"training.resume_from={tmp_path}" in str(error)
