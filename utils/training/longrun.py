"""Hours of resumable training on the real-footage corpus, decided by validation only (the library:
:mod:`utils.training.loop`).

    python -m utils.training.longrun --model flow --hours 2      # or: make train MODEL=flow HOURS=2
    python -m utils.training.longrun --status
    python -m utils.training.longrun --curves

``--flow-update`` gives a new run a flow-correction head (started at zero, so a warm start from a run
without one begins exactly where that run ended); ``--depth`` one level more than the weights it starts
from (also started as them), ``--crop`` and ``--batch-size`` other crops; ``--distill W`` adds a flow
teacher to the loss (:func:`utils.models.losses.flow_distillation`: DIS from the true frame, where it beats the prior);
``--cost-volume R`` lets the UNet read how well the frames match around its flows
(:class:`utils.models.unet.CostVolume`, entering through zero weights, so a warm start begins where its donor ended);
``--base-filters N`` a wider UNet, which a warm start from a narrower run also begins as that run;
``--loss psnr`` trains on minus each image's PSNR (:func:`utils.models.losses.psnr_loss`), the score that
validation ranks by, instead of an error that the batch's hardest crops rule. A killed run loses at most one
chunk: run the same command again and it continues.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils import paths, profiles, quiet
from utils.training import records, run_state


def _curves(path: str) -> int:
    if Path(path).suffix.lower() not in (".png", ".pdf", ".svg"):
        print(f"error: --curves {path}: expected a figure file ending in .png, .pdf or .svg.", file=sys.stderr)
        return 2
    import matplotlib  # deferred: matplotlib and the figures load in seconds; --help stays instant

    matplotlib.use("Agg")
    from utils.training import curves  # deferred: after the Agg backend is chosen

    states = {model: state for model in run_state.RUNS if (state := run_state.read_state(f"results/training/{model}")) is not None}
    if not states:
        print("error: no run under results/training yet: train one first (make train).", file=sys.stderr)
        return 2
    curves.longrun_curves(states, paths.resolve(path), continuations=records.continuations())
    print(f"wrote {path}")
    for folder in (records.PROBES, records.TIME_PROBES):
        probes = sorted(paths.resolve(folder).glob("*.json"))
        if not probes:
            continue
        compared = {(state := run_state.read_state(p)).label or p.stem: state for p in probes}
        if folder == records.PROBES and "flow" in states:  # the short flow runs that chose the long run's configuration
            compared["blend only, Charbonnier (the long run)"] = states["flow"]
        figure_path = paths.resolve(folder).with_suffix(".png")
        curves.probe_curves(compared, "dis", figure_path)
        print(f"wrote {paths.display(figure_path)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.training.longrun"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=run_state.RUNS, default="flow")
    parser.add_argument("--hours", type=float, default=1.0, help="CPU-hours to add (default: 1)")
    parser.add_argument("--run-dir", help="default: results/training/MODEL")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--learning-rate", type=float, help="set the learning rate (new or resumed run)")
    parser.add_argument("--loss", choices=profiles.LONG_RUN_LOSS_NAMES, help="loss of a new run (default: charbonnier; psnr: minus each image's PSNR, "
                        "the validation score itself)")
    parser.add_argument("--flow-update", action="store_true",
                        help="a new flow run also learns a correction to DIS's flows (a zero-initialised head)")
    parser.add_argument("--warm-start", metavar="WEIGHTS",
                        help="a new run's starting weights (default: the flow run's best for flow_time, else none)")
    parser.add_argument("--distill", type=float, metavar="WEIGHT",
                        help="a new flow-correction run also learns the flows of a teacher (DIS from the true frame)")
    parser.add_argument("--source-balance", type=float, metavar="B",
                        help="0: train triplets equally likely (default); 1: each source equally likely")
    parser.add_argument("--synthetic-fraction", type=float, metavar="F",
                        help="share of synthetic scenes among the training examples (default 0.3; 0.1 for unet)")
    parser.add_argument("--depth", type=int, help="levels of a new run's UNet (a warm start may add one)")
    parser.add_argument("--base-filters", type=int, metavar="N",
                        help="a new run's UNet width (default 16; a warm start from a narrower run starts as it)")
    parser.add_argument("--cost-volume", type=int, metavar="R", dest="cost_radius",
                        help="a new flow run's UNet also reads a matching cost around its flows at 1/4 resolution "
                             "((2R+1)^2 changes of motion, 4 px apart; e.g. 3)")
    parser.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), help="a new run's training crops (default 128 128)")
    parser.add_argument("--batch-size", type=int, help="a new run's batch (default 16)")
    parser.add_argument("--scaled-share", type=float, metavar="S",
                        help="a new flow_time run trains this share of its batches through the video command's "
                             "half-size path (network on the shrunk pair, frame composed at full size; e.g. 0.5) "
                             "and is judged by the mean of its full- and half-size validation scores")
    parser.add_argument("--detail-head", action="store_true",
                        help="a new scaled run's network also learns the half-size path's sub-pixel detail (a "
                             "zero-initialised head that corrects the enlarged flows, mask and residual)")
    parser.add_argument("--detail-only", action="store_true",
                        help="train that head alone, the network frozen (needs --scaled-share 1): the full-size "
                             "frames stay exactly the warm start's")
    parser.add_argument("--ema", type=float, metavar="DECAY",
                        help="validate and keep a moving average of the weights (decay per step, e.g. 0.999; 0: off)")
    parser.add_argument("--promote", action="store_true",
                        help="after training, ship the best weights if validation says they are better")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for TensorFlow's kernels (default: all; 1 each for two runs side by side)")
    parser.add_argument("--status", action="store_true", help="print where each run stands and exit")
    parser.add_argument("--curves", nargs="?", const="results/training/curves.png", metavar="PNG",
                        help="draw the runs' learning curves (default: results/training/curves.png) and exit")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up lines")
    args = parser.parse_args(argv)

    with quiet.native_stderr_to_log(f"longrun_{args.model}", args.verbose):
        return _run(args)


def _run(args) -> int:
    if args.threads:
        import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.status:
        print("\n".join(records.status()))
        return 0
    if args.curves:
        return _curves(args.curves)
    overrides = {"learning_rate": args.learning_rate} if args.learning_rate else {}
    if args.loss:
        overrides["loss"] = args.loss
    if args.flow_update:
        overrides["flow_update"] = True
    if args.warm_start:
        overrides["warm_start"] = args.warm_start
    if args.ema is not None:
        overrides["ema"] = args.ema
    if args.distill:
        overrides["distill"] = args.distill
    for key in ("detail_head", "detail_only"):
        if getattr(args, key):
            overrides[key] = True
    for key in ("source_balance", "synthetic_fraction"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    for key in ("depth", "crop", "batch_size", "cost_radius", "base_filters", "scaled_share"):
        if getattr(args, key) is not None:
            overrides[key] = tuple(args.crop) if key == "crop" else getattr(args, key)
    from utils.training import loop  # deferred: TensorFlow loads in seconds; --help and --status stay instant

    try:
        if args.hours > 0 or not args.promote:  # --hours 0 --promote: judge and ship, no training
            loop.train(args.model, args.hours, args.run_dir, args.data_dir, **overrides)
        if args.promote:
            destination = f"results/models/{args.model}_corpus.keras"
            shipped = loop.promote_run(args.run_dir or f"results/training/{args.model}", destination, args.data_dir)
            print(f"{destination}: {'promoted' if shipped else 'kept (validation not better)'}")
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run_dir = paths.resolve(args.run_dir or f"results/training/{args.model}")
    print(next((line for line in records.status(run_dir.parent) if line.startswith(f"{run_dir.name}:")),
               f"{run_dir.name}: done"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
