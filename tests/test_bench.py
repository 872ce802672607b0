"""The benchmark's report and one real measurement in a child process."""

from __future__ import annotations

import pytest

from utils import bench


def fake_results():
    training = [{"model": model, "crop": 128, "precision": precision, "xla": xla, "samples_per_second": speed,
                 "batch": 16, "speedup": speed / base}
                for model, base in (("flow", 50.0), ("residual", 40.0))
                for precision, xla, speed in (("float32", False, base), ("mixed_bfloat16", False, 2 * base),
                                              ("float32", True, base / 2))]
    return {
        "hardware": "test CPU", "date": "2026-11-25",
        "training": {"rows": training},
        "input": {"rows": [{"reader": "png_folder", "triplets_per_second": 400.0},
                           {"reader": "tfrecord_raw+prior", "triplets_per_second": 300.0}],
                  "consumed": {"flow": 100.0, "residual": 80.0}},
        "inference": {"rows": [{"size": "448x256", "method": "DIS flow", "ms_per_frame": 12.3, "peak_memory_gb": 0.5}]},
        "end_to_end": {"steps": 10, "runs": ["residual mse"], "baseline": {"seconds": 30.0},
                       "chosen": {"seconds": 15.0, "precision": "mixed_bfloat16", "xla": False}, "speedup": 2.0},
    }


def test_report_has_every_section_and_the_ratios():
    text = bench.report(fake_results())
    assert "on test CPU, 2026-11-25" in text
    assert "| flow UNet | 128x128 | mixed_bfloat16 | off | 100.0 | 2.00x |" in text
    assert "| UNet (residual) | 128x128 | float32 | on | 20.0 | 0.50x |" in text
    assert "| PNG folders | 400 | 5.0x |" in text  # frames only: against the UNet's 80 samples/s
    assert "| TFRecord, raw frames + stored prior | 300 | 3.0x |" in text  # with prior: against the flow UNet's 100
    assert "| 448x256 | DIS flow | 12 | 0.50 |" in text
    assert "| mixed_bfloat16, XLA off (chosen) | 15 | 2.00x |" in text


def test_consumption_is_read_for_the_chosen_settings(monkeypatch):
    from utils import training

    monkeypatch.setattr(training, "choose_precision", lambda requested="auto": "mixed_bfloat16")
    monkeypatch.setattr(training, "choose_jit", lambda requested="auto": False)
    assert bench._consumed(fake_results()) == {"flow": 100.0, "residual": 80.0}
    assert bench._consumed({}) is None


def test_a_measurement_runs_in_its_own_process():
    result = bench.run_child("inference", method="DIS flow", size="448x256", repeats=1)
    assert result["ms_per_frame"] > 0 and 0 < result["peak_memory_gb"] < 6
    with pytest.raises(RuntimeError, match="benchmark inference"):
        bench.run_child("inference", method="no such method", size="448x256", repeats=1)
