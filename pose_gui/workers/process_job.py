"""ProcessJob: one child process (QProcess) with its output streamed to a log and a file, and a tree kill.

The child's stdout and stderr are merged and read asynchronously (``readyRead``), never with a
blocking wait in the GUI thread. Every chunk is emitted as :attr:`ProcessJob.output_received`,
kept in a bounded buffer of recent lines (for the failure view) and appended to a log file once
its folder exists (a training run creates its folder only after its input has been checked).
:meth:`ProcessJob.kill_tree` ends the child and every process it started (psutil), with
``QProcess.kill`` as the fallback.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import psutil
from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

MAX_TAIL_LINES = 400
KILL_WAIT_MS = 5000


class ProcessJob(QObject):
    """A child process whose output goes to :attr:`output_received`, :meth:`last_lines` and a log file.

    Signals:
        started(int): The child runs (its pid).
        output_received(str): A chunk of the merged stdout/stderr text.
        ended(int, str): Exit code and how it ended: ``normal``, ``crashed`` (signal) or ``killed``
            (by :meth:`kill_tree`), or ``start_failed`` (the program could not be started; code -1).
    """

    started = Signal(int)
    output_received = Signal(str)
    ended = Signal(int, str)

    def __init__(
        self,
        program: str,
        args: Sequence[str],
        *,
        log_path: Path | None = None,
        working_dir: Path | None = None,
        env: dict[str, str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """Prepare (not start) the process.

        Args:
            program: Executable.
            args: Its arguments.
            log_path: File the output is appended to once its folder exists (None = no file).
            working_dir: The child's working directory.
            env: Extra environment variables for the child.
            parent: Owner.
        """
        super().__init__(parent)
        self.program, self.args = program, list(args)
        self.log_path = log_path
        self._tail: deque[str] = deque(maxlen=MAX_TAIL_LINES)
        self._partial_line = ""
        self._pending_log: list[str] = []
        self._log_file: IO[str] | None = None
        self._kill_requested = False
        self._ended = False
        self.exit_code: int | None = None
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        if working_dir is not None:
            self.process.setWorkingDirectory(str(working_dir))
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        for key, value in (env or {}).items():
            environment.insert(key, value)
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._on_process_ready_read)
        self.process.started.connect(self._on_process_started)
        self.process.finished.connect(self._on_process_finished)
        self.process.errorOccurred.connect(self._on_process_error)

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        """Start the child (returns at once; :attr:`started` or :attr:`ended` follows)."""
        self.process.start(self.program, self.args)

    def is_running(self) -> bool:
        """True while the child process exists."""
        return self.process.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int | None:
        """The child's process id while it runs."""
        pid = int(self.process.processId())
        return pid if pid > 0 else None

    def kill_tree(self) -> None:
        """Kill the child and all its descendants now (SIGKILL); :attr:`ended` reports ``killed``."""
        if not self.is_running():
            return
        self._kill_requested = True
        pid = self.pid()
        descendants: list[psutil.Process] = []
        if pid is not None:
            try:
                descendants = psutil.Process(pid).children(recursive=True)
            except psutil.Error:
                descendants = []
        for child in descendants:
            try:
                child.kill()
            except psutil.Error:
                continue
        self.process.kill()
        if pid is not None and self.is_running():  # fallback when QProcess could not deliver the signal
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def shutdown(self, timeout_ms: int = KILL_WAIT_MS) -> None:
        """Kill the tree and wait (at most ``timeout_ms``) until the child has ended; used when quitting."""
        if self.is_running():
            self.kill_tree()
            self.process.waitForFinished(timeout_ms)
        self._close_log()

    def set_log_path(self, log_path: Path | None) -> None:
        """Append the output from now on to ``log_path`` (an ensemble's next member's ``train.log``)."""
        self._close_log()
        self.log_path = log_path

    # ------------------------------------------------------------------ output

    def last_lines(self, n_lines: int = 40) -> list[str]:
        """The last ``n_lines`` lines of output (a partial last line included)."""
        lines = list(self._tail) + ([self._partial_line] if self._partial_line else [])
        return lines[-n_lines:]

    def output_text(self) -> str:
        """All output kept in memory (the last :data:`MAX_TAIL_LINES` lines)."""
        return "\n".join(self.last_lines(MAX_TAIL_LINES))

    def _on_process_ready_read(self) -> None:
        data = bytes(self.process.readAllStandardOutput().data())
        if data:
            self._handle_text(data.decode("utf-8", errors="replace"))

    def _handle_text(self, text: str) -> None:
        text = text.replace("\r\n", "\n")
        lines = (self._partial_line + text).split("\n")
        self._partial_line = lines.pop()
        self._tail.extend(line.rsplit("\r", 1)[-1] for line in lines)  # keep the last state of a \r progress bar
        self._write_log(text)
        self.output_received.emit(text)

    def _write_log(self, text: str) -> None:
        if self.log_path is None:
            return
        self._pending_log.append(text)
        if self._log_file is None:
            if not self.log_path.parent.is_dir():
                return
            try:
                self._log_file = self.log_path.open("a", encoding="utf-8")
            except OSError:
                self.log_path = None  # the folder is read-only or vanished: keep the in-memory log only
                return
        try:
            self._log_file.write("".join(self._pending_log))
            self._log_file.flush()
        except OSError:
            self._close_log()
            self.log_path = None
        self._pending_log.clear()

    def _close_log(self) -> None:
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    # ------------------------------------------------------------------ lifecycle

    def _on_process_started(self) -> None:
        self.started.emit(self.pid() or 0)

    def _on_process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._on_process_ready_read()
        if self._partial_line:
            self._tail.append(self._partial_line)
            self._partial_line = ""
        self._write_log("")  # flush what waited for the folder
        self._close_log()
        if self._kill_requested:
            how = "killed"
        elif exit_status == QProcess.ExitStatus.CrashExit:
            how = "crashed"
        else:
            how = "normal"
        self._finish(int(exit_code), how)

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._tail.append(f"Could not start {self.program}: {self.process.errorString()}")
            self._finish(-1, "start_failed")

    def _finish(self, exit_code: int, how: str) -> None:
        if self._ended:
            return
        self._ended = True
        self.exit_code = exit_code
        self.ended.emit(exit_code, how)
