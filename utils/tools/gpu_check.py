"""The GPU check: what the ``full`` profile and the default model do on a CUDA GPU, in under five minutes.

    python -m utils.tools.gpu_check        # or: make gpu-check

On a machine with a CUDA GPU it (1) writes a Vimeo90K-layout fixture at the full crop (256x448) and a stand-in for
the profile's own data, (2) runs notebook 4 through papermill with ``profile = "full"`` for a fixed number of
steps, once in float32 and once in mixed_float16, and reads the step time, samples per second and peak GPU
memory of each, then (3) times the default model (:data:`utils.paths.DEFAULT_CHECKPOINT`) at 720p, 1080p and 4K
in output frames per second. It writes ``results/gpu_check.json`` and ``.md``. Without a GPU it says so and exits
cleanly (status 0), writing nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from utils import paths, profiles
from utils.data import datasets, synthetic, vimeo

SIZES = {"720p": (720, 1280), "1080p": (1080, 1920), "4K": (2160, 3840)}
PRECISIONS = ("float32", "mixed_float16")
NO_GPU = ("No CUDA GPU found: the GPU check needs one (on Colab: Runtime > Change runtime type > GPU; "
          "elsewhere a TensorFlow that sees the GPU). Nothing was measured.")


def gpu_names() -> list[str]:
    """The CUDA GPUs TensorFlow sees (their device names), empty without one."""
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; --help stays instant

    return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")]


def full_profile_fixture(base: Path, vimeo_triplets: int = 16, seed: int = 0) -> Path:
    """A Vimeo90K-layout folder at the full crop (``base/vimeo_triplet``, ``vimeo_triplets`` training and 2 test
    triplets) and a small stand-in for the full profile's own data (``base/data/full``: clips and synthetic
    scenes, stamped with the profile's settings so :func:`utils.data.datasets.prepare` takes it as built)."""
    rng = np.random.default_rng(seed)

    def write(root: Path, ids_by_split: dict[str, list[str]], size: tuple[int, int]) -> None:
        for split, ids in ids_by_split.items():
            for triplet_id in ids:
                vimeo.write_triplet(root, triplet_id, synthetic.make_triplet(rng, size))
            vimeo.write_triplet_list(root, split, ids)

    train = [f"{1 + k // 4:05d}/{1 + k % 4:04d}" for k in range(vimeo_triplets)]
    write(base / "vimeo_triplet", {"train": train, "test": ["09999/0001", "09999/0002"]}, (256, 448))
    stand_in = base / "data" / "full"
    write(stand_in / "clips", {"train": ["00001/0001", "00001/0002"], "test": ["00001/0003", "00001/0004"]},
          (144, 176))  # carphone's size: smaller than the crop
    (stand_in / "clips" / "clips.json").write_text(json.dumps({"clips": {"carphone": {}}}))
    write(stand_in / "synthetic", {"train": ["00001/0001"], "test": ["00002/0001", "00002/0002"]}, (160, 160))
    (stand_in / "settings.json").write_text(json.dumps(datasets._settings(profiles.get_profile("full")), indent=1))
    return base


class PeakGpuMemory:
    """The largest ``memory.used`` that ``nvidia-smi`` reports while the block runs (GB), polled every 0.2 s."""

    def __enter__(self) -> "PeakGpuMemory":
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            done = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                  capture_output=True, text=True, check=False)
            used = [float(line) for line in done.stdout.split() if line.strip().replace(".", "").isdigit()]
            self.peak = max([self.peak, *(value / 1024.0 for value in used)])
            self._stop.wait(0.2)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def training_row(base: Path, precision: str, steps: int) -> dict:
    """Notebook 4, ``profile = "full"``, two epochs of ``steps`` on the fixture in ``precision``: the second
    epoch's step time and samples per second (the first includes tracing), and the peak GPU memory."""
    import papermill  # deferred: only the GPU path runs notebooks

    from utils.training import fitting  # deferred: TensorFlow loads in seconds; --help stays instant

    runs = base / f"runs_{precision}"
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # memory.used then follows what training needs
    with PeakGpuMemory() as memory:
        papermill.execute_notebook(
            str(paths.resolve("notebooks/04_training.ipynb")), str(base / f"04_{precision}.ipynb"),
            cwd=str(paths.resolve("notebooks")), progress_bar=False,
            parameters={"profile": "full", "loss": "mse", "epochs": 2, "steps_per_epoch": steps,
                        "precision": precision, "jit_compile": "auto", "vimeo_dir": str(base / "vimeo_triplet"),
                        "data_dir": str(base / "data"), "runs_dir": str(runs), "results_dir": str(base / "results")})
    history = fitting.read_history(runs / "full" / "mse")
    return step_figures(precision, steps, profiles.get_profile("full").batch_size, history["epoch_seconds"][-1],
                        memory.peak)


def step_figures(precision: str, steps: int, batch: int, epoch_seconds: float, peak_gb: float) -> dict:
    """A training row from one timed epoch."""
    return {"precision": precision, "steps": steps, "batch": batch, "step_ms": 1000.0 * epoch_seconds / steps,
            "samples_per_second": batch * steps / epoch_seconds, "peak_gpu_memory_gb": round(peak_gb, 2)}


def inference_rows(pairs: int = 5) -> list[dict]:
    """Output frames per second of the default model (t = 1/2, DIS flows included) at 720p, 1080p and 4K."""
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; --help stays instant

    from utils.models import interpolator  # deferred: as above

    method = interpolator.load_method()
    rows = []
    for name, (height, width) in SIZES.items():
        frames = [synthetic.random_texture(np.random.default_rng(k), height, width) for k in range(2)]
        frame_a, frame_b = (np.clip(frame * 255.0, 0, 255).astype(np.uint8) for frame in frames)
        method(frame_a, frame_b)  # warm-up: tracing, cuDNN autotuning
        tf.config.experimental.reset_memory_stats("GPU:0")
        start = time.perf_counter()
        for _ in range(pairs):
            method(frame_a, frame_b.copy())  # a new pair each time: DIS runs again, as in a video
        seconds = time.perf_counter() - start
        rows.append({"size": name, "frames_per_second": pairs / seconds,
                     "peak_gpu_memory_gb": round(tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**30, 2)})
    return rows


def report(result: dict) -> str:
    """The Markdown of ``results/gpu_check.md``."""
    lines = [f"# GPU check: {', '.join(result['gpus'])}", "",
             f"`python -m utils.tools.gpu_check`, {result['date']}. Notebook 4 with `profile = \"full\"` on a "
             f"generated Vimeo90K-layout fixture (256x448 crops), the second of two epochs of {result['steps']} steps:",
             "", "| precision | batch | ms per step | samples/s | peak GPU memory (GB) |", "|---|---|---|---|---|"]
    lines += [f"| {r['precision']} | {r['batch']} | {r['step_ms']:.0f} | {r['samples_per_second']:.1f} | "
              f"{r['peak_gpu_memory_gb']:.2f} |" for r in result["training"]]
    lines += ["", "The default model (the time-conditioned flow UNet, DIS flows on the CPU), t = 1/2:", "",
              "| frame size | output frames/s | peak GPU memory (GB) |", "|---|---|---|"]
    lines += [f"| {r['size']} | {r['frames_per_second']:.2f} | {r['peak_gpu_memory_gb']:.2f} |"
              for r in result["inference"]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.tools.gpu_check"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per epoch (default 20)")
    parser.add_argument("--output", default="results/gpu_check.json", help="where to write the figures (and .md)")
    args = parser.parse_args(argv)
    gpus = gpu_names()
    if not gpus:
        print(NO_GPU)
        return 0
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        base = full_profile_fixture(Path(folder))
        training = []
        for precision in PRECISIONS:
            training.append(training_row(base, precision, args.steps))
            print(json.dumps(training[-1]), flush=True)
    result = {"gpus": gpus, "date": time.strftime("%Y-%m-%d"), "steps": args.steps, "training": training,
              "inference": inference_rows()}
    output = Path(args.output)
    paths.save_json(result, output)
    with paths.atomic_target(output.with_suffix(".md")) as temporary:
        temporary.write_text(report(result))
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
