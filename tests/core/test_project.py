"""Projects: opening Lightning Pose-style and DeepLabCut folders, runs, creating projects, adding videos."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from pose_core.config.io import load_config
from pose_core.data.labels import LabelSet, read_labels, write_labels
from pose_core.errors import ConfigError, DataError
from pose_core.example import generate_example_project
from pose_core.project import (
    VIDEO_SUFFIXES,
    Project,
    add_videos,
    check_new_project_folder,
    create_project,
    is_writable_dir,
    label_counts,
    read_label_source,
)
from pose_core.runs import list_runs
from pose_core.runs.layout import video_output_files
from pose_core.video.formats import labeled_clip_name
from pose_core.video.reader import list_videos

MIRROR_MOUSE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirror-mouse-example"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template") / "example"
    return generate_example_project(folder, n_labeled=12, n_video_frames=20, n_videos=1)


@pytest.fixture
def lp_project(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "lp-project"))


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder whose permission bits forbid writing (restored afterwards so tmp_path can be cleaned)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    yield folder
    folder.chmod(stat.S_IRWXU)


def make_dlc_project(template: Path, root: Path, three_index_columns: bool = False) -> Path:
    """A single-animal DeepLabCut project built from the example's labels, split over two videos."""
    labels = read_labels(template / "CollectedData.csv")
    video = template / "videos" / "example_0.mp4"
    config = {
        "Task": "mouse",
        "scorer": "me",
        "date": "May1",
        "multianimalproject": False,
        "bodyparts": labels.keypoint_names,
        "video_sets": {str(video): {"crop": "0, 256, 0, 128"}},
        "project_path": str(root),
    }
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    halves = {"session1": range(0, 6), "session2": range(6, labels.n_frames)}
    for session, rows in halves.items():
        folder = root / "labeled-data" / session
        folder.mkdir(parents=True)
        paths = []
        for row in rows:
            name = Path(labels.image_paths[row]).name
            shutil.copy(template / labels.image_paths[row], folder / name)
            paths.append(f"labeled-data/{session}/{name}")
        part = LabelSet(paths, labels.keypoint_names, labels.keypoints_px[list(rows)], scorer="me")
        csv_path = folder / "CollectedData_me.csv"
        write_labels(part, csv_path)
        if three_index_columns and session == "session2":
            _to_three_index_columns(csv_path)
    return root


def _to_three_index_columns(csv_path: Path) -> None:
    """Rewrite an LP-layout CSV in newer DLC's layout (image path split over three index columns)."""
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    out = [f"{line.split(',', 1)[0]},,,{line.split(',', 1)[1]}" for line in lines[:3]]
    for line in lines[3:]:
        path, rest = line.split(",", 1)
        out.append(",".join(path.split("/")) + "," + rest)
    csv_path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_run(root: Path, name: str, events: list[dict], summary: dict | str | None = None) -> Path:
    run_dir = root / "outputs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("data: {}\n", encoding="utf-8")
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    if summary is not None:
        text = summary if isinstance(summary, str) else json.dumps(summary)
        (run_dir / "summary.json").write_text(text, encoding="utf-8")
    return run_dir


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


# ----------------------------------------------------------------------------- opening


def test_open_lp_project_reads_labels_keypoints_and_videos(lp_project: Path) -> None:
    project = Project.open(lp_project)
    assert project.kind == "lightning-pose"
    assert project.config_path == lp_project / "config.yaml"
    assert project.n_labeled_frames == 12
    assert project.keypoint_names[0] == "nose_top" and len(project.keypoint_names) == 18
    assert [v.name for v in project.videos] == ["example_0.mp4"]
    assert project.image_path(0) == lp_project / "labeled-data" / "img0000.png"
    assert project.problems() == []
    assert Project.open(lp_project / "config.yaml").root == lp_project  # picking the config file works too


def test_posedesk_exports_in_videos_are_never_project_videos(lp_project: Path, tmp_path: Path) -> None:
    """A labelled clip or labelled video exported into videos/ is not listed, predicted or offered as a video."""
    video = lp_project / "videos" / "example_0.mp4"
    _, _, labeled_video = video_output_files(tmp_path, video)  # what pose-predict --labeled-video writes
    exports = [lp_project / "videos" / labeled_video.name, lp_project / "videos" / labeled_clip_name(video, 0, 9)]
    for export in exports:
        shutil.copyfile(video, export)
    assert [v.name for v in Project.open(lp_project).videos] == ["example_0.mp4"]
    assert list_videos(lp_project / "videos") == [video]  # what training predicts afterwards
    assert list_videos(exports[1]) == [exports[1]]  # named on purpose, it is still read
    dlc = make_dlc_project(lp_project, tmp_path / "dlc")
    (dlc / "videos").mkdir()
    shutil.copyfile(video, dlc / "videos" / "session1.mp4")
    shutil.copyfile(video, dlc / "videos" / "session1DLC_resnet50_labeled.mp4")  # DeepLabCut's own labelled video
    assert "session1.mp4" in {v.name for v in Project.open(dlc).videos}
    assert not [v for v in Project.open(dlc).videos if v.stem.endswith("_labeled")]


def test_label_counts_count_frames_with_both_coordinates(tmp_path: Path) -> None:
    csv_path = tmp_path / "CollectedData.csv"
    csv_path.write_text(
        "scorer,me,me,me,me\nbodyparts,nose,nose,tail,tail\ncoords,x,y,x,y\na.png,1,2,,\nb.png,3,4,5,\nc.png,5,6,7,8\n",
        encoding="utf-8",
    )
    assert label_counts(read_labels(csv_path)) == {"nose": 3, "tail": 1}
    project = Project.open(tmp_path)  # a bare folder with CollectedData.csv is a project
    assert project.config_path is None
    assert project.label_counts() == {"nose": 3, "tail": 1}


def test_open_mirror_mouse_folder_without_config() -> None:
    if not (MIRROR_MOUSE / "CollectedData.csv").is_file():
        pytest.skip(f"mirror-mouse example data not found at {MIRROR_MOUSE}")
    project = Project.open(MIRROR_MOUSE)
    assert project.n_labeled_frames == 90
    assert len(project.keypoint_names) == 17
    assert [v.name for v in project.videos] == ["test_vid.mp4"]
    counts = project.label_counts()
    assert counts["paw1LH_top"] == 88 and counts["paw3RF_top"] == 90 and counts["obs_top"] == 55
    assert not any("missing" in str(p) for p in project.problems())


def test_open_dlc_project_merges_the_csvs_of_all_videos(template: Path, tmp_path: Path) -> None:
    root = make_dlc_project(template, tmp_path / "dlc", three_index_columns=True)
    project = Project.open(root)
    assert project.kind == "deeplabcut"
    assert project.config_path is None
    assert len(project.csv_paths) == 2
    assert project.n_labeled_frames == 12
    assert project.labels.image_paths[0] == "labeled-data/session1/img0000.png"
    assert project.labels.image_paths[-1] == "labeled-data/session2/img0011.png"
    expected = read_labels(template / "CollectedData.csv").keypoints_px
    np.testing.assert_array_equal(project.labels.keypoints_px, expected)
    assert [v.name for v in project.videos] == ["example_0.mp4"]  # from video_sets
    assert project.problems() == []


def test_folder_that_is_not_a_project_names_it_and_points_at_the_parent(lp_project: Path) -> None:
    with pytest.raises(DataError, match="is not a PoseDesk project") as info:
        Project.open(lp_project / "labeled-data")
    assert str(lp_project / "labeled-data") in str(info.value)
    assert f"did you mean its parent folder {lp_project}" in str(info.value)


def test_a_run_folder_is_not_opened_as_a_project(lp_project: Path) -> None:
    run_dir = write_run(lp_project, "2024-05-01/10-00-00", [{"event": "started", "time": 0.0}])
    (run_dir / "config.yaml").write_text((lp_project / "config.yaml").read_text(encoding="utf-8"))
    expected = f"is a training run folder, not a project; open the project folder {lp_project}"
    with pytest.raises(DataError, match=re.escape(expected)):
        Project.open(run_dir)


def test_csv_with_wrong_header_names_the_file(lp_project: Path) -> None:
    csv_path = lp_project / "CollectedData.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("bodyparts", "parts", 1)
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="expected 'bodyparts'") as info:
        Project.open(lp_project)
    assert info.value.path == str(csv_path)


def test_config_pointing_at_a_missing_csv_names_the_key(lp_project: Path) -> None:
    config = lp_project / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("csv_file: CollectedData.csv", "csv_file: x.csv"))
    with pytest.raises(ConfigError, match=r"data\.csv_file points to .*x\.csv") as info:
        Project.open(lp_project)
    assert info.value.key == "data.csv_file"


def test_multi_animal_dlc_project_is_refused_clearly(template: Path, tmp_path: Path) -> None:
    root = make_dlc_project(template, tmp_path / "dlc")
    cfg = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    cfg["multianimalproject"] = True
    (root / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(DataError, match="multi-animal DeepLabCut project"):
        Project.open(root)


def test_problems_list_missing_images_and_a_read_only_folder(lp_project: Path) -> None:
    (lp_project / "labeled-data" / "img0003.png").unlink()
    project = Project.open(lp_project)
    (problem,) = project.problems()
    assert "1 of 12 labelled images are missing" in str(problem) and "img0003.png" in str(problem)
    lp_project.chmod(0o555)
    try:
        messages = [str(p) for p in Project.open(lp_project).problems()]
    finally:
        lp_project.chmod(0o755)
    assert any("is read-only" in m and "copy it to a writable folder" in m for m in messages)


def test_is_writable_dir(tmp_path: Path, read_only: Path) -> None:
    assert is_writable_dir(tmp_path)
    assert is_writable_dir(tmp_path / "not" / "yet" / "there")  # checked at the nearest existing parent
    assert not is_writable_dir(read_only)
    assert not is_writable_dir(read_only / "new-project")


# ----------------------------------------------------------------------------- runs


def test_list_runs_reads_status_date_epochs_losses_and_test_error(lp_project: Path) -> None:
    now = time.time()
    finished = write_run(
        lp_project,
        "2024-05-01/10-00-00",
        [
            {"event": "started", "time": 1714550400.0, "pid": dead_pid()},
            {"event": "epoch_end", "time": 1714550460.0, "epoch": 0, "metrics": {"val_supervised_loss": 0.5}},
            {"event": "epoch_end", "time": 1714550520.0, "epoch": 1, "metrics": {"val_supervised_loss": 0.25}},
            {"event": "epoch_end", "time": 1714550580.0, "epoch": 2, "metrics": {"val_supervised_loss": 0.3}},
            {"event": "finished", "time": 1714550600.0},
        ],
        {"status": "finished", "epochs_completed": 3, "pixel_error": {"test": {"mean_px": 4.25, "median_px": 3.0}}},
    )
    killed = write_run(
        lp_project,
        "2024-05-02/09-30-00",
        [
            {"event": "started", "time": now - 100, "pid": dead_pid()},
            {"event": "epoch_end", "time": now - 50, "epoch": 0, "metrics": {"val_supervised_loss": None}},
        ],
    )
    running = write_run(lp_project, "2024-05-03/08-00-00", [{"event": "started", "time": now, "pid": os.getpid()}])
    failed = write_run(
        lp_project,
        "2024-05-04/07-00-00",
        [{"event": "started", "time": now}, {"event": "failed", "time": now}],
        "{oops",
    )
    empty = write_run(lp_project, "2024-05-05/06-00-00", [])
    runs = {run.path: run for run in list_runs(lp_project)}
    assert [r.path for r in list_runs(lp_project)][0] in (running, failed, empty, killed)  # newest first
    assert runs[finished].status == "finished"
    assert runs[finished].epochs == 3 and runs[finished].best_val_loss == 0.25 and runs[finished].test_error_px == 4.25
    assert runs[finished].started is not None and runs[finished].started.timestamp() == 1714550400.0
    assert runs[finished].name == "2024-05-01/10-00-00"
    assert runs[killed].status == "killed" and runs[killed].epochs == 1 and runs[killed].best_val_loss is None
    assert runs[running].status == "running"
    assert runs[failed].status == "failed" and runs[failed].test_error_px is None  # garbled summary ignored
    assert runs[empty].status == "not started"
    assert runs[empty].started is not None and runs[empty].started.hour == 6  # from the folder names
    assert list_runs(lp_project / "labeled-data") == []


def test_a_resumed_run_has_the_status_of_its_last_segment(lp_project: Path) -> None:
    now = time.time()
    first_segment = [
        {"event": "started", "time": now - 600, "pid": dead_pid()},
        {"event": "epoch_end", "time": now - 550, "epoch": 0, "metrics": {"val_supervised_loss": 0.5}},
        {"event": "stopped", "time": now - 500},
    ]
    stopped_summary = {"status": "stopped", "epochs_completed": 1}  # written when the first segment stopped
    killed = write_run(
        lp_project, "2024-06-01/10-00-00", [*first_segment, {"event": "started", "time": now + 5, "pid": dead_pid()}],
        stopped_summary,
    )  # fmt: skip
    resumed = write_run(
        lp_project, "2024-06-01/11-00-00",
        [*first_segment, {"event": "started", "time": now + 5, "pid": os.getpid()}], stopped_summary,
    )  # fmt: skip
    runs = {run.path: run for run in list_runs(lp_project)}
    assert runs[killed].status == "killed"  # the summary is the previous segment's
    assert runs[resumed].status == "running"  # its process is this one: alive


# ----------------------------------------------------------------------------- creating


def test_create_project_from_lp_folder_copies_everything_and_config_validates(lp_project: Path, tmp_path: Path) -> None:
    steps: list[tuple[int, int]] = []
    video = lp_project / "videos" / "example_0.mp4"
    project = create_project(
        "new one", tmp_path / "projects", lp_project, [video], progress=lambda d, t, m: steps.append((d, t))
    )
    root = tmp_path / "projects" / "new one"
    assert project.root == root and project.kind == "lightning-pose"
    assert project.n_labeled_frames == 12 and project.problems() == []
    assert (root / "labeled-data" / "img0000.png").read_bytes() == (
        lp_project / "labeled-data/img0000.png"
    ).read_bytes()
    assert [v.name for v in project.videos] == ["example_0.mp4"]
    cfg = load_config(root / "config.yaml").cfg  # validates, with paths
    assert list(cfg.data.keypoint_names) == project.keypoint_names
    assert cfg.data.num_keypoints == 18
    assert [list(m) for m in cfg.data.mirrored_column_matches] == [list(range(9)), list(range(9, 18))]  # carried over
    assert cfg.data.image_resize_dims.width == 256
    assert steps[-1][0] == steps[-1][1] == 12 + 1 + 1
    assert [p.name for p in (tmp_path / "projects").iterdir()] == ["new one"]  # no temporary folder left


def test_create_project_from_dlc_project_and_from_a_csv_file(template: Path, tmp_path: Path) -> None:
    dlc = make_dlc_project(template, tmp_path / "dlc")
    from_dlc = create_project("from-dlc", tmp_path, dlc)
    assert from_dlc.labels.image_paths[7] == "labeled-data/session2/img0007.png"
    assert (from_dlc.root / "labeled-data" / "session2" / "img0007.png").is_file()
    source = read_label_source(dlc / "labeled-data" / "session1" / "CollectedData_me.csv")
    assert source.data_dir == dlc  # the CSV's image paths are relative to the DLC project folder
    from_csv = create_project("from-csv", tmp_path, source)
    assert from_csv.n_labeled_frames == 6


def test_create_project_moves_images_outside_the_source_folder_inside_the_project(
    template: Path, tmp_path: Path
) -> None:
    labels = read_labels(template / "CollectedData.csv")
    csv_path = tmp_path / "elsewhere" / "labels.csv"
    outside = [os.path.relpath(template / p, csv_path.parent) for p in labels.image_paths]  # "../../.../img.png"
    write_labels(LabelSet(outside, labels.keypoint_names, labels.keypoints_px), csv_path)
    project = create_project("outside", tmp_path / "projects", csv_path)
    assert project.labels.image_paths[0] == "labeled-data/img0000.png"
    assert project.problems() == []


def test_create_project_refuses_bad_names_existing_folders_and_read_only_locations(
    lp_project: Path, tmp_path: Path, read_only: Path
) -> None:
    with pytest.raises(DataError, match="cannot be a folder name"):
        check_new_project_folder("a/b", tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("x")
    with pytest.raises(DataError, match="already exists and is not empty"):
        create_project("taken", tmp_path, lp_project)
    with pytest.raises(DataError, match=r"the folder is read-only; choose a writable location") as info:
        create_project("p", read_only, lp_project)
    assert info.value.path == str(read_only)
    assert list(read_only.iterdir()) == []


def test_create_project_rejects_a_video_that_will_not_open(lp_project: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 100)
    with pytest.raises(DataError, match="cannot be opened") as info:
        create_project("p", tmp_path / "projects", lp_project, [broken])
    assert str(broken) in str(info.value)
    assert not (tmp_path / "projects" / "p").exists()


def test_create_project_reports_missing_images(lp_project: Path, tmp_path: Path) -> None:
    (lp_project / "labeled-data" / "img0005.png").unlink()
    with pytest.raises(DataError, match="1 of 12 labelled images are missing"):
        create_project("p", tmp_path / "projects", lp_project)


def test_add_videos_copies_checked_videos_and_refuses_duplicates(lp_project: Path, tmp_path: Path) -> None:
    project = Project.open(lp_project)
    other = tmp_path / "other.mp4"
    shutil.copy(lp_project / "videos" / "example_0.mp4", other)
    added = add_videos(project, [other])
    assert added == [lp_project / "videos" / "other.mp4"] and added[0].is_file()
    with pytest.raises(DataError, match="already in the project"):
        add_videos(Project.open(lp_project), [other])
    text_file = tmp_path / "notes.txt"
    text_file.write_text("x")
    with pytest.raises(DataError, match="is not a video file"):
        add_videos(project, [text_file])


def test_one_video_extension_list() -> None:
    from pose_core.interop import dlc_project
    from pose_core.video import reader
    from pose_core.video.formats import VIDEO_EXTENSIONS

    assert VIDEO_SUFFIXES is VIDEO_EXTENSIONS and reader.VIDEO_EXTENSIONS is VIDEO_EXTENSIONS
    assert not hasattr(dlc_project, "VIDEO_SUFFIXES")
