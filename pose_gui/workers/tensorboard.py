"""TensorBoardServer: TensorBoard for one run's ``tb_logs`` on 127.0.0.1 at a free port, opened in the browser.

TensorBoard runs as a child process (:class:`~pose_gui.workers.process_job.ProcessJob`) bound to
the loopback interface only, on a port the system reports free just before the start (never a
fixed port). The browser opens once TensorBoard prints that it is serving; the process is ended
by :meth:`TensorBoardServer.shutdown` when the window closes.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from pose_core.errors import DataError, RunError
from pose_gui.workers.process_job import ProcessJob

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now (asked from the system)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tensorboard_command(logdir: Path, port: int) -> list[str]:
    """The command serving ``logdir`` on :data:`HOST`:``port``."""
    return [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", HOST, "--port", str(port)]


class TensorBoardServer(QObject):
    """One TensorBoard process at a time (a new run replaces the previous one).

    Signals:
        ready(str): TensorBoard serves at this URL (the browser was asked to open it).
        failed(object): It could not start or ended early (a :class:`RunError` with its output).
    """

    ready = Signal(str)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None, *, open_browser: bool = True) -> None:
        super().__init__(parent)
        self.open_browser = open_browser
        self.job: ProcessJob | None = None
        self.url = ""
        self.logdir: Path | None = None
        self._ready = False

    def open_run(self, run_dir: Path) -> None:
        """Serve ``run_dir/tb_logs`` (re-open the browser if it is already served).

        Raises:
            DataError: The run has no ``tb_logs`` folder.
            RunError: TensorBoard is not installed.
        """
        from pose_core.runs.layout import RunLayout

        logdir = RunLayout(Path(run_dir)).tb_logs
        if not logdir.is_dir():
            raise DataError(
                f"{logdir} does not exist: the run has not logged anything yet; wait for its first epoch or pick "
                "another run.",
                path=str(logdir),
            )
        if importlib.util.find_spec("tensorboard") is None:
            raise RunError(
                "TensorBoard is not installed in PoseDesk's Python; install it with: pip install tensorboard"
            )
        if self.job is not None and self.job.is_running() and self.logdir == logdir and self._ready:
            self._open_url()
            return
        self.shutdown()
        port = free_port()
        self.logdir, self.url, self._ready = logdir, f"http://{HOST}:{port}/", False
        self.job = ProcessJob(sys.executable, tensorboard_command(logdir, port)[1:], parent=self)
        self.job.output_received.connect(self._on_job_output_received)
        self.job.ended.connect(self._on_job_ended)
        self.job.start()

    def is_running(self) -> bool:
        """True while a TensorBoard process runs."""
        return self.job is not None and self.job.is_running()

    def shutdown(self) -> None:
        """End the TensorBoard process (and wait for it)."""
        if self.job is not None:
            job, self.job = self.job, None
            job.ended.disconnect(self._on_job_ended)
            job.shutdown()
            job.deleteLater()

    def _on_job_output_received(self, _text: str) -> None:
        if not self._ready and self.job is not None and any(HOST in line for line in self.job.last_lines(20)):
            self._ready = True
            self._open_url()

    def _open_url(self) -> None:
        if self.open_browser:
            QDesktopServices.openUrl(QUrl(self.url))
        self.ready.emit(self.url)

    def _on_job_ended(self, exit_code: int, _how: str) -> None:
        output = self.job.output_text() if self.job is not None else ""
        self.failed.emit(
            RunError(f"TensorBoard ended (exit code {exit_code}) for {self.logdir}; its output:\n{output[-2000:]}")
        )
