"""Learning curves of long runs and probes, drawn from their typed states."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

from utils import paths
from utils.training import curves, run_state

matplotlib.use("Agg")


def test_long_run_and_probe_curves_are_drawn_from_run_states(tmp_path):
    def state(gains, baseline, warm_start=None):
        return run_state.RunState.from_json({
            "config": {}, "step": 400 * (len(gains) - 1), "baselines": {"dis": 34.0, "average": 30.0},
            "history": [{"step": 400 * k, "cpu_hours": 0.05 * k, "wall_hours": 0.05 * k, "val_psnr": baseline + g,
                         "learning_rate": 3e-4, "train_loss": None if k == 0 else 0.02 - 0.001 * k}
                        for k, g in enumerate(gains)],
            **({"warm_start": warm_start} if warm_start else {})})

    figure = curves.longrun_curves({"flow": state([0, 0.05, 0.1], 34.0), "unet": state([0, 0.5, 1.2], 30.0)},
                                    path=tmp_path / "curves.png")
    assert len(figure.axes) >= 2 and (tmp_path / "curves.png").stat().st_size > 1000
    lines = figure.axes[1].get_lines()
    assert list(lines[0].get_ydata()) == pytest.approx([0, 0.5, 1.2])  # dB above averaging for the UNet
    slow = state([0, 0.3, 0.6], 30.0)
    for entry in slow.history:
        entry.cpu_hours *= 10  # ten times the CPU per step: each panel's steps axis must use its own run
    figure = curves.longrun_curves({"flow": state([0, 0.05, 0.1], 34.0), "unet": slow})
    forward = [child._functions[0] for axis in figure.axes for child in axis.child_axes]
    assert [float(f(0.1)) for f in forward] == pytest.approx([800, 80])
    follow = state([0.1, 0.2], 34.0, {"weights": "t/flow/best.weights.h5", "step": 800, "cpu_hours": 0.1,
                                       "cpu_hours_before": 0.5})
    then = state([0.3], 34.0, {"weights": "t/update/best.weights.h5", "step": 400, "cpu_hours": 0.05,
                               "cpu_hours_before": 0.1 + 0.5})
    started = state([0, 0.05, 0.1], 34.0, {"weights": "t/x/best.weights.h5", "cpu_hours": 0.5})  # 0.5 h before it
    figure = curves.longrun_curves({"flow": started}, continuations={"flow": [("update", "corrected", follow), ("deep", "deeper", then)]})
    drawn = figure.axes[0].get_lines()[1:3]  # after the run's own line: the continuations, from where they started
    assert [line.get_label() for line in drawn] == ["corrected (from flow's step 800)", "deeper (from update's step 400)"]
    assert list(drawn[0].get_xdata()) == pytest.approx([0.1, 0.15]) and list(drawn[0].get_ydata()) == pytest.approx([0.1, 0.2])
    assert list(drawn[1].get_xdata()) == pytest.approx([0.15]) and drawn[1].get_color() != drawn[0].get_color()
    figure = curves.probe_curves({"a": state([0, -0.1], 34.0), "b": state([0, 0.1, 0.2], 34.0)}, "dis",
                                  path=tmp_path / "probes.png")
    assert [line.get_label() for line in figure.axes[0].get_lines()][:2] == ["a", "b"]
    many = {f"run {k}": state([0, 0.01 * k], 34.0) for k in range(22)}
    figure = curves.probe_curves({**many, "winner (shipped: step 400)": state([0, 0.3], 34.0)})
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    styles = {(line.get_color(), line.get_linestyle(), line.get_marker()) for label, line in lines.items() if label.startswith("run ")}
    assert len(styles) == 22  # the colour cycle repeats every ten lines, the style does not
    assert lines["winner (shipped: step 400)"].get_color() == "black" and lines["winner (shipped: step 400)"].get_linewidth() > 2


def test_the_shipped_run_stands_out_and_the_legend_covers_no_curve():
    def state(gains, warm_start=None):
        return run_state.RunState.from_json({
            "config": {}, "step": 400 * (len(gains) - 1), "baselines": {"dis": 34.0, "average": 30.0},
            "history": [{"step": 400 * k, "cpu_hours": 0.05 * k, "wall_hours": 0.05 * k, "val_psnr": 34.0 + g,
                         "learning_rate": 3e-4, "train_loss": 0.02} for k, g in enumerate(gains)],
            **({"warm_start": warm_start} if warm_start else {})})

    follow = state([0.1, 0.3], {"weights": "t/flow/best.weights.h5", "step": 800, "cpu_hours": 0.1})
    figure = curves.longrun_curves({"flow": state([0, 0.05, 0.1])}, continuations={"flow": [("better", "psnr", follow)]},
                                   shipped={"flow": "better"})
    axis = figure.axes[0]
    own, continued = axis.get_lines()[:2]
    assert continued.get_label() == "psnr (from flow's step 800) (shipped)" and continued.get_alpha() == 1.0
    assert own.get_alpha() < 0.5 and continued.get_linewidth() > own.get_linewidth()
    legend = axis.get_legend()
    assert legend.get_bbox_to_anchor().bounds[1] < axis.get_position().y0 * figure.bbox.height  # below the panel
    shipped_record = json.loads(paths.resolve("results/models/flow_time_corpus.json").read_text())
    assert curves.records.shipped_runs()["flow_time"] == Path(shipped_record["run"]).name  # read from the records
