"""The machine a run is on: CPU and accelerator, precision (``mixed_bfloat16`` where the CPU has it), XLA and
the distribution strategy."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import keras
import tensorflow as tf

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


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
            where ``python -m utils.tools.bench`` measured it slower than oneDNN's kernels (results/benchmarks.md).

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
