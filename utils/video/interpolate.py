"""Interpolate your own frames and videos with a trained model.

    python -m utils.video.interpolate pair frame_a.png frame_b.png -o middle.png
    python -m utils.video.interpolate pair frame_a.png frame_b.png -o frames/ --times 0.3 0.7
    python -m utils.video.interpolate video input.mp4 -o output.mp4 --fps 60
    python -m utils.video.interpolate video input.mov -o output.webm --factor 3
    python -m utils.video.interpolate video frames_in/ -o frames_out/ --factor 2 --input-fps 12
    python -m utils.video.interpolate video input.mp4 -o slow.mp4 --slowmo 4 --side-by-side

What ``video`` guarantees:

- Any target rate (``--fps``) or any integer multiple (``--factor``): output frame k shows time k / fps, taken from
  the input frames around it at the exact fraction t between them (a frame that falls on an input frame is that
  frame; lowering the rate picks the nearest frames). The duration is unchanged within one output frame.
  ``--slowmo N`` shows N times the frames at the output rate instead (N times longer, no sound).
- Time from timestamps: a variable-rate video (phones, screen recorders) is read frame by frame as stored and each
  output frame is placed by the input frames' presentation times, so it keeps its duration and audio sync. A raw
  stream (.h264, .mjpeg) has no times: it is read at 25 fps unless ``--input-fps`` says otherwise (a note says so).
- Containers by suffix: ``.mp4``, ``.mkv``, ``.mov`` (H.264), ``.webm`` (VP9 + Opus), ``.gif`` (one palette for the
  clip), or a folder (no suffix) of numbered PNG frames; any other suffix is refused before any work. Video is
  written in YUV 4:2:0, which browsers and phones play: an odd width or height is padded by one pixel (a copy of
  the last column or row; the summary says so); ``--crf`` sets the quality, ``--lossless`` stores 4:4:4 without
  loss; a folder of PNGs keeps the frames exactly.
- The audio stream is copied unchanged (re-encoded only when the container cannot hold its codec: AAC for
  .mp4/.mov, Opus for .webm; a GIF or a folder has none); subtitles are copied into .mkv and converted to the
  container's text format for .mp4/.mov/.webm; 10-bit input becomes 8-bit (a note says so).
- Scene cuts are not blended: between two frames of different shots the nearer frame is repeated
  (``--scene-threshold`` sets how different, ``off`` never). A frame repeated up to three times (animation on
  twos, a screen capture) is interpolated across instead of frozen (``--keep-repeats`` keeps it).
- Speed: the network works at a reduced resolution on large frames (``--scale``, default ``auto``: 720p and
  1080p at half, 4K at a quarter; its flows, mask and residual are enlarged to warp and blend the full frames),
  in bfloat16 where the CPU has it, DIS once per input pair (both directions at once), the times of a pair in one
  batch, decoding and encoding overlapped with the network. ``results/benchmarks.md`` has its frames per second
  against ``minterpolate`` and what ``--scale`` costs in quality.
- Quality where there is time for it: on frames small enough to run whole, the time model also sees each pair
  reversed in time (and mirrored, on frames up to 480x270) and averages its answers (``--ensemble``, default
  ``auto``: within one 960x540 frame's work; ``results/training/ensembles.md`` has what it gains on validation).
- Frames of any size: frames (or reduced frames) larger than ``--tile`` are processed in overlapping tiles, so
  memory stays bounded.
- Nothing half-written at OUTPUT: the result is written to a temporary file beside it and renamed when complete
  (also after Ctrl-C or SIGTERM); an existing OUTPUT is refused unless ``--overwrite``, which replaces a file or,
  in a folder, only this command's numbered frames.
- A progress bar with the time left and a one-line summary on stderr, the summary as JSON on stdout.

Times: DIS, averaging and the time-conditioned flow UNet (the default model,
``results/models/flow_time_corpus.keras``, trained on the real-footage corpus) compute any t directly. A
network trained for the midpoint (``--checkpoint results/models/flow_corpus.keras`` or the models that
notebook 4 trains) reaches other times by recursive midpoints (1/4 is the midpoint of frame A and the 1/2
frame), to the nearest multiple of 1/64 (at 24 fps, within 0.33 ms of the wanted time).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from utils import paths, quiet
from utils.data import clips
from utils.media import image_io, video_io
from utils.models import tiling


def _number(high: float, expected: str, word: str | None = None, meaning=None):
    """An argparse type: a number above 0 and at most ``high`` (else "expected ``expected``"), or ``word``, which
    stands for ``meaning``. Refused by argparse, naming the option, before any work."""
    def parse(text: str):
        if word is not None and text == word:
            return meaning
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0 < value <= high:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    parse.__name__ = expected
    return parse


RATE = _number(1000, "a frame rate above 0 and at most 1000")


def _whole_factor(text: str) -> int:
    """An argparse type: a whole number from 2."""
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 2, got {text}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=paths.program("utils.video.interpolate"), description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checkpoint", default=paths.DEFAULT_CHECKPOINT,
                        help=f"trained .keras model (default {paths.DEFAULT_CHECKPOINT}, in the repository; any other path is taken from the current folder)")
    common.add_argument("--method", default="model", choices=("model", "dis", "average"),
                        help="the network (default) or a classical baseline")
    common.add_argument("--tile", type=int, default=tiling.DEFAULT_TILE,
                        help=f"largest tile side in pixels; bigger frames are processed in tiles (default {tiling.DEFAULT_TILE})")
    common.add_argument("--overlap", type=int, default=tiling.DEFAULT_OVERLAP,
                        help=f"pixels shared by neighbouring tiles (default {tiling.DEFAULT_OVERLAP})")
    common.add_argument("--scale", type=_number(1, "auto or a number in (0, 1]", "auto", "auto"), default="auto",
                        help="the network's resolution as a share of the frame's, e.g. 0.5 (flows, mask and residual "
                             "enlarged to warp and blend the full frames); default auto: frames up to 960x540 whole, "
                             "720p and 1080p at 0.5, 4K at 0.25; 1: best quality, about 4 times slower at 720p")
    common.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="the network's arithmetic: auto is bfloat16 where the CPU has it (about 1.5 times as "
                             "fast, within 0.01 dB), else float32")
    common.add_argument("--ensemble", choices=("auto", "1", "2", "4"), default="auto",
                        help="views of each pair the time model averages: 2 adds the pair reversed in time, 4 also "
                             "both mirrored (a few hundredths of a dB, 2 or 4 times the network's work); default "
                             "auto: as many as keep the network's work within one 960x540 frame's (4 up to 480x270, 2 up to "
                             "259,200 pixels such as 640x360), 1 at a reduced --scale")
    common.add_argument("--overwrite", action="store_true", help="replace an existing output")
    common.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up lines")
    commands = parser.add_subparsers(dest="command", required=True)
    pair = commands.add_parser("pair", parents=[common], help="frames between two images")
    pair.add_argument("frame_a", type=Path)
    pair.add_argument("frame_b", type=Path)
    pair.add_argument("-o", "--output", type=Path, required=True,
                      help="an image file, or a folder when several --times are given")
    pair.add_argument("--times", type=float, nargs="+", default=[0.5],
                      help="times strictly between 0 and 1 (default 0.5)")
    video = commands.add_parser("video", parents=[common], help="a video (or a folder of frames) at N times the frame rate")
    video.add_argument("input", type=Path, help="a video file or a folder of numbered frames")
    video.add_argument("-o", "--output", type=Path, required=True,
                       help=f"a video file ({', '.join(video_io.CONTAINERS)}) or a folder (no suffix) for PNG frames")
    rate = video.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=RATE, default=None, help="output frame rate, e.g. 60 (any rate, up or down)")
    rate.add_argument("--factor", type=_whole_factor, default=None,
                      help="output rate = this whole number x the input rate (default 2 when --fps is not given)")
    video.add_argument("--input-fps", type=RATE, default=None,
                       help=f"frame rate of a folder of frames (default {video_io.DEFAULT_FOLDER_FPS:g}) or to override a video's")
    video.add_argument("--slowmo", type=_whole_factor, default=1, metavar="N",
                       help="slow motion: N times the frames, played at the output rate (N times longer; no sound)")
    video.add_argument("--crf", type=int, default=None,
                       help="the encoder's quality, lower is better: H.264 0-51 (default 18), VP9 0-63 (default 32)")
    video.add_argument("--lossless", action="store_true",
                       help="encode without loss (YUV 4:4:4; large files that some players refuse)")
    video.add_argument("--side-by-side", action="store_true",
                       help="each output frame beside the input frame nearest in time, labelled, to compare")
    video.add_argument("--scene-threshold", type=_number(1, "off or a number in (0, 1]", "off", None), default=clips.SCENE_CUT_THRESHOLD, metavar="D",
                       help=f"colour-histogram distance (0-1) above which two frames are different shots and are not "
                            f"blended (default {clips.SCENE_CUT_THRESHOLD}; lower finds more cuts; off: never)")
    video.add_argument("--keep-repeats", action="store_true",
                       help="keep repeated frames as they are (by default a frame repeated up to 3 times, as in "
                            "animation on twos or a screen capture, is interpolated across)")
    video.add_argument("--quiet", action="store_true", help="no progress bar or summary line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (2 for bad input, with a one-line message)."""
    args = _parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminated)  # a kill cleans up like Ctrl-C: no temporary left
    try:
        with quiet.native_stderr_to_log("interpolate", args.verbose):
            return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _load(interpolator, args):
    """The method the arguments name, the network at ``--scale`` in ``--precision`` with ``--ensemble`` views."""
    if args.method != "model":
        if args.ensemble != "auto":
            raise video_io.InputError(f"--ensemble {args.ensemble} applies to the model, not to --method {args.method}.")
        return interpolator.load_method(args.method)
    precision = {"bfloat16": "mixed_bfloat16"}.get(args.precision, args.precision)  # auto: unet.with_precision
    return interpolator.load_method(args.checkpoint, args.tile, args.overlap, scale=args.scale, precision=precision,
                                    ensemble=args.ensemble)


def _run(args) -> int:
    """Runs a parsed command line (see :func:`main`)."""
    # deferred: TensorFlow loads in seconds; --help and argument errors stay instant
    from utils.models import interpolator
    from utils.video import convert, retime

    try:
        if args.tile < 64 or not 0 <= args.overlap < args.tile // 2:
            raise video_io.InputError(f"--tile must be at least 64 and --overlap between 0 and tile/2, got "
                             f"--tile {args.tile} --overlap {args.overlap}.")
        if args.command == "pair":
            frame_a, frame_b = image_io.read_image(args.frame_a), image_io.read_image(args.frame_b)
            if frame_a.shape != frame_b.shape:
                raise video_io.InputError(f"{args.frame_a} is {frame_a.shape[1]}x{frame_a.shape[0]} but {args.frame_b} is "
                                 f"{frame_b.shape[1]}x{frame_b.shape[0]}: the two frames must have one size.")
            for given in (args.frame_a, args.frame_b):
                if args.output.resolve() == given.resolve():
                    raise video_io.InputError(f"Output {args.output} is an input: choose another path.")
            times = interpolator.check_times(args.times)
            method = _load(interpolator, args)
            written = convert.write_pair_outputs(interpolator.frames_between(method, frame_a, frame_b, times), args.output, args.overwrite)
            print(json.dumps({"times": times, "outputs": [paths.display(p) for p in written]}))
        else:
            video_io.check_crf(video_io.check_output_kind(args.output), args.crf)  # fails before anything is read
            if args.factor is not None:
                retime.check_factor(args.factor)
            source = video_io.open_source(args.input, args.input_fps)
            convert.check_output(source.path, args.output, args.overwrite)
            method = _load(interpolator, args)
            options = convert.Options(factor=args.factor, fps=args.fps, slowmo=args.slowmo, crf=args.crf,
                                      lossless=args.lossless, side_by_side=args.side_by_side,
                                      scene_threshold=args.scene_threshold, repeats=not args.keep_repeats)
            summary = convert.convert_video(source, args.output, method, overwrite=args.overwrite,
                                            progress=not args.quiet, options=options)
            if not args.quiet:
                print(convert.human_summary(summary), file=sys.stderr)
            print(json.dumps(summary))
    except (video_io.InputError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        print(f"{'terminated' if str(stop) == 'SIGTERM' else 'interrupted'}: nothing was written to the output",
              file=sys.stderr)
        return 143 if str(stop) == "SIGTERM" else 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
