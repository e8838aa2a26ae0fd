"""The loss plots: a constant or single-point curve is framed on its value and visible."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from pose_core.events import Event
from pose_gui.models.loss_history import LossHistory
from pose_gui.views.loss_plots import LossPlots


def _epoch(epoch: int, learning_rate: float, loss: float) -> Event:
    metrics = {"val_supervised_loss": loss, "learning_rate": learning_rate}
    return Event("epoch_end", 100.0 + epoch, {"epoch": epoch, "global_step": 9 * (epoch + 1), "metrics": metrics})


def _y_range(plots: LossPlots, group: str) -> tuple[float, float]:
    low, high = plots.plots[group].viewRange()[1]
    return low, high


def test_a_constant_learning_rate_is_framed_on_its_value_until_it_changes(qtbot: QtBot) -> None:
    plots = LossPlots()
    qtbot.addWidget(plots)
    plots.resize(700, 600)
    plots.show()
    history = LossHistory([Event("started", 99.0, {"start_epoch": 0, "max_epochs": 5}), _epoch(0, 1e-3, 0.9)])
    plots.set_runs([("run", history)])
    assert plots.curve_points("run", "learning_rate") == ([9.0], [1e-3])
    assert plots._curves[("run", "lr", "learning_rate")].opts["symbol"] == "o"  # one point: a dot
    low, high = _y_range(plots, "lr")
    assert 0 < low < 1e-3 < high < 2e-3  # not -0.5..0.5, where 0.001 reads as 0
    history.add_events([_epoch(1, 1e-3, 0.8), _epoch(2, 1e-4, 0.7)])  # the scheduler lowers it
    plots.redraw()
    qtbot.waitUntil(lambda: _y_range(plots, "lr")[0] < 2e-4, timeout=5000)  # automatic range again
    assert plots._curves[("run", "lr", "learning_rate")].opts["symbol"] is None
