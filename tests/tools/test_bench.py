"""The benchmark's report and one real measurement in a child process."""

from __future__ import annotations

import pytest

from utils import hardware
from utils.tools import bench, bench_measure, bench_report


def fake_results():
    training = [{"model": model, "crop": 128, "precision": precision, "xla": xla, "samples_per_second": speed,
                 "batch": 16, "speedup": speed / base, "cpu_ms_per_sample": 1000 / speed * 1.8,
                 "cpu_speedup": speed / base, "cores": 1.8}
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
        "end_to_end": {"steps": 10, "runs": ["residual mse"], "baseline": {"seconds": 30.0, "cpu_seconds": 57.0},
                       "chosen": {"seconds": 15.0, "cpu_seconds": 38.0, "precision": "mixed_bfloat16", "xla": False},
                       "speedup": 2.0, "cpu_speedup": 1.5},
    }


def test_report_has_every_section_and_the_ratios():
    text = bench_report.report(fake_results())
    assert "on test CPU, 2026-11-25" in text
    assert "| flow UNet | 128x128 | mixed_bfloat16 | off | 100.0 | 2.00x | 18.0 | 2.00x | 1.8 |" in text
    assert "| UNet (residual) | 128x128 | float32 | on | 20.0 | 0.50x | 90.0 | 0.50x | 1.8 |" in text
    assert "| PNG folders | 400 | 5.0x |" in text  # frames only: against the UNet's 80 samples/s
    assert "| TFRecord, raw frames + stored prior | 300 | 3.0x |" in text  # with prior: against the flow UNet's 100
    assert "| 448x256 | DIS flow | 12 | 0.50 |" in text
    assert "| float32, XLA off | 30 | 1.00x | 57 | 1.00x |" in text
    assert "| mixed_bfloat16, XLA off (chosen) | 15 | 2.00x | 38 | 1.50x |" in text
    assert bench_report.CLOCK_NOTE in text


def test_report_reads_results_without_cpu_times():
    """A results file from before CPU times were measured still renders (dashes for the missing columns)."""
    results = fake_results()
    for row in results["training"]["rows"]:
        for key in ("cpu_ms_per_sample", "cpu_speedup", "cores"):
            del row[key]
    for key in ("baseline", "chosen"):
        del results["end_to_end"][key]["cpu_seconds"]
    del results["end_to_end"]["cpu_speedup"]
    text = bench_report.report(results)
    assert "| flow UNet | 128x128 | mixed_bfloat16 | off | 100.0 | 2.00x | - | - | - |" in text
    assert "| mixed_bfloat16, XLA off (chosen) | 15 | 2.00x | - | - |" in text


def test_consumption_is_read_for_the_chosen_settings(monkeypatch):

    monkeypatch.setattr(hardware, "choose_precision", lambda requested="auto": "mixed_bfloat16")
    monkeypatch.setattr(hardware, "choose_jit", lambda requested="auto": False)
    assert bench._consumed(fake_results()) == {"flow": 100.0, "residual": 80.0}
    assert bench._consumed({}) is None


def test_a_measurement_runs_in_its_own_process():
    result = bench.run_child("inference", method="DIS flow", size="448x256", repeats=1)
    assert result["ms_per_frame"] > 0 and 0 < result["peak_memory_gb"] < 6
    with pytest.raises(RuntimeError, match="benchmark inference"):
        bench.run_child("inference", method="no such method", size="448x256", repeats=1)


def test_documented_sections_exist():
    """Every `python -m utils.tools.bench --only ...` in the README, the notebooks and the Makefile names real sections."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    documents = [root / "README.md", root / "Makefile", *sorted((root / "notebooks").glob("*.ipynb"))]
    found = 0
    for document in documents:
        for match in re.finditer(r"utils\.tools\.bench --only ((?:[a-z_]+ ?)+)", document.read_text()):
            found += 1
            unknown = set(match.group(1).split()) - set(bench_measure.SECTIONS)
            assert not unknown, f"{document.name} names benchmark sections that do not exist: {unknown}"
    assert found >= 2


def test_training_child_measures_wall_and_cpu_time():
    result = bench.run_child("training", head="residual", crop=32, precision="float32", jit=False, steps=1, batch=2)
    assert result["samples_per_second"] > 0 and result["cpu_ms_per_sample"] > 0
    assert 0 < result["cores"] <= (__import__("os").cpu_count() or 1) + 0.5


def test_end_to_end_totals_take_each_runs_best_repeat():
    per_run = [{"run": "a", "setting": "chosen", "seconds": 10.0, "cpu_seconds": 19.0},
               {"run": "a", "setting": "chosen", "seconds": 14.0, "cpu_seconds": 18.0},  # stalled, less CPU
               {"run": "b", "setting": "chosen", "seconds": 5.0, "cpu_seconds": 9.0},
               {"run": "a", "setting": "baseline", "seconds": 99.0, "cpu_seconds": 99.0}]
    assert bench.end_to_end_totals(per_run, "chosen") == {"seconds": 15.0, "cpu_seconds": 27.0}
    assert bench.end_to_end_totals(per_run, "baseline") == {"seconds": 99.0, "cpu_seconds": 99.0}


def test_muxing_rows_and_a_missing_pyav():
    results = fake_results()
    results["muxing"] = {"frames": 96, "size": "1280x720", "pyav": None, "rows": [
        {"container": ".mp4", "writer": "pipe", "frames_per_second": 20.0, "speedup": 1.0, "cpu_seconds": 4.0,
         "megabytes": 1.25},
        {"container": ".mp4", "writer": "pyav", "skipped": "PyAV is not installed (pip install av)"}]}
    text = bench_report.report(results)
    assert "| .mp4 | ffmpeg pipe (used) | 20.0 | 1.00x | 4.0 | 1.2 |" in text
    assert "| .mp4 | PyAV | PyAV is not installed (pip install av) | - | - | - |" in text


def test_muxing_child_writes_a_clip_through_the_pipe(monkeypatch):
    monkeypatch.setitem(bench_measure.MUXING, "frames", 4)
    monkeypatch.setitem(bench_measure.MUXING, "size", (64, 96))
    result = bench_measure.measure_muxing("pipe", ".mp4")
    assert result["frames_per_second"] > 0 and result["megabytes"] > 0 and result["cpu_seconds"] > 0
    monkeypatch.setattr(bench_measure, "pyav_version", lambda: None)
    assert bench_measure.measure_muxing("pyav", ".mp4") == {"skipped": "PyAV is not installed (pip install av)"}


def fake_video_section():
    rows = [{"size": "1280x720", "setting": setting, "seconds": seconds, "frames": 120, "frames_per_second": 120 / seconds,
             "peak_memory_gb": 1.5, "speedup": 30.0 / seconds} for setting, seconds in
            (("default", 24.0), ("--scale 1", 90.0), ("DIS flow", 20.0), ("minterpolate", 30.0))]
    groups = {"00001": "bigbuckbunny", "00002": "bikes"}

    def scores(psnr):
        return {"psnr": sum(psnr) / 2, "ssim": 0.95, "groups": {g: {"psnr": p, "ssim": 0.95} for g, p in zip(groups, psnr)}}

    quality = {"triplets": 10, "clip_names": groups, "checkpoint": "results/models/flow_time_corpus.keras",
               "sizes": {"bigbuckbunny": [1280, 720], "bikes": [640, 272]},
               "methods": {"default": scores([39.0, 33.3]), "DIS flow": scores([38.9, 32.9])}}
    return {"rows": rows, "quality": quality, "seconds": 2.0, "fps": 60}


def test_video_section_compares_with_minterpolate_and_dis():
    results = fake_results()
    results["video"] = fake_video_section()
    text = bench_report.report(results)
    assert text.index("## The video command against minterpolate") < text.index("## Training throughput")
    assert ("| 1280x720 | video command, default (`--scale auto`, `--ensemble auto`, bfloat16 where the CPU has it) "
            "| 24.0 | 5.00 | "
            "1.25x | 12.0 | 1.50 |") in text
    assert "| ffmpeg `minterpolate` (mci, aobmc, bidir) | 30.0 | 4.00 | 1.00x | 15.0 | 1.50 |" in text
    assert "(bigbuckbunny 1280x720, bikes 640x272; 10 triplets" in text
    assert "| 39.00 / 0.9500 | 33.30 / 0.9500 | 36.15 / 0.9500 | +0.25 (+0.10, +0.40) |" in text


def test_the_readme_video_table_has_the_720p_and_1080p_rows_only():
    video = fake_video_section()
    video["rows"] += [{**row, "size": "640x360"} for row in video["rows"] if row["setting"] != "--scale 1"]
    video["rows"] += [{**video["rows"][0], "size": "1920x1080"}, {**video["rows"][3], "size": "1920x1080"}]
    table = bench_report.video_table(video).splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| 1280x720", "| 1920x1080"]
    assert "| 1920x1080 | 5.00 frames/s (12 min per min, 1.25x) | - | - | 4.00 frames/s |" in table
    assert "640x360" in bench_report.report({**fake_results(), "video": video})


def test_video_child_converts_a_clip_and_counts_its_frames(tmp_path, monkeypatch):
    from utils.media import video_io

    clip = tmp_path / "clip.mp4"
    import subprocess

    subprocess.run([video_io.ffmpeg_executable(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10",
                    "-t", "1", "-pix_fmt", "yuv420p", str(clip)], check=True)
    monkeypatch.setitem(bench_measure.VIDEO, "fps", 20)
    for setting, frames in (("DIS flow", {20}), ("minterpolate", set(range(15, 21)))):  # ffmpeg ends a frame or so early
        result = bench_measure.measure_video(setting, str(clip))
        assert result["frames"] in frames and result["frames_per_second"] > 0 and result["peak_memory_gb"] > 0
