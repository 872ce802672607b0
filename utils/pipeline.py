"""Runs the numbered notebooks in order with papermill.

    python -m utils.pipeline                      # default profile, about 10 minutes on a 2-core CPU
    python -m utils.pipeline --profile smoke --output-dir /tmp/run --results-dir /tmp/run/results
    python -m utils.pipeline --in-place           # refresh the committed notebooks' outputs

The training notebook runs once per loss (``--losses``). Executed copies go to
``--output-dir``; with ``--in-place`` the default-loss copies also replace the
notebooks in ``notebooks/`` (what is committed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from utils import losses, paths, profiles

NOTEBOOKS = (
    "01_data_preparation.ipynb",
    "02_unet_model.ipynb",
    "03_losses.ipynb",
    "04_training.ipynb",
    "05_results.ipynb",
)
TRAINING_NOTEBOOK = "04_training.ipynb"
DEFAULT_LOSS = "charbonnier"


def plan(losses_to_train: list[str]) -> list[tuple[str, dict]]:
    """Returns the (notebook, extra parameters) runs in order."""
    runs: list[tuple[str, dict]] = []
    for notebook in NOTEBOOKS:
        if notebook == TRAINING_NOTEBOOK:
            runs.extend((notebook, {"loss": loss}) for loss in losses_to_train)
        else:
            runs.append((notebook, {}))
    return runs


def run_pipeline(
    profile: str = "default",
    output_dir: str | Path = "build/executed",
    data_dir: str | None = None,
    results_dir: str | None = None,
    runs_dir: str | None = None,
    losses_to_train: list[str] | None = None,
    in_place: bool = False,
    kernel_name: str | None = None,
) -> list[Path]:
    """Executes the notebooks in order; returns the executed copies.

    Args:
        profile: ``smoke``, ``default`` or ``full``.
        output_dir: folder for the executed notebooks (relative paths: from the repository root).
        data_dir, results_dir, runs_dir: override the notebooks' folders (``None`` keeps theirs).
        losses_to_train: losses for the training notebook (all three by default).
        in_place: also copy the executed notebooks over ``notebooks/`` (default-loss training run).
        kernel_name: Jupyter kernel (``None``: the notebooks' own, ``python3``).

    Raises:
        ValueError: for an unknown profile or loss.
        papermill.PapermillExecutionError: when a notebook fails (its executed copy shows where).
    """
    import papermill

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by the kernels
    profiles.get_profile(profile)
    losses_to_train = list(losses_to_train or losses.LOSSES)
    for loss in losses_to_train:
        losses.get_loss(loss)
    root = paths.repo_root()
    output_dir = paths.resolve(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    common = {"profile": profile}
    for key, value in (("data_dir", data_dir), ("results_dir", results_dir), ("runs_dir", runs_dir)):
        if value is not None:
            common[key] = str(paths.resolve(value))
    runs = plan(losses_to_train)
    executed = []
    for index, (notebook, extra) in enumerate(runs, start=1):
        suffix = f"_{extra['loss']}" if "loss" in extra else ""
        target = output_dir / notebook.replace(".ipynb", f"{suffix}.ipynb")
        label = notebook + (f" (loss={extra['loss']})" if extra else "")
        print(f"[{index}/{len(runs)}] {label} ...", end=" ", flush=True)
        start = time.perf_counter()
        source = root / "notebooks" / notebook
        declared = papermill.inspect_notebook(str(source))  # pass each notebook only what it declares
        parameters = {key: value for key, value in {**common, **extra}.items() if key in declared}
        papermill.execute_notebook(
            str(source), str(target), parameters=parameters,
            cwd=str(root / "notebooks"), kernel_name=kernel_name, progress_bar=False,
        )
        print(f"done in {time.perf_counter() - start:.0f} s -> {target}", flush=True)
        executed.append(target)
        if in_place and extra.get("loss", DEFAULT_LOSS) == DEFAULT_LOSS:
            shutil.copyfile(target, root / "notebooks" / notebook)
    return executed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=sorted(profiles.PROFILES))
    parser.add_argument("--output-dir", default="build/executed", help="executed notebooks (default: %(default)s)")
    parser.add_argument("--data-dir", help="data folder (default: the notebooks' 'data')")
    parser.add_argument("--results-dir", help="results folder (default: the notebooks' 'results')")
    parser.add_argument("--runs-dir", help="training runs folder (default: the notebooks' 'runs')")
    parser.add_argument("--losses", nargs="+", choices=list(losses.LOSSES), help="losses to train (default: all)")
    parser.add_argument("--in-place", action="store_true", help="also refresh the notebooks in notebooks/")
    parser.add_argument("--kernel", help="Jupyter kernel name")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    run_pipeline(args.profile, args.output_dir, args.data_dir, args.results_dir, args.runs_dir,
                 args.losses, args.in_place, args.kernel)
    print(f"pipeline ({args.profile}) finished in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
