"""Benchmarks: every speed and memory claim of the README, measured in one run on this machine.

    python -m utils.tools.bench                        # everything, writes results/benchmarks.md (about 70 minutes on 2 CPU cores)
    python -m utils.tools.bench --only inference       # one section: training, input, inference, end_to_end
    python -m utils.tools.bench --only input --readers corpus corpus+prior   # some readers; the other rows are kept
    python -m utils.tools.bench --only muxing          # ffmpeg pipe vs PyAV (pip install av for its rows)

Sections (each configuration in a fresh process so that precision policies, XLA caches and peak memory
do not leak from one to the next):

- ``training``: training samples per second of the default profile's UNets, float32 vs mixed
  precision, XLA off/on, at 128x128 and 256x256 crops, and the speed-up of each over float32 without XLA;
- ``input``: triplets per second that the input pipelines deliver (PNG folders, TFRecord shards with
  PNG or raw frames, with and without the flow head's prior flows), against what training consumes;
- ``inference``: milliseconds per frame and peak memory at 448x256, 1280x720 and 3840x2160 for the
  flow-guided UNet (tiled above 1024 px), OpenCV DIS and ffmpeg minterpolate;
- ``end_to_end``: the default profile's training runs at their full length (pipeline, cache fill, fit)
  with the chosen settings against float32 without XLA;
- ``muxing``: frames per second that the video command's writer sustains (encoding included) through the
  ffmpeg pipe it uses, against PyAV (``av``, the same libraries as a Python module) with the same codec
  settings, when PyAV is installed;
- ``video``: the video command as a user runs it (``python -m utils.video.interpolate video``, start-up included)
  against ffmpeg's ``minterpolate``, 2 s of 720p and of 1080p to 60 fps: output frames per second and peak memory;
  and the quality of the command's settings on the three test clips whole at their own size.

Training figures are given by wall clock and by CPU time: see ``CLOCK_NOTE``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


from utils import hardware, paths, profiles
from utils.tools import bench_measure, bench_report, pipeline



def run_child(kind: str, **arguments) -> dict:
    """Runs one measurement in a fresh Python process and returns its result."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "utils.tools.bench", "--child", json.dumps({"kind": kind, **arguments})]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark {kind} {arguments} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def hardware_line() -> str:
    """The machine in one line: CPU model, cores, GPUs."""

    info = hardware.hardware_summary()
    gpus = ", ".join(info["gpus"]) or "no GPU"
    bf16 = ", AVX-512 BF16" if info["cpu_bfloat16"] else ""
    return f"{info['cpu']} ({info['cpu_cores']} cores{bf16}), {gpus}; TensorFlow {info['tensorflow']}, Keras {info['keras']}"


def mixed_policy() -> str:

    policy = hardware.choose_precision("auto")
    return policy if policy != "float32" else "mixed_bfloat16"


def bench_training(steps: int, log) -> dict:
    rows = []
    mixed = mixed_policy()
    for head in ("flow", "residual"):
        for crop in (128, 256):
            baseline = None
            for precision in ("float32", mixed):
                for jit in (False, True):
                    result = run_child("training", head=head, crop=crop, precision=precision, jit=jit, steps=steps)
                    baseline = baseline or result
                    row = {"model": head, "crop": crop, "precision": precision, "xla": jit, **result,
                           "speedup": result["samples_per_second"] / baseline["samples_per_second"],
                           "cpu_speedup": baseline["cpu_ms_per_sample"] / result["cpu_ms_per_sample"]}
                    rows.append(row)
                    log(f"training {head} {crop}x{crop} {precision} xla={jit}: "
                        f"{row['samples_per_second']:.1f} samples/s ({row['speedup']:.2f}x), "
                        f"{row['cpu_ms_per_sample']:.1f} CPU ms/sample ({row['cpu_speedup']:.2f}x)")
    return {"rows": rows}


INPUT_READERS = ("png_folder", "tfrecord_png", "tfrecord_raw", "png_folder_cached", "png_folder+prior",
                 "tfrecord_raw+prior", "png_folder_cached+prior", "corpus", "corpus+prior")


def bench_input(steps: int, consumed: float | None, log, readers: Sequence[str] = INPUT_READERS,
                previous: dict | None = None) -> dict:
    """Measures ``readers``; rows of other readers in ``previous`` (an earlier run's section) are kept."""
    rows = {row["reader"]: row for row in (previous or {}).get("rows", [])}
    for reader in readers:
        result = run_child("input", reader=reader, steps=steps)
        rows[reader] = {"reader": reader, **result, "date": time.strftime("%Y-%m-%d")}
        log(f"input {reader}: {result['triplets_per_second']:.0f} triplets/s")
    return {"rows": [rows[r] for r in INPUT_READERS if r in rows], "consumed": consumed}


def bench_inference(repeats: int, log) -> dict:
    rows = []
    for size in bench_measure.SIZES:
        for method in ("flow UNet", "DIS flow", "minterpolate"):
            result = run_child("inference", method=method, size=size, repeats=repeats if size != "3840x2160" else 2)
            rows.append({"size": size, "method": method, **result})
            log(f"inference {method} {size}: {result['ms_per_frame']:.0f} ms, {result['peak_memory_gb']:.2f} GB")
    return {"rows": rows}


def bench_end_to_end(steps: int | None, log, repeats: int = 2) -> dict:
    """The default profile's four training runs (three losses, the flow head), each ``steps`` long, both ways.

    ``steps=None``: the profile's own length (epochs x steps per epoch). Each run is repeated ``repeats``
    times per setting; the fastest wall time and the smallest CPU time count.
    """

    settings = profiles.get_profile("default")
    steps = steps or settings.epochs * settings.steps_per_epoch
    runs = [(extra.get("output_mode", settings.output_mode), extra["loss"])
            for notebook, extra in pipeline.plan(["mse", "charbonnier", "ssim"]) if notebook == pipeline.TRAINING_NOTEBOOK]
    chosen_precision, chosen_jit = hardware.choose_precision("auto"), hardware.choose_jit("auto")
    settings_of = {"baseline": ("float32", False), "chosen": (chosen_precision, chosen_jit)}
    per_run = []
    for head, loss in runs:  # baseline and chosen back to back per run, so that slow drifts of the machine cancel
        for _ in range(repeats):
            for label, (precision, jit) in settings_of.items():
                result = run_child("end_to_end", head=head, loss=loss, precision=precision, jit=jit, steps=steps)
                per_run.append({"run": f"{head} {loss}", "setting": label, **result})
                log(f"end to end {label} ({precision}, XLA {'on' if jit else 'off'}) {head} {loss}: "
                    f"{result['seconds']:.0f} s, {result['cpu_seconds']:.0f} CPU s")
    totals = {label: {"precision": precision, "xla": jit, **end_to_end_totals(per_run, label)}
              for label, (precision, jit) in settings_of.items()}
    return {"steps": steps, "repeats": repeats, "runs": [f"{head} {loss}" for head, loss in runs], **totals,
            "speedup": totals["baseline"]["seconds"] / totals["chosen"]["seconds"],
            "cpu_speedup": totals["baseline"]["cpu_seconds"] / totals["chosen"]["cpu_seconds"], "per_run": per_run}


def bench_muxing(log, repeats: int = 2) -> dict:
    """The video writer's frames per second, ffmpeg pipe against PyAV, the fastest of ``repeats`` timings each."""

    rows = []
    for container in bench_measure.MUXING["containers"]:
        baseline = None
        for writer in ("pipe", "pyav"):
            results = [run_child("muxing", writer=writer, container=container) for _ in range(repeats)]
            if "skipped" in results[0]:
                rows.append({"container": container, "writer": writer, "skipped": results[0]["skipped"]})
                log(f"muxing {writer} {container}: {results[0]['skipped']}")
                continue
            best = max(results, key=lambda r: r["frames_per_second"])
            baseline = baseline or best
            rows.append({"container": container, "writer": writer, **best,
                         "speedup": best["frames_per_second"] / baseline["frames_per_second"]})
            log(f"muxing {writer} {container}: {best['frames_per_second']:.1f} frames/s")
    height, width = bench_measure.MUXING["size"]
    return {"rows": rows, "frames": bench_measure.MUXING["frames"], "size": f"{width}x{height}", "python": platform.python_version(),
            "pyav": bench_measure.pyav_version()}


def bench_video(log) -> dict:
    """The video command against minterpolate at 720p, 1080p and 640x360 (speed, one run each), and its settings'
    quality on the test clips at their own size."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in bench_measure.VIDEO["sizes"]:
            clip = bench_measure.video_clip(size, Path(folder))
            for setting in bench_measure.VIDEO_SETTINGS:
                if bench_measure.VIDEO_ONLY_AT.get(setting, size) != size:
                    continue
                result = run_child("video", setting=setting, clip=str(clip))
                rows.append({"size": size, "setting": setting, **result})
                log(f"video {size} {setting}: {result['frames_per_second']:.2f} frames/s, {result['seconds']:.1f} s, "
                    f"{result['peak_memory_gb']:.2f} GB")
    for size in bench_measure.VIDEO["sizes"]:
        base = next(r for r in rows if r["size"] == size and r["setting"] == "minterpolate")
        for row in rows:
            if row["size"] == size:
                row["speedup"] = row["frames_per_second"] / base["frames_per_second"]
    quality = run_child("video_quality")
    log("video quality: " + ", ".join(f"{name} {m['psnr']:.2f} dB" for name, m in quality["methods"].items()))
    return {"rows": rows, "quality": quality, **{k: bench_measure.VIDEO[k] for k in ("seconds", "fps")}}


def end_to_end_totals(per_run: list[dict], setting: str) -> dict:
    """Seconds and CPU seconds of one setting summed over the runs, each run's best repeat counted.

    Other processes only ever slow a run down, so the fastest wall time and the smallest CPU time of
    a run's repeats are its measure.
    """
    runs = {row["run"] for row in per_run if row["setting"] == setting}
    return {key: sum(min(row[key] for row in per_run if row["run"] == run and row["setting"] == setting)
                     for run in runs)
            for key in ("seconds", "cpu_seconds")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.tools.bench"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=bench_measure.SECTIONS, help="sections to run (default: all)")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timing (default 10)")
    parser.add_argument("--readers", nargs="+", choices=INPUT_READERS,
                        help="input section: measure only these readers, keep the other rows (default: all)")
    parser.add_argument("--end-to-end-steps", type=int, default=None,
                        help="steps of each end-to-end training run (default: the default profile's 600)")
    parser.add_argument("--end-to-end-repeats", type=int, default=2,
                        help="repeats of each end-to-end run per setting; the fastest counts (default 2)")
    parser.add_argument("--output", default="results/benchmarks.md", help="Markdown report (default %(default)s)")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite the Markdown from the JSON beside it (no measurement)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        request = json.loads(args.child)
        print(json.dumps(bench_measure.CHILDREN[request.pop("kind")](**request)))
        return 0

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    sections = args.only or list(bench_measure.SECTIONS)
    output = paths.resolve(args.output)
    json_path = output.with_suffix(".json")
    if args.report:
        text = bench_report.report(paths.load_json(json_path))
        with paths.atomic_target(output) as temporary:
            temporary.write_text(text + "\n")
        print(text)
        return 0
    results = paths.load_json(json_path) if json_path.is_file() and args.only else {}
    dates = results.setdefault("dates", {})
    for section in bench_measure.SECTIONS:  # sections measured by an earlier run keep that run's date
        if section in results and section not in dates and "date" in results:
            dates[section] = results["date"]
    today = time.strftime("%Y-%m-%d")
    dates.update({section: today for section in sections if not (section == "input" and args.readers)})
    results.update({"hardware": hardware_line(), "date": today})
    if "training" in sections:
        results["training"] = bench_training(args.steps, log)
    if "input" in sections:
        consumed = _consumed(results)
        results["input"] = bench_input(20, consumed, log, args.readers or INPUT_READERS,
                                       results.get("input") if args.readers else None)
    if "inference" in sections:
        results["inference"] = bench_inference(5, log)
    if "end_to_end" in sections:
        results["end_to_end"] = bench_end_to_end(args.end_to_end_steps, log, args.end_to_end_repeats)
    if "muxing" in sections:
        results["muxing"] = bench_muxing(log)
    if "video" in sections:
        results["video"] = bench_video(log)
    text = bench_report.report(results)
    paths.save_json(results, json_path)
    with paths.atomic_target(output) as temporary:
        temporary.write_text(text + "\n")
    print(text)
    return 0


def _consumed(results: dict) -> dict[str, float] | None:
    """Samples per second that training consumes at 128x128 with the chosen settings: per head (flow, residual)."""

    rows = results.get("training", {}).get("rows", [])
    precision, jit = hardware.choose_precision("auto"), hardware.choose_jit("auto")
    consumed = {r["model"]: r["samples_per_second"] for r in rows
                if r["crop"] == 128 and r["precision"] == precision and r["xla"] == jit}
    return consumed or None


if __name__ == "__main__":
    sys.exit(main())
