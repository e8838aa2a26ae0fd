"""VideoProbeWorker: read each video's frame count, fps and size in a thread (OpenCV loads there)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from pose_core.errors import DataError, PoseDeskError


class VideoProbeWorker(QThread):
    """Probes videos one after the other with :func:`pose_core.video.reader.probe_video`.

    Signals:
        probed(int, str, object): generation, video path, :class:`pose_core.video.reader.VideoInfo`.
        probe_failed(int, str, object): generation, video path, the :class:`PoseDeskError` (names the fix).
    """

    probed = Signal(int, str, object)
    probe_failed = Signal(int, str, object)

    def __init__(self, generation: int, videos: Sequence[Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.generation = generation
        self._videos = [Path(v) for v in videos]

    def run(self) -> None:
        """Probe every video; stop early when interrupted."""
        from pose_core.video.reader import probe_video  # imports cv2: only in this thread

        for video in self._videos:
            if self.isInterruptionRequested():
                return
            try:
                info = probe_video(video)
            except PoseDeskError as error:
                self.probe_failed.emit(self.generation, str(video), error)
            except Exception as exc:  # noqa: BLE001 - a decoder crash on one file must not stop the others
                wrapped = DataError(
                    f"Video {video} cannot be read ({type(exc).__name__}: {exc}); re-encode it as H.264 mp4.",
                    path=str(video),
                )
                self.probe_failed.emit(self.generation, str(video), wrapped)
            else:
                self.probed.emit(self.generation, str(video), info)
