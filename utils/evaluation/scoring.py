"""PSNR and SSIM of interpolation methods on held-out triplets."""

from __future__ import annotations

import time
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from utils import paths
from utils.data import clips as clip_triplets
from utils.data import vimeo
from utils.media import image_io, video_io
from utils.models import baselines, interpolator, losses


def frame_metrics(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """PSNR (dB) and SSIM of one predicted frame against the truth (both float in [0, 1] or uint8)."""
    truth = image_io.to_float(truth) if truth.dtype == np.uint8 else truth
    prediction = image_io.to_float(prediction) if prediction.dtype == np.uint8 else prediction
    return {
        "psnr": float(losses.psnr(truth[None], prediction[None])[0]),
        "ssim": float(losses.ssim(truth[None], prediction[None])[0]),
    }


def evaluate_methods(
    methods: dict[str, interpolator.Method],
    root: str | Path,
    triplet_ids: Sequence[str],
    group_of: Callable[[str], str] | None = None,
    on_prediction: Callable[[str, str, np.ndarray], None] | None = None,
    on_triplet: Callable[[int, str], None] | None = None,
) -> dict:
    """Runs every method on every triplet and summarises PSNR, SSIM and time per frame.

    Args:
        methods: name -> function (frame1, frame3) -> middle frame.
        root: data root in the Vimeo90K layout.
        triplet_ids: the triplets to evaluate.
        group_of: maps a triplet id to a group name (e.g. its clip) for per-group means
            (default: the sequence folder, ``00001``).
        on_prediction: called as ``(triplet_id, method_name, prediction)`` after each prediction
            (e.g. to save it).
        on_triplet: called as ``(index, triplet_id)`` before each triplet (progress).

    Returns:
        ``{"triplets": n, "methods": {name: {"psnr", "ssim", "ms_per_frame",
        "groups": {group: {"psnr", "ssim", "triplets"}}}}, "per_triplet": [...]}``.
    """
    if not triplet_ids:
        raise ValueError(f"evaluate_methods got no triplets to evaluate under {root}.")
    group_of = group_of or (lambda triplet_id: triplet_id.split("/")[0])
    records = []
    seconds = {name: 0.0 for name in methods}
    for index, triplet_id in enumerate(triplet_ids, start=1):
        if on_triplet is not None:
            on_triplet(index, triplet_id)
        frame1, truth, frame3 = vimeo.load_triplet(root, triplet_id)
        for name, method in methods.items():
            start = time.perf_counter()
            prediction = method(frame1, frame3)
            seconds[name] += time.perf_counter() - start
            if on_prediction is not None:
                on_prediction(triplet_id, name, prediction)
            records.append({"triplet": triplet_id, "group": group_of(triplet_id), "method": name,
                            **frame_metrics(truth, prediction)})
    summary = {}
    for name in methods:
        mine = [r for r in records if r["method"] == name]
        groups = {}
        for group in dict.fromkeys(r["group"] for r in mine):
            members = [r for r in mine if r["group"] == group]
            groups[group] = {"psnr": float(np.mean([r["psnr"] for r in members])),
                             "ssim": float(np.mean([r["ssim"] for r in members])),
                             "triplets": len(members)}
        summary[name] = {"psnr": float(np.mean([r["psnr"] for r in mine])),
                         "ssim": float(np.mean([r["ssim"] for r in mine])),
                         "ms_per_frame": 1000.0 * seconds[name] / len(triplet_ids),
                         "groups": groups}
    return {"triplets": len(triplet_ids), "methods": summary, "per_triplet": records}


def evaluate_times(
    methods: dict[str, Callable[[np.ndarray, np.ndarray, Sequence[float]], dict[float, np.ndarray]]],
    clips: dict[str, Sequence[np.ndarray]],
    times: Sequence[float],
    span: int,
    on_window: Callable[[int, int], None] | None = None,
) -> dict:
    """Scores methods at several times t between two frames, on windows of real clips.

    A window is ``span + 1`` consecutive frames (:func:`utils.data.clips.usable_windows`); the methods get its first
    and last frame, and the truth at ``t = j / span`` is frame ``j``.

    Args:
        methods: name -> ``(frame_a, frame_b, times) -> {t: frame}`` (e.g. :func:`utils.video.interpolator.frames_between`
            bound to a method).
        clips: clip name -> its frames (``uint8``).
        times: times that are multiples of ``1 / span`` strictly between 0 and 1.
        span: frames from the first to the last frame of a window.
        on_window: progress, called as ``(index, total)``.

    Returns:
        ``{"span", "windows", "times": {t: {"methods": {name: {"psnr", "ssim", "groups": {clip: ...}}}}}}``:
        each ``times[t]`` has the layout of :func:`evaluate_methods`, so :func:`results_table` formats it.
    """

    indices = {t: round(t * span) for t in times}
    for t, j in indices.items():
        if not 0 < j < span or abs(t * span - j) > 1e-9:
            raise ValueError(f"time {t} is not a multiple of 1/{span} strictly between 0 and 1.")
    windows = [(name, frames[k:k + span + 1]) for name, frames in clips.items()
               for k in clip_triplets.usable_windows(frames, span)]
    if not windows:
        raise ValueError("evaluate_times found no usable window in the clips.")
    records = []
    for index, (group, window) in enumerate(windows, start=1):
        if on_window is not None:
            on_window(index, len(windows))
        for name, method in methods.items():
            predictions = method(window[0], window[-1], list(times))
            for t, j in indices.items():
                records.append({"group": group, "method": name, "t": t, **frame_metrics(window[j], predictions[t])})
    result = {"span": span, "windows": len(windows), "times": {}}
    for t in times:
        summary = {}
        for name in methods:
            mine = [r for r in records if r["method"] == name and r["t"] == t]
            groups = {g: {"psnr": float(np.mean([r["psnr"] for r in mine if r["group"] == g])),
                          "ssim": float(np.mean([r["ssim"] for r in mine if r["group"] == g])),
                          "triplets": sum(r["group"] == g for r in mine)}
                      for g in dict.fromkeys(r["group"] for r in mine)}
            summary[name] = {"psnr": float(np.mean([r["psnr"] for r in mine])),
                             "ssim": float(np.mean([r["ssim"] for r in mine])), "groups": groups}
        result["times"][str(t)] = {"triplets": len(windows), "methods": summary}
    return result


def times_table(result: dict) -> str:
    """Mean PSNR / SSIM of each method at each time of :func:`evaluate_times` (a column per time)."""
    times = list(result["times"])
    first = result["times"][times[0]]["methods"]
    lines = ["| method | " + " | ".join(f"t = {float(t):g} PSNR / SSIM" for t in times) + " |",
             "|" + "---|" * (len(times) + 1)]
    for name in first:
        cells = [f"{result['times'][t]['methods'][name]['psnr']:.2f} / {result['times'][t]['methods'][name]['ssim']:.4f}"
                 for t in times]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_table(summary: dict, groups: Sequence[str] | None = None, group_names: dict[str, str] | None = None,
                  timing_key: str | None = None) -> str:
    """Formats :func:`evaluate_methods` output as a Markdown table (PSNR dB / SSIM per group and overall).

    Args:
        summary: output of :func:`evaluate_methods` (or of ``utils.evaluation.evaluate.evaluate_folder``).
        groups: the groups (columns) to show, in order (default: all, in the order met).
        group_names: display names of the groups (e.g. sequence folder -> clip name).
        timing_key: a per-method key holding milliseconds per frame (e.g. ``ms_per_frame_448x256``),
            shown as a last column.
    """
    methods = summary["methods"]
    groups = list(groups) if groups is not None else list(next(iter(methods.values()))["groups"])
    group_names = group_names or {}
    header = "| method | " + " | ".join(f"{group_names.get(g, g)} PSNR / SSIM" for g in groups) + " | mean PSNR / SSIM |"
    if timing_key:
        header += f" {timing_key.replace('_', ' ')} |"
    columns = len(groups) + 2 + (1 if timing_key else 0)
    lines = [header, "|" + "---|" * columns]
    for name, result in methods.items():
        cells = [f"{result['groups'][g]['psnr']:.2f} / {result['groups'][g]['ssim']:.4f}" for g in groups]
        line = f"| {name} | " + " | ".join(cells) + f" | {result['psnr']:.2f} / {result['ssim']:.4f} |"
        if timing_key:
            line += f" {result[timing_key]:.0f} |"
        lines.append(line)
    return "\n".join(lines)


def time_methods(methods: dict, frame1: np.ndarray, frame3: np.ndarray, size: tuple[int, int] = (256, 448),
                 repeats: int = 3) -> dict[str, float]:
    """Milliseconds per frame of each method on one pair resized to ``size`` (height, width), after a warm-up."""

    pair = [cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA) for f in (frame1, frame3)]
    timings = {}
    for name, method in methods.items():
        method(*pair)  # warm-up: graph tracing, ffmpeg start-up caches
        start = time.perf_counter()
        for _ in range(repeats):
            method(*pair)
        timings[name] = 1000.0 * (time.perf_counter() - start) / repeats
    return timings


def evaluate_folder(
    data_root: str | Path,
    methods: dict,
    list_path: str | Path | None = None,
    save_dir: str | Path | None = None,
    timing_size: tuple[int, int] | None = (256, 448),
    progress=None,
    triplet_ids: Sequence[str] | None = None,
) -> dict:
    """Evaluates methods on the triplets of a Vimeo-layout folder.

    Args:
        data_root: folder with ``sequences/`` (and ``tri_testlist.txt`` unless ``list_path`` is given).
        methods: name -> method.
        list_path: list file of triplet ids (default: the root's test list).
        save_dir: where to write each method's prediction as ``sequences/<id>/<method>.png``.
        timing_size: (height, width) for the ms-per-frame timing; ``None`` skips it.
        progress: a stream for progress lines (e.g. ``sys.stderr``), or ``None``.
        triplet_ids: evaluate these ids instead of a list file's.

    Returns:
        ``{"data_root", "triplets", "methods": {name: {"psnr", "ssim", "ms_per_frame",
        "groups": {folder: {...}}}}}``, with ``"clip_names"`` when the root has a clip manifest.
    """

    if triplet_ids is None:
        triplet_ids = vimeo.read_triplet_list(data_root, "test", list_path=list_path)
    elif not triplet_ids:
        raise ValueError(f"No triplets to evaluate under {data_root}.")
    saved = {}

    def on_prediction(triplet_id, name, prediction):
        if save_dir is not None:
            safe = name.replace(" ", "_")
            image_io.write_image(Path(save_dir) / "sequences" / triplet_id / f"{safe}.png", prediction)
            saved[name] = safe

    def report(index, triplet_id):
        if progress is not None:
            print(f"[{index}/{len(triplet_ids)}] {triplet_id}", file=progress, flush=True)

    summary = evaluate_methods(methods, data_root, triplet_ids, on_prediction=on_prediction,
                                          on_triplet=report)
    result = {"data_root": paths.display(data_root), "triplets": summary["triplets"], "methods": summary["methods"]}
    manifest = Path(data_root) / "clips.json"
    if manifest.is_file():
        names = json.loads(manifest.read_text()).get("clips", {})
        result["clip_names"] = {f"{number:05d}": name for number, name in enumerate(names, start=1)}
    if timing_size is not None:
        frame1, _, frame3 = vimeo.load_triplet(data_root, triplet_ids[0])
        key = f"ms_per_frame_{timing_size[1]}x{timing_size[0]}"
        for name, milliseconds in time_methods(methods, frame1, frame3, timing_size).items():
            result["methods"][name][key] = milliseconds
    return result


def time_span(times: Sequence[float], largest: int = 64) -> int:
    """The fewest frames from A to B at which every time is a whole frame (0.25, 0.5, 0.75 -> 4)."""
    for span in range(2, largest + 1):
        if all(abs(t * span - round(t * span)) < 1e-9 and 0 < round(t * span) < span for t in times):
            return span
    raise ValueError(f"--times {' '.join(map(str, times))}: expected multiples of 1/n strictly between 0 and 1 "
                     f"for some n up to {largest} (e.g. 0.25 0.5 0.75), so that the truth is a real frame.")


def evaluate_at_times(method_names: Sequence[str], checkpoints: Sequence[str | Path], times: Sequence[float],
                      progress=None, max_width: int = 640) -> dict:
    """Scores methods at times t between two frames on windows of the three test clips, whole.

    The midpoint networks reach 1/4 and 3/4 by recursive midpoints, the time-conditioned flow UNet computes
    each t directly (:func:`utils.models.interpolator.model_method`); DIS warps both
    frames to t and blends them with weights 1 - t and t; averaging weighs the frames the same way;
    minterpolate runs the pair at ``span`` times the rate.

    Returns:
        :func:`utils.evaluation.scoring.evaluate_times`'s result, with ``clip_names``.
    """

    span = time_span(times)
    methods = {}
    for method in interpolator.load_methods(method_names, checkpoints).values():
        if method.name == "minterpolate":  # the whole pair at span times the rate
            methods[method.name] = lambda a, b, ts: {
                t: frames[round(t * span)] for frames in [baselines.minterpolate_video([a, b], span)] for t in ts}
        else:
            methods[method.name] = lambda a, b, ts, method=method: interpolator.frames_between(method, a, b, ts)
    videos = {name: video_io.read_video(locate(), max_width)[0] for name, locate in clip_triplets.DEFAULT_CLIPS.items()}

    def report(index, total):
        if progress is not None:
            print(f"[{index}/{total}] window", file=progress, flush=True)

    result = evaluate_times(methods, videos, times, span, on_window=report)
    result["clip_names"] = {name: name for name in videos}
    return result
