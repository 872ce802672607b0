"""Training helpers: hardware, precision, distribution strategy, callbacks, weights.

One call per idea, so the training notebook reads as a story:
``configure_precision`` -> ``choose_strategy`` -> ``build_and_compile`` -> ``fit`` ->
``promote_if_better``.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from utils import paths
from utils.models import losses, unet


def build_and_compile(
    loss: str,
    base_filters: int,
    depth: int,
    learning_rate: float,
    output_mode: str = "direct",
    strategy: tf.distribute.Strategy | None = None,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Builds the UNet under ``strategy`` and compiles it with Adam, the named loss, PSNR and SSIM.

    Raises:
        ValueError: for an unknown loss name.
    """
    loss_function = losses.get_loss(loss)
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = unet.build_unet(base_filters, depth, output_mode, name=f"unet_{loss}")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=loss_function,
            metrics=[losses.psnr, losses.ssim],
            jit_compile=jit_compile,
        )
    return model


def make_callbacks(run_dir: str | Path, lr_patience: int = 2) -> list[keras.callbacks.Callback]:
    """Callbacks of a training run, all writing under ``run_dir``.

    - ``EpochTimer``: adds ``epoch_seconds`` to each epoch's logs (so the CSV log holds wall time too);
    - ``BackupAndRestore`` (``backup/``): an interrupted ``fit`` resumes at the last finished epoch;
    - ``ModelCheckpoint`` (``best.keras``): the epoch with the best validation PSNR;
    - ``ReduceLROnPlateau``: halves the learning rate when validation loss stalls;
    - ``CSVLogger`` (``history.csv``, appended across resumed runs; :func:`read_history` reads it)
      and ``TensorBoard`` (``logs/``).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    resuming = (run_dir / "backup").exists()
    if not resuming:  # a fresh run: old curves would mix with the new ones
        (run_dir / "history.csv").unlink(missing_ok=True)
        shutil.rmtree(run_dir / "logs", ignore_errors=True)
    return [
        EpochTimer(),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.ModelCheckpoint(str(run_dir / "best.keras"), monitor="val_psnr", mode="max",
                                        save_best_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=lr_patience, min_lr=1e-5),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        keras.callbacks.TensorBoard(str(run_dir / "logs"), update_freq="epoch"),
    ]


class EpochTimer(keras.callbacks.Callback):
    """Adds the epoch's wall-clock seconds to its logs as ``epoch_seconds`` (before the CSV logger sees them)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self.start


def read_history(run_dir: str | Path) -> dict[str, list[float]]:
    """Reads ``history.csv`` of a run: every finished epoch, across interrupted and resumed ``fit`` calls.

    Returns:
        Column name -> values per epoch (``epoch``, ``loss``, ``val_psnr``, ``epoch_seconds``, ...).

    Raises:
        FileNotFoundError: if the run has no log yet.
    """

    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        raise FileNotFoundError(f"Training log not found: {path}. Train with make_callbacks(run_dir) first.")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


def promote_if_better(candidate: str | Path, record: dict, destination: str | Path, metric: str = "psnr") -> bool:
    """Copies a trained model to ``destination`` only if it beats the model already there.

    The record (metrics, profile, data, steps, wall time, hardware) is written beside the
    model as ``<destination>.json``; the comparison uses ``record["metrics"][metric]``, higher
    is better. Both files are written to temporary names first, then renamed.

    Args:
        candidate: the trained ``.keras`` file.
        record: what to store beside it; must hold ``record["metrics"][metric]``.
        destination: where the shipped model lives (e.g. ``results/models/mse.keras``).
        metric: the metric to compare.

    Returns:
        True if the candidate was promoted.
    """
    candidate, destination = Path(candidate), Path(destination)
    info_path = destination.with_suffix(".json")
    new_score = float(record["metrics"][metric])
    if destination.is_file() and info_path.is_file():
        old = json.loads(info_path.read_text())
        old_score = old.get("metrics", {}).get(metric)
        same_data = old.get("evaluated_on") == record.get("evaluated_on")
        if old_score is not None and same_data and float(old_score) >= new_score:
            return False
    with paths.atomic_target(destination) as temporary_model, paths.atomic_target(info_path) as temporary_info:
        shutil.copyfile(candidate, temporary_model)
        temporary_info.write_text(json.dumps(record, indent=1))
    return True
