"""The runs of a project as the panes list them: ensembles grouped, each run's parent named.

- :func:`group_runs` puts the members of one ensemble (``training.ensemble_seeds``) together, in
  the order of the newest run of each group; a lone run is a group of one. A member's ensemble is
  its ``summary.json`` entry (:attr:`pose_core.runs.RunInfo.ensemble_id`) or, for a member that
  ended before writing it (killed, still training), its ``<base>-seed<S>`` folder name.
- :func:`parent_text` says which run a run was started from (``training.init_from``).
- :class:`RunsTreeModel`: the Project pane's runs (status, date, epochs, best val loss, test error,
  parent), an ensemble as a parent row with its members under it.

Works on any row with ``path``, ``name``, ``ensemble_id`` and ``parent`` (a
:class:`pose_core.runs.RunInfo` or the Training pane's :class:`~pose_gui.models.loss_history.RunRow`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from pose_core.runs.status import RunStatus
from pose_gui.models.table import RIGHT_ALIGNED
from pose_gui.style import STATUS_COLORS

if TYPE_CHECKING:
    from pose_core.runs import RunInfo

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("Run", "Status", "Started", "Epochs", "Best val loss", "Test error (px)", "From")
MEMBER_NAME = re.compile(r"(?P<base>.+)-seed(?P<seed>\d+)")
Index = QModelIndex | QPersistentModelIndex


class RunLike(Protocol):
    """What grouping reads of a listed run."""

    @property
    def path(self) -> Path: ...

    @property
    def name(self) -> str: ...

    @property
    def ensemble_id(self) -> str | None: ...

    @property
    def parent(self) -> Path | None: ...


R = TypeVar("R", bound=RunLike)


@dataclass(frozen=True)
class RunGroup(Generic[R]):
    """One line of a runs list: a lone run, or an ensemble and its members.

    Attributes:
        runs: The run, or the members in seed order.
        ensemble: ``<date>/<ensemble id>`` for an ensemble, else None.
    """

    runs: list[R]
    ensemble: str | None = None

    @property
    def is_ensemble(self) -> bool:
        """True for an ensemble (even one whose other members are not listed yet)."""
        return self.ensemble is not None

    @property
    def title(self) -> str:
        """``ensemble 2026-12-03/15-00-00 (3 runs)`` or the run's name."""
        return self.title_of(None)

    def title_of(self, planned: int | None) -> str:
        """The title, ``(1 of 3 runs)`` while ``planned`` members are trained and fewer exist."""
        if self.ensemble is None:
            return self.runs[0].name
        n = len(self.runs)
        count = f"{n} of {planned} runs" if planned and planned > n else f"{n} run{'s' * (n != 1)}"
        return f"ensemble {self.ensemble} ({count})"


def ensemble_key(run: RunLike) -> str | None:
    """``<date>/<ensemble id>`` of an ensemble member (from its summary, else its ``-seed<S>`` folder name)."""
    if run.ensemble_id:
        return f"{run.path.parent.name}/{run.ensemble_id}"
    match = MEMBER_NAME.fullmatch(run.path.name)
    return f"{run.path.parent.name}/{match['base']}" if match else None


def member_seed(run: RunLike) -> int:
    """The seed in a member's folder name (``-seed<S>``); -1 when there is none."""
    match = MEMBER_NAME.fullmatch(run.path.name)
    return int(match["seed"]) if match else -1


def group_runs(runs: list[R]) -> list[RunGroup[R]]:
    """Group ensemble members; a group stands where its first (newest) run stands in ``runs``.

    Args:
        runs: Listed runs, in the order to show them (newest first).

    Returns:
        One group per ensemble (members in seed order) or lone run.
    """
    members: dict[str, list[R]] = {}
    order: list[str | R] = []
    for run in runs:
        key = ensemble_key(run)
        if key is None:
            order.append(run)
        elif key not in members:
            members[key] = [run]
            order.append(key)
        else:
            members[key].append(run)
    return [
        RunGroup(sorted(members[item], key=lambda r: (member_seed(r), r.name)), item)
        if isinstance(item, str)
        else RunGroup([item])
        for item in order
    ]


def run_label(run_dir: Path) -> str:
    """``YYYY-MM-DD/HH-MM-SS`` of a run folder."""
    return f"{run_dir.parent.name}/{run_dir.name}"


def parent_text(run: RunLike) -> str:
    """``from 15-00-00-seed0`` for a run started with ``training.init_from`` (the date too when it differs), else ``""``."""
    if run.parent is None:
        return ""
    same_day = run.parent.parent.name == run.path.parent.name
    return f"from {run.parent.name if same_day else run_label(run.parent)}"


def parents_text(runs: list[Any]) -> str:
    """What an ensemble's members were started from: ``from ensemble 15-00-00``, ``from 15-00-00``, or ``""``."""
    parents = {r.parent for r in runs if r.parent is not None}
    if not parents:
        return ""
    if len(parents) == 1:
        return parent_text(next(r for r in runs if r.parent is not None))
    bases = {(p.parent.name, m["base"]) if (m := MEMBER_NAME.fullmatch(p.name)) else None for p in parents}
    if len(bases) == 1 and None not in bases:
        day, base = next(iter(bases))  # type: ignore[misc]
        same_day = all(r.path.parent.name == day for r in runs)
        return f"from ensemble {base if same_day else f'{day}/{base}'}"  # each member from its own seed's member
    return "from several runs"


def group_status(statuses: list[str]) -> str:
    """One status for an ensemble: ``running`` if a member runs, ``3 finished`` if all agree, else ``2 finished, 1 stopped``."""
    if RunStatus.RUNNING in statuses:
        return RunStatus.RUNNING
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def mean_of(values: list[float | None]) -> float | None:
    """Mean of the known finite values (None when there is none)."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    return sum(known) / len(known) if known else None


def min_of(values: list[float | None]) -> float | None:
    """Lowest of the known values (None when there is none)."""
    known = [v for v in values if v is not None]
    return min(known) if known else None


class RunsTreeModel(QAbstractItemModel):
    """The Project pane's runs: lone runs and ensembles at the top, an ensemble's members under it.

    ``SORT_ROLE`` gives sortable values, ``PATH_ROLE`` a run row's folder (None on an ensemble row).
    """

    COLUMNS = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runs: list[RunInfo] = []
        self._groups: list[RunGroup[RunInfo]] = []

    # ------------------------------------------------------------------ content

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Replace all rows (``runs`` newest first)."""
        self.beginResetModel()
        self._runs = list(runs)
        self._groups = group_runs(self._runs)
        self.endResetModel()

    def runs(self) -> list[RunInfo]:
        """All runs (members included), newest first."""
        return list(self._runs)

    def groups(self) -> list[RunGroup[RunInfo]]:
        """The top-level rows."""
        return list(self._groups)

    def run_at(self, row: int) -> RunInfo:
        """The run of top-level ``row`` (an ensemble's newest member for an ensemble row)."""
        return self._groups[row].runs[0]

    def run_for(self, index: Index) -> RunInfo | None:
        """The run an index shows (None for an ensemble row)."""
        if not index.isValid():
            return None
        group = self._groups[self._group_row(index)]
        if index.internalId() == 0:
            return None if group.is_ensemble else group.runs[0]
        return group.runs[index.row()]

    # ------------------------------------------------------------------ tree structure

    def _group_row(self, index: Index) -> int:
        internal = int(index.internalId())
        return index.row() if internal == 0 else internal - 1

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008 - Qt signature
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        return self.createIndex(row, column, parent.row() + 1)  # a member: internal id = its group's row + 1

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or int(index.internalId()) == 0:
            return QModelIndex()
        return self.createIndex(int(index.internalId()) - 1, 0, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        if not parent.isValid():
            return len(self._groups)
        if int(parent.internalId()) != 0 or parent.column() != 0:
            return 0
        group = self._groups[parent.row()]
        return len(group.runs) if group.is_ensemble else 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self.run_for(index)
        if run is not None:
            return _run_cell(run, index.column(), role)
        return _group_cell(self._groups[index.row()], index.column(), role)


def _run_cell(run: RunInfo, column: int, role: int) -> Any:
    if role == Qt.ItemDataRole.DisplayRole:
        return _display(run, column)
    if role == SORT_ROLE:
        return _sort_value(run, column)
    if role == PATH_ROLE:
        return str(run.path)
    if role == Qt.ItemDataRole.ForegroundRole and column == 1:
        return QColor(STATUS_COLORS.get(run.status.split(" · ")[0], "#000000"))  # "finished · Lightning Pose"
    if role == Qt.ItemDataRole.ToolTipRole:
        tip = str(run.path) if run.source == "PoseDesk" else f"{run.path}\n(trained with {run.source})"
        return f"{tip}\nStarted from the weights of {run.parent}" if run.parent is not None else tip
    if role == Qt.ItemDataRole.TextAlignmentRole and 3 <= column <= 5:
        return RIGHT_ALIGNED
    return None


def _group_cell(group: RunGroup[RunInfo], column: int, role: int) -> Any:
    runs = group.runs
    if role == Qt.ItemDataRole.DisplayRole:
        values = (
            group.title, group_status([r.status for r in runs]), _display(runs[0], 2), "",
            _fmt(min_of([r.best_val_loss for r in runs]), ".4g"),
            _fmt(mean_of([r.test_error_px for r in runs]), ".2f", " (mean)"), parents_text(runs),
        )  # fmt: skip
        return values[column]
    if role == SORT_ROLE:
        return _sort_value(runs[0], column)
    if role == Qt.ItemDataRole.ForegroundRole and column == 1:  # "3 finished" in the finished colour
        return QColor(STATUS_COLORS.get(group_status([r.status for r in runs]).split(" ", 1)[-1], "#000000"))
    if role == Qt.ItemDataRole.FontRole and column == 0:
        font = QFont()
        font.setBold(True)
        return font
    if role == Qt.ItemDataRole.ToolTipRole:
        return (
            f"An ensemble of {len(runs)} runs trained with training.ensemble_seeds (one per seed, same split):\n"
            + "\n".join(str(r.path) for r in runs)
        )
    if role == Qt.ItemDataRole.TextAlignmentRole and 3 <= column <= 5:
        return RIGHT_ALIGNED
    return None


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "—" if value is None else format(value, spec) + suffix


def _display(run: RunInfo, column: int) -> str:
    if column == 0:
        return run.name
    if column == 1:
        return run.status
    if column == 2:
        return run.started.strftime("%Y-%m-%d %H:%M") if run.started else "—"
    if column == 3:
        return str(run.epochs) if run.epochs is not None else "—"
    if column == 4:
        return f"{run.best_val_loss:.4g}" if run.best_val_loss is not None else "—"
    if column == 5:
        return f"{run.test_error_px:.2f}" if run.test_error_px is not None else "—"
    return parent_text(run)


def _sort_value(run: RunInfo, column: int) -> Any:
    values: tuple[Any, ...] = (
        run.name,
        run.status,
        run.started.timestamp() if run.started else 0.0,
        run.epochs if run.epochs is not None else -1,
        run.best_val_loss if run.best_val_loss is not None else float("inf"),
        run.test_error_px if run.test_error_px is not None else float("inf"),
        parent_text(run),
    )
    return values[column]
