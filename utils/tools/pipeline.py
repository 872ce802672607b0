"""Runs the numbered notebooks in order with papermill.

    python -m utils.tools.pipeline                      # default profile, about 17 minutes on a 2-core CPU
    python -m utils.tools.pipeline --profile smoke --output-dir /tmp/run --results-dir /tmp/run/results
    python -m utils.tools.pipeline --in-place           # refresh the committed notebooks' outputs

The training notebook runs once per loss (``--losses``) with the profile's UNet head, then once
with the flow-guided head (``--no-flow`` skips it). Executed copies go to ``--output-dir``; with
``--in-place`` they also replace the notebooks in ``notebooks/`` (what is committed; for the
training notebook, the flow-head run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import papermill

from utils import paths, profiles, quiet

NOTEBOOKS = (
    "01_data_preparation.ipynb",
    "02_unet_model.ipynb",
    "03_losses.ipynb",
    "04_training.ipynb",
    "05_results.ipynb",
    "06_video_interpolation.ipynb",
)


TRAINING_NOTEBOOK = "04_training.ipynb"


FLOW_LOSS = "charbonnier"


# TensorFlow's C++ start-up lines (absl logs them before TF_CPP_MIN_LOG_LEVEL is read).
STARTUP_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|To enable the following instructions|[IWE]\d{4} [\d:. ]+\d+ \w+\.cc:\d+\])")


def drop_startup_noise(notebook_path: str | Path) -> int:
    """Removes TensorFlow's C++ start-up lines from stream outputs; returns how many outputs changed.

    Those lines carry timestamps and process ids, so they would make every committed notebook
    differ from the last run and say nothing to a reader. They reach stderr of the kernel, and
    stdout of a ``!python -m ...`` cell (IPython merges a subprocess's streams); other lines stay.
    """

    notebook = nbformat.read(str(notebook_path), as_version=4)
    removed = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream":
                lines = output.text.replace("\r\n", "\n").splitlines(keepends=True)
                clean = [line for line in lines if not STARTUP_NOISE.match(line)]
                if len(clean) != len(lines):
                    removed += 1
                    if not "".join(clean).strip():
                        continue
                    output.text = "".join(clean)
            kept.append(output)
        cell.outputs = kept
    with paths.atomic_target(notebook_path) as temporary:
        nbformat.write(notebook, str(temporary))
    return removed


def plan(losses_to_train: list[str], flow: bool = True) -> list[tuple[str, dict]]:
    """Returns the (notebook, extra parameters) runs in order.

    The training notebook runs once per loss with the profile's UNet head, then (``flow``) once
    with the flow-guided head and the Charbonnier loss.
    """
    runs: list[tuple[str, dict]] = []
    for notebook in NOTEBOOKS:
        if notebook == TRAINING_NOTEBOOK:
            runs.extend((notebook, {"loss": loss}) for loss in losses_to_train)
            if flow:
                runs.append((notebook, {"loss": FLOW_LOSS, "output_mode": "flow"}))
        else:
            runs.append((notebook, {}))
    return runs


def _run_label(extra: dict) -> str:
    """``_mse`` for a loss run, ``_flow_charbonnier`` for the flow head: the executed copy's suffix."""
    if "loss" not in extra:
        return ""
    return f"_flow_{extra['loss']}" if extra.get("output_mode") == "flow" else f"_{extra['loss']}"


def run_pipeline(
    profile: str = "default",
    output_dir: str | Path = "build/executed",
    data_dir: str | None = None,
    results_dir: str | None = None,
    runs_dir: str | None = None,
    images_dir: str | None = None,
    losses_to_train: list[str] | None = None,
    in_place: bool = False,
    kernel_name: str | None = None,
    flow: bool = True,
) -> list[Path]:
    """Executes the notebooks in order; returns the executed copies.

    Args:
        profile: ``smoke``, ``default`` or ``full``.
        output_dir: folder for the executed notebooks (relative paths: from the repository root).
        data_dir, results_dir, runs_dir, images_dir: override the notebooks' folders (``None`` keeps theirs).
        losses_to_train: losses for the training notebook (all three by default).
        in_place: also copy the executed notebooks over ``notebooks/`` (for the training notebook: the
            flow-head run when ``flow``, else the last loss run).
        kernel_name: Jupyter kernel (``None``: the notebooks' own, ``python3``).
        flow: also train the flow-guided UNet (the model notebooks 5 and 6 show).

    Raises:
        ValueError: for an unknown profile or loss.
        papermill.PapermillExecutionError: when a notebook fails (its executed copy shows where).
    """

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by the kernels
    profiles.get_profile(profile)
    losses_to_train = list(losses_to_train or profiles.LOSS_NAMES)
    for loss in losses_to_train:
        if loss not in profiles.LOSS_NAMES:
            raise ValueError(f"Unknown loss {loss!r}: expected one of {', '.join(profiles.LOSS_NAMES)}.")
    root = paths.repo_root()
    output_dir = paths.resolve(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    common = {"profile": profile}
    for key, value in (("data_dir", data_dir), ("results_dir", results_dir), ("runs_dir", runs_dir),
                       ("images_dir", images_dir)):
        if value is not None:
            common[key] = str(paths.resolve(value))
    runs = plan(losses_to_train, flow)
    committed_training_run = [run for run in runs if run[0] == TRAINING_NOTEBOOK][-1]
    executed = []
    for index, (notebook, extra) in enumerate(runs, start=1):
        target = _execute(root, notebook, extra, common, output_dir, f"[{index}/{len(runs)}]", kernel_name)
        executed.append(target)
        if in_place and (notebook != TRAINING_NOTEBOOK or (notebook, extra) == committed_training_run):
            shutil.copyfile(target, root / "notebooks" / notebook)
    return executed


def _execute(root: Path, notebook: str, extra: dict, common: dict, output_dir: Path, counter: str,
             kernel_name: str | None) -> Path:
    """Runs one notebook through papermill with the parameters it declares; returns the executed copy."""
    target = output_dir / notebook.replace(".ipynb", f"{_run_label(extra)}.ipynb")
    label = notebook + (" (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")" if extra else "")
    print(f"{counter} {label} ...", end=" ", flush=True)
    start = time.perf_counter()
    source = root / "notebooks" / notebook
    declared = papermill.inspect_notebook(str(source))  # pass each notebook only what it declares
    parameters = {key: value for key, value in {**common, **extra}.items() if key in declared}
    papermill.execute_notebook(str(source), str(target), parameters=parameters, cwd=str(root / "notebooks"),
                               kernel_name=kernel_name, progress_bar=False)
    drop_startup_noise(target)
    print(f"done in {time.perf_counter() - start:.0f} s -> {target}", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=sorted(profiles.PROFILES))
    parser.add_argument("--output-dir", default="build/executed", help="executed notebooks (default: %(default)s)")
    parser.add_argument("--data-dir", help="data folder (default: the notebooks' 'data')")
    parser.add_argument("--results-dir", help="results folder (default: the notebooks' 'results')")
    parser.add_argument("--runs-dir", help="training runs folder (default: the notebooks' 'runs')")
    parser.add_argument("--images-dir", help="figures folder (default: the notebooks' 'images')")
    parser.add_argument("--losses", nargs="+", choices=list(profiles.LOSS_NAMES), help="losses to train (default: all)")
    parser.add_argument("--no-flow", action="store_true", help="skip training the flow-guided UNet")
    parser.add_argument("--in-place", action="store_true", help="also refresh the notebooks in notebooks/")
    parser.add_argument("--kernel", help="Jupyter kernel name")
    parser.add_argument("--verbose", action="store_true", help="show the kernels' and TensorFlow's start-up lines")
    args = parser.parse_args(argv)

    with quiet.native_stderr_to_log("pipeline", args.verbose) as log:
        return _run(args, log)


def _run(args, log) -> int:
    start = time.perf_counter()
    try:
        run_pipeline(args.profile, args.output_dir, args.data_dir, args.results_dir, args.runs_dir, args.images_dir,
                     args.losses, args.in_place, args.kernel, flow=not args.no_flow)
    except Exception as error:  # papermill's execution error names the failing cell; the executed copy shows it
        name = getattr(error, "ename", type(error).__name__)
        value = getattr(error, "evalue", str(error)).strip().splitlines()
        print(f"\nerror: {name}: {value[-1] if value else ''}", file=sys.stderr)
        if log is not None:
            print(f"(kernel and TensorFlow messages: {paths.display(log)})", file=sys.stderr)
        return 1
    print(f"pipeline ({args.profile}) finished in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
