"""Training helpers: hardware, precision, distribution strategy, callbacks, weights.

One call per idea, so the training notebook reads as a story:
``configure_precision`` -> ``choose_strategy`` -> ``build_and_compile`` -> ``fit`` ->
``promote_if_better``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from utils import losses, paths
from utils import model as model_lib

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


# ----------------------------------------------------------------------------
# Hardware
# ----------------------------------------------------------------------------
def _cpuinfo() -> str:
    """The text of ``/proc/cpuinfo`` ("" where there is none, e.g. macOS or Windows)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_has_bfloat16(cpuinfo: str | None = None) -> bool:
    """True when the CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX)."""
    flags = _cpuinfo() if cpuinfo is None else cpuinfo
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def hardware_summary() -> dict:
    """Describes the machine: CPU, core count, bfloat16 support, GPUs and TPU presence."""
    gpus = tf.config.list_physical_devices("GPU")
    names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        names.append(details.get("device_name", gpu.name))
    cpuinfo = _cpuinfo()
    return {
        "cpu": cpu_model(cpuinfo),
        "cpu_cores": os.cpu_count(),
        "cpu_bfloat16": cpu_has_bfloat16(cpuinfo),
        "gpus": names,
        "tpu": bool(os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME")),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def describe_hardware(info: dict | None = None) -> str:
    """One line for humans: what was found and which profile to pick on it.

    Args:
        info: a :func:`hardware_summary` (default: this machine's).
    """
    info = info or hardware_summary()
    if info["tpu"]:
        return ("TPU runtime found: use profile = \"full\" (Vimeo90K; TPUStrategy and mixed_bfloat16 are picked "
                "automatically).")
    if info["gpus"]:
        return (f"GPU: {', '.join(info['gpus'])} (TensorFlow {info['tensorflow']}): use profile = \"full\" with "
                "Vimeo90K (mixed_float16 and XLA are picked automatically; several GPUs train with MirroredStrategy).")
    hint = " with bfloat16 (mixed precision helps)" if info["cpu_bfloat16"] else ""
    return (f"No GPU found: running on {info['cpu_cores']} CPU cores{hint}. The default profile is sized "
            "for this; use a GPU runtime (Colab: Runtime > Change runtime type) for the full profile.")


# ----------------------------------------------------------------------------
# Precision and strategy
# ----------------------------------------------------------------------------
def choose_precision(requested: str = "auto") -> str:
    """Picks the Keras dtype policy for this hardware.

    Args:
        requested: ``auto`` (bfloat16 mixed precision on TPUs and bfloat16 CPUs, float16 mixed
            precision on GPUs, float32 otherwise) or an explicit policy name.

    Returns:
        The policy name.

    Raises:
        ValueError: for an unknown policy name.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"Unknown precision {requested!r}: expected one of {', '.join(PRECISIONS)}.")
    if requested != "auto":
        return requested
    info = hardware_summary()
    if info["tpu"]:
        return "mixed_bfloat16"
    if info["gpus"]:
        return "mixed_float16"
    return "mixed_bfloat16" if info["cpu_bfloat16"] else "float32"


def configure_precision(requested: str = "auto") -> str:
    """Sets the global Keras dtype policy (before building a model) and returns its name."""
    policy = choose_precision(requested)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def choose_jit(requested: str | bool = "auto") -> bool:
    """Whether to compile training steps with XLA (``jit_compile``).

    Args:
        requested: ``auto``, ``True``/``False`` (or ``"on"``/``"off"``). ``auto`` turns XLA on for GPUs and
            TPUs, where fusing the UNet's element-wise operations saves memory traffic, and off on CPUs,
            where ``python -m utils.bench`` measured it slower than oneDNN's kernels (results/benchmarks.md).

    Raises:
        ValueError: for anything else.
    """
    if isinstance(requested, bool):
        return requested
    if requested in ("on", "off"):
        return requested == "on"
    if requested != "auto":
        raise ValueError(f"Unknown jit_compile {requested!r}: expected auto, on, off, True or False.")
    info = hardware_summary()
    return bool(info["gpus"] or info["tpu"])


def choose_strategy() -> tf.distribute.Strategy:
    """Picks a ``tf.distribute`` strategy for this hardware.

    - TPU runtime: ``TPUStrategy``;
    - ``TF_CONFIG`` naming several workers: ``MultiWorkerMirroredStrategy``;
    - several GPUs: ``MirroredStrategy``;
    - otherwise the default strategy (one device).
    """
    if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"):
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    if len(config.get("cluster", {}).get("worker", [])) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy | None = None) -> int:
    """Batch size of one step across all replicas: ``per_replica`` triplets on each device.

    ``model.fit`` splits every batch of a ``tf.data`` pipeline between the replicas (each replica
    gets its own slice of the dataset), and the loss is averaged over the global batch, so a
    learning rate tuned for one device works unchanged when the per-replica batch is kept.
    """
    if per_replica < 1:
        raise ValueError(f"per_replica must be at least 1, got {per_replica}.")
    strategy = strategy or tf.distribute.get_strategy()
    return per_replica * strategy.num_replicas_in_sync


# ----------------------------------------------------------------------------
# Model, callbacks, fit
# ----------------------------------------------------------------------------
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
        model = model_lib.build_unet(base_filters, depth, output_mode, name=f"unet_{loss}")
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
    import csv

    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        raise FileNotFoundError(f"Training log not found: {path}. Train with make_callbacks(run_dir) first.")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


# ----------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------
def load_model(path: str | Path) -> keras.Model:
    """Loads a ``.keras`` model saved by this repository.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a loadable Keras model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file not found: {path}. Train one with notebooks/04_training.ipynb.")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a broken file
        raise ValueError(f"Cannot load model {path}: expected a .keras file saved by utils ({error}).") from error


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
