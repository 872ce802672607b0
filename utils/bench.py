"""Benchmarks: every speed and memory claim of the README, measured in one run on this machine.

    python -m utils.bench                        # everything, writes results/benchmarks.md (about 70 minutes on 2 CPU cores)
    python -m utils.bench --only inference       # one section: training, input, inference, end_to_end
    python -m utils.bench --only input --readers corpus corpus+prior   # some readers; the other rows are kept
    python -m utils.bench --only muxing          # ffmpeg pipe vs PyAV (pip install av for its rows)

Sections (each configuration in a fresh process so that precision policies, XLA caches and peak memory
do not leak from one to the next):

- ``training``: training samples per second of the default profile's UNets, float32 vs mixed
  precision, XLA off/on, at 128x128 and 256x256 crops, and the speed-up of each over float32 without XLA;
- ``input``: triplets per second that the input pipelines deliver (PNG folders, TFRecord shards with
  PNG or raw frames, with and without the flow head's prior flows), against what training consumes;
- ``inference``: milliseconds per frame and peak memory at 448x256, 1280x720 and 3840x2160 for the
  flow-guided UNet (tiled above 1024 px), OpenCV DIS and ffmpeg minterpolate;
- ``end_to_end``: the default profile's training runs at their full length (pipeline, cache fill, fit)
  with the chosen settings against float32 without XLA;
- ``muxing``: frames per second that the video command's writer sustains (encoding included) through the
  ffmpeg pipe it uses, against PyAV (``av``, the same libraries as a Python module) with the same codec
  settings, when PyAV is installed.

Training figures are given by wall clock and by CPU time: see ``CLOCK_NOTE``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

CLOCK_NOTE = (
    "Training figures are given twice: wall-clock time (the fastest of several timings) and the CPU time the "
    "process used (user + system, all threads; the median). CPU time measures the work a configuration costs "
    "and does not count waiting; wall time is what a user waits for. The two disagree when the process waits: "
    "earlier versions of this table blamed the virtual machine for training steps that seemed to stall at "
    "255 ms with one core idle, but the wait was tf.data's autotuning thread, which the iterator waits for when "
    "`model.fit` ends (it wakes 10, 30, 70, ... ms after the iterator starts, the interval doubling up to 60 s: "
    "a 10-step fit ended at 2.55 s, a 600-step run at 81.9, 141.9 or 201.9 s). The repository's pipelines "
    "now run without it (`utils.data.pipeline_options`), and with them every configuration here; where both "
    "configurations keep the same cores busy, the two speed-ups agree."
)
SECTIONS = ("training", "input", "inference", "end_to_end", "muxing")
MUXING = {"containers": (".mp4", ".webm"), "size": (720, 1280), "frames": 96, "fps": 24}
SIZES = {"448x256": (256, 448), "1280x720": (720, 1280), "3840x2160": (2160, 3840)}


# ----------------------------------------------------------------------------
# Child processes: one measurement each
# ----------------------------------------------------------------------------
def _peak_memory_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kilobytes on Linux


def _profile_model(head: str):
    from utils import profiles

    settings = profiles.get_profile("default")
    filters, depth = (settings.flow_filters, settings.flow_depth) if head == "flow" else (settings.base_filters,
                                                                                         settings.depth)
    return settings, filters, depth


def measure_training(head: str, crop: int, precision: str, jit: bool, steps: int, batch: int | None = None) -> dict:
    """Training samples per second of the default profile's UNet (``head``) on in-memory batches."""
    import numpy as np
    import tensorflow as tf

    from utils import data, training

    training.configure_precision(precision)
    settings, filters, depth = _profile_model(head)
    batch = batch or settings.batch_size
    model = training.build_and_compile("charbonnier", filters, depth, settings.learning_rate, head, jit_compile=jit)
    rng = np.random.default_rng(0)
    inputs, target = data.split_inputs(rng.integers(0, 256, (batch, 3, crop, crop, 3), dtype=np.uint8))
    if head == "flow":
        inputs = tf.concat([inputs, tf.random.normal((batch, crop, crop, 4), stddev=2.0, seed=0)], axis=-1)
    # The repository's pipeline options (tf.data's autotuner off): with it, fit could end up to 2.55 s late here.
    dataset = tf.data.Dataset.from_tensors((inputs, target)).repeat().with_options(data.pipeline_options())
    model.fit(dataset, steps_per_epoch=4, epochs=1, verbose=0)  # tracing, XLA compilation, oneDNN warm-up
    wall, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    samples = steps * batch
    return {"samples_per_second": samples / min(wall),  # other processes only ever slow a timing down
            "cpu_ms_per_sample": 1000 * statistics.median(cpu) / samples,
            "cores": statistics.median(c / w for c, w in zip(cpu, wall)), "batch": batch}


def measure_input(reader: str, steps: int) -> dict:
    """Triplets per second an input pipeline delivers (128x128 crops, batches of 16).

    Readers: ``png_folder`` and ``tfrecord_png``/``tfrecord_raw`` without a cache (every triplet read and
    decoded each time, as with data that does not fit in memory), ``png_folder_cached`` after the cache
    is full (the default profile); ``+prior`` adds the flow head's DIS prior flows.
    """
    from utils import data, datasets, profiles, tfrecords

    settings = profiles.get_profile("default")
    if reader.startswith("corpus"):  # the long runs' reader: memory-mapped shots, crops, priors, synthetic share
        from utils import sampler

        store = sampler.Corpus("data")
        dataset = sampler.training_dataset(store, settings.batch_size, settings.crop_size,
                                           flow_prior=reader.endswith("+prior"), synthetic_fraction=0.3)
        return {"triplets_per_second": data.measure_throughput(dataset, batches=steps, warmup=3)}
    data_paths = datasets.prepare("data", "default", verbose=False)
    sources = datasets.training_sources(data_paths)
    flow_prior = reader.endswith("+prior")
    kind = reader.removesuffix("+prior")
    count = sum(len(ids) for _, ids in sources)
    warmup = 3
    if kind in ("png_folder", "png_folder_cached"):
        cached = kind == "png_folder_cached"
        dataset = data.make_dataset(sources, settings.batch_size, settings.crop_size, cache=cached, seed=0,
                                    flow_prior=flow_prior)
        if cached:  # one full pass fills the cache; measure the epochs after it, as training sees them
            warmup = count // settings.batch_size + 2
    else:
        index = _bench_records(sources, count, kind.removeprefix("tfrecord_"), flow_prior)
        dataset = tfrecords.tfrecord_dataset(index, settings.batch_size, settings.crop_size, cache=False, seed=0,
                                             flow_prior=flow_prior)
    return {"triplets_per_second": data.measure_throughput(dataset, batches=steps, warmup=warmup)}


def _bench_records(sources, count: int, encoding: str, flow_prior: bool) -> Path:
    """TFRecord shards of the default training data under build/bench (written once, then reused)."""
    from utils import paths, tfrecords

    folder = paths.resolve("build/bench") / f"tfrecords_{encoding}{'_prior' if flow_prior else ''}"
    index = folder / tfrecords.INDEX_NAME
    if not index.is_file() or json.loads(index.read_text())["count"] != count:
        tfrecords.write_tfrecords(sources, folder, shards=8, encoding=encoding, flow_prior=flow_prior)
    return index


def measure_inference(method: str, size: str, repeats: int) -> dict:
    """Milliseconds per frame (median) and peak memory of one method at one frame size."""
    import cv2
    import imageio_ffmpeg
    import numpy as np

    from utils import baselines, clips, evaluate, interpolate

    height, width = SIZES[size]
    reader = imageio_ffmpeg.read_frames(clips.DEFAULT_CLIPS["bigbuckbunny"]())
    meta = next(reader)
    source_width, source_height = meta["size"]
    wanted = {}
    for index, raw in enumerate(reader):  # keep only the two frames used, so peak memory is the method's
        if index in (100, 102):
            wanted[index] = np.frombuffer(raw, np.uint8).reshape(source_height, source_width, 3)
        if index == 102:
            break
    reader.close()
    frames = [cv2.resize(wanted[k], (width, height), interpolation=cv2.INTER_CUBIC) for k in (100, 102)]
    function = {"flow UNet": lambda: interpolate.load_method("model", evaluate.DEFAULT_CHECKPOINT),
                "DIS flow": lambda: baselines.dis_interpolate,
                "minterpolate": lambda: baselines.minterpolate}[method]()
    function(*frames)  # warm-up: tracing, first allocation
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*frames)
        seconds.append(time.perf_counter() - start)
    return {"ms_per_frame": 1000 * statistics.median(seconds), "peak_memory_gb": _peak_memory_gb()}


def measure_end_to_end(head: str, loss: str, precision: str, jit: bool, steps: int) -> dict:
    """Wall and CPU time of one default-profile training run of ``steps`` steps: pipeline, cache fill, build, fit."""
    from utils import data, datasets, training

    start, start_cpu = time.perf_counter(), time.process_time()
    training.configure_precision(precision)
    settings, filters, depth = _profile_model(head)
    data_paths = datasets.prepare("data", "default", verbose=False)
    dataset = data.make_dataset(datasets.training_sources(data_paths), settings.batch_size, settings.crop_size, seed=0,
                                flow_prior=head == "flow")
    model = training.build_and_compile(loss, filters, depth, settings.learning_rate, head, jit_compile=jit)
    history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - start_cpu,
            "loss": float(history.history["loss"][-1])}


def _muxing_frames(count: int, size: tuple[int, int]):
    """``count`` frames of a photo-like texture panning and brightening (what an encoder meets in a film)."""
    import numpy as np

    from utils import synthetic

    height, width = size
    texture = (synthetic.random_texture(np.random.default_rng(0), height + count, width + 3 * count) * 255)
    return [np.ascontiguousarray(np.clip(texture[k:k + height, 3 * k:3 * k + width] + k * 0.2, 0, 255).astype(np.uint8))
            for k in range(count)]


def _pyav_write(path: Path, frames, fps: int) -> None:
    """Writes ``frames`` with PyAV, the codec and options of :data:`utils.interpolate.CONTAINERS`' ffmpeg ones."""
    import av

    suffix = path.suffix
    codec = {".mp4": "libx264", ".webm": "libvpx-vp9"}[suffix]
    options = ({"crf": "18", "preset": "medium"} if suffix == ".mp4" else
               {"crf": "32", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def measure_muxing(writer: str, container: str) -> dict:
    """Frames per second (and CPU seconds, this process and its ffmpeg child) writing one clip."""
    import resource
    import tempfile

    from utils import interpolate

    frames = _muxing_frames(MUXING["frames"], MUXING["size"])
    if writer == "pyav" and _pyav_version() is None:
        return {"skipped": "PyAV is not installed (pip install av)"}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip{container}"
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        start = time.perf_counter()
        if writer == "pipe":
            output = interpolate.VideoWriter(path, (frames[0].shape[1], frames[0].shape[0]), MUXING["fps"])
            for frame in frames:
                output.write(frame)
            output.close()
        else:
            _pyav_write(path, frames, MUXING["fps"])
        seconds = time.perf_counter() - start
        after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(usage, after))
        size = path.stat().st_size
    return {"frames_per_second": len(frames) / seconds, "cpu_seconds": cpu, "megabytes": size / 2**20}


CHILDREN = {"training": measure_training, "input": measure_input, "inference": measure_inference,
            "end_to_end": measure_end_to_end, "muxing": measure_muxing}


def run_child(kind: str, **arguments) -> dict:
    """Runs one measurement in a fresh Python process and returns its result."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "utils.bench", "--child", json.dumps({"kind": kind, **arguments})]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark {kind} {arguments} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------
def hardware_line() -> str:
    """The machine in one line: CPU model, cores, GPUs."""
    from utils import training

    info = training.hardware_summary()
    gpus = ", ".join(info["gpus"]) or "no GPU"
    bf16 = ", AVX-512 BF16" if info["cpu_bfloat16"] else ""
    return f"{info['cpu']} ({info['cpu_cores']} cores{bf16}), {gpus}; TensorFlow {info['tensorflow']}, Keras {info['keras']}"


def mixed_policy() -> str:
    from utils import training

    policy = training.choose_precision("auto")
    return policy if policy != "float32" else "mixed_bfloat16"


def bench_training(steps: int, log) -> dict:
    rows = []
    mixed = mixed_policy()
    for head in ("flow", "residual"):
        for crop in (128, 256):
            baseline = None
            for precision in ("float32", mixed):
                for jit in (False, True):
                    result = run_child("training", head=head, crop=crop, precision=precision, jit=jit, steps=steps)
                    baseline = baseline or result
                    row = {"model": head, "crop": crop, "precision": precision, "xla": jit, **result,
                           "speedup": result["samples_per_second"] / baseline["samples_per_second"],
                           "cpu_speedup": baseline["cpu_ms_per_sample"] / result["cpu_ms_per_sample"]}
                    rows.append(row)
                    log(f"training {head} {crop}x{crop} {precision} xla={jit}: "
                        f"{row['samples_per_second']:.1f} samples/s ({row['speedup']:.2f}x), "
                        f"{row['cpu_ms_per_sample']:.1f} CPU ms/sample ({row['cpu_speedup']:.2f}x)")
    return {"rows": rows}


INPUT_READERS = ("png_folder", "tfrecord_png", "tfrecord_raw", "png_folder_cached", "png_folder+prior",
                 "tfrecord_raw+prior", "png_folder_cached+prior", "corpus", "corpus+prior")


def bench_input(steps: int, consumed: float | None, log, readers: Sequence[str] = INPUT_READERS,
                previous: dict | None = None) -> dict:
    """Measures ``readers``; rows of other readers in ``previous`` (an earlier run's section) are kept."""
    rows = {row["reader"]: row for row in (previous or {}).get("rows", [])}
    for reader in readers:
        result = run_child("input", reader=reader, steps=steps)
        rows[reader] = {"reader": reader, **result, "date": time.strftime("%Y-%m-%d")}
        log(f"input {reader}: {result['triplets_per_second']:.0f} triplets/s")
    return {"rows": [rows[r] for r in INPUT_READERS if r in rows], "consumed": consumed}


def bench_inference(repeats: int, log) -> dict:
    rows = []
    for size in SIZES:
        for method in ("flow UNet", "DIS flow", "minterpolate"):
            result = run_child("inference", method=method, size=size, repeats=repeats if size != "3840x2160" else 2)
            rows.append({"size": size, "method": method, **result})
            log(f"inference {method} {size}: {result['ms_per_frame']:.0f} ms, {result['peak_memory_gb']:.2f} GB")
    return {"rows": rows}


def bench_end_to_end(steps: int | None, log, repeats: int = 2) -> dict:
    """The default profile's four training runs (three losses, the flow head), each ``steps`` long, both ways.

    ``steps=None``: the profile's own length (epochs x steps per epoch). Each run is repeated ``repeats``
    times per setting; the fastest wall time and the smallest CPU time count.
    """
    from utils import pipeline, profiles, training

    settings = profiles.get_profile("default")
    steps = steps or settings.epochs * settings.steps_per_epoch
    runs = [(extra.get("output_mode", settings.output_mode), extra["loss"])
            for notebook, extra in pipeline.plan(["mse", "charbonnier", "ssim"]) if notebook == pipeline.TRAINING_NOTEBOOK]
    chosen_precision, chosen_jit = training.choose_precision("auto"), training.choose_jit("auto")
    settings_of = {"baseline": ("float32", False), "chosen": (chosen_precision, chosen_jit)}
    per_run = []
    for head, loss in runs:  # baseline and chosen back to back per run, so that slow drifts of the machine cancel
        for _ in range(repeats):
            for label, (precision, jit) in settings_of.items():
                result = run_child("end_to_end", head=head, loss=loss, precision=precision, jit=jit, steps=steps)
                per_run.append({"run": f"{head} {loss}", "setting": label, **result})
                log(f"end to end {label} ({precision}, XLA {'on' if jit else 'off'}) {head} {loss}: "
                    f"{result['seconds']:.0f} s, {result['cpu_seconds']:.0f} CPU s")
    totals = {label: {"precision": precision, "xla": jit, **end_to_end_totals(per_run, label)}
              for label, (precision, jit) in settings_of.items()}
    return {"steps": steps, "repeats": repeats, "runs": [f"{head} {loss}" for head, loss in runs], **totals,
            "speedup": totals["baseline"]["seconds"] / totals["chosen"]["seconds"],
            "cpu_speedup": totals["baseline"]["cpu_seconds"] / totals["chosen"]["cpu_seconds"], "per_run": per_run}


def bench_muxing(log, repeats: int = 2) -> dict:
    """The video writer's frames per second, ffmpeg pipe against PyAV, the fastest of ``repeats`` timings each."""
    import platform

    rows = []
    for container in MUXING["containers"]:
        baseline = None
        for writer in ("pipe", "pyav"):
            results = [run_child("muxing", writer=writer, container=container) for _ in range(repeats)]
            if "skipped" in results[0]:
                rows.append({"container": container, "writer": writer, "skipped": results[0]["skipped"]})
                log(f"muxing {writer} {container}: {results[0]['skipped']}")
                continue
            best = max(results, key=lambda r: r["frames_per_second"])
            baseline = baseline or best
            rows.append({"container": container, "writer": writer, **best,
                         "speedup": best["frames_per_second"] / baseline["frames_per_second"]})
            log(f"muxing {writer} {container}: {best['frames_per_second']:.1f} frames/s")
    height, width = MUXING["size"]
    return {"rows": rows, "frames": MUXING["frames"], "size": f"{width}x{height}", "python": platform.python_version(),
            "pyav": _pyav_version()}


def _pyav_version() -> str | None:
    try:
        import av
    except ImportError:
        return None
    return av.__version__


def end_to_end_totals(per_run: list[dict], setting: str) -> dict:
    """Seconds and CPU seconds of one setting summed over the runs, each run's best repeat counted.

    Other processes only ever slow a run down, so the fastest wall time and the smallest CPU time of
    a run's repeats are its measure.
    """
    runs = {row["run"] for row in per_run if row["setting"] == setting}
    return {key: sum(min(row[key] for row in per_run if row["run"] == run and row["setting"] == setting)
                     for run in runs)
            for key in ("seconds", "cpu_seconds")}


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------
def report(results: dict) -> str:
    """The Markdown that ``results/benchmarks.md`` holds."""
    dates = results.get("dates", {})
    when = ", ".join(f"{section.replace('_', ' ')} {dates[section]}" for section in SECTIONS if section in dates)
    lines = ["# Benchmarks", "", f"Measured by `python -m utils.bench` on {results['hardware']}"
             + (f" (sections measured on: {when})." if when else f", {results['date']}."), ""]
    if "training" in results:
        lines += ["## Training throughput", "",
                  "`model.fit` on in-memory batches of 16, the default profile's models (Charbonnier loss), five "
                  "timings per configuration. Samples (triplets) per second from the fastest timing; CPU milliseconds "
                  "per sample (user + system, all threads) from the median; cores = CPU time / wall time, the median "
                  "over the timings (2 when both cores worked throughout). Speed-ups "
                  "against float32 without XLA at the same crop, by wall clock and by CPU time (see the note at the "
                  "end).", "",
                  "| model | crop | precision | XLA | samples/s | speed-up | CPU ms/sample | speed-up (CPU) | cores |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in results["training"]["rows"]:
            cpu = (f"{row['cpu_ms_per_sample']:.1f} | {row['cpu_speedup']:.2f}x | {row['cores']:.1f}"
                   if "cpu_ms_per_sample" in row else "- | - | -")
            lines.append(f"| {'flow UNet' if row['model'] == 'flow' else 'UNet (residual)'} | {row['crop']}x{row['crop']} "
                         f"| {row['precision']} | {'on' if row['xla'] else 'off'} | {row['samples_per_second']:.1f} "
                         f"| {row['speedup']:.2f}x | {cpu} |")
        lines.append("")
    if "input" in results:
        consumed = results["input"]["consumed"] or {}
        lines += ["## Input pipeline", "",
                  "Triplets per second delivered (128x128 crops, batches of 16). Uncached readers read and decode "
                  "every triplet each time, as with data that does not fit in memory (Vimeo90K); cached is the "
                  "default profile after its first epoch. The last column divides by what training consumes with the "
                  "chosen settings: the UNet (residual) for frames only, the flow UNet for frames + prior flows "
                  + (f"({consumed.get('residual', 0):.1f} and {consumed.get('flow', 0):.1f} samples/s)." if consumed
                     else "(run the training section for it)."), "",
                  "| reader | triplets/s | x training's need |", "|---|---|---|"]
        names = {"png_folder": "PNG folders", "tfrecord_png": "TFRecord, PNG frames", "tfrecord_raw": "TFRecord, raw frames",
                 "png_folder_cached": "PNG folders, cached (default profile)",
                 "png_folder+prior": "PNG folders + DIS prior computed on the fly",
                 "tfrecord_raw+prior": "TFRecord, raw frames + stored prior",
                 "png_folder_cached+prior": "PNG folders + prior, cached (default profile)",
                 "corpus": "real-footage corpus (long runs: memory-mapped shots, 30% synthetic)",
                 "corpus+prior": "real-footage corpus + DIS prior on each crop (flow long run)"}
        for row in results["input"]["rows"]:
            need = consumed.get("flow" if row["reader"].endswith("+prior") else "residual")
            ratio = f"{row['triplets_per_second'] / need:.1f}x" if need else "-"
            measured = row.get("date")
            note = f" (measured {measured})" if measured and measured != dates.get("input", measured) else ""
            lines.append(f"| {names[row['reader']]}{note} | {row['triplets_per_second']:.0f} | {ratio} |")
        lines.append("")
    if "inference" in results:
        lines += ["## Inference", "",
                  "Milliseconds per interpolated frame (median) and the process's peak memory, two Big Buck Bunny "
                  "frames resized to each size; peak memory is the whole process, TensorFlow included. The flow UNet "
                  "runs frames above 1024 px in overlapping tiles.", "",
                  "| frame size | method | ms per frame | peak memory (GB) |", "|---|---|---|---|"]
        for row in results["inference"]["rows"]:
            lines.append(f"| {row['size']} | {row['method']} | {row['ms_per_frame']:.0f} | {row['peak_memory_gb']:.2f} |")
        lines.append("")
    if "end_to_end" in results:
        e2e = results["end_to_end"]
        chosen = e2e["chosen"]
        lines += ["## End to end", "",
                  f"The default profile's training runs ({', '.join(e2e['runs'])}), {e2e['steps']} steps each, each "
                  "from an empty process: data pipeline, cache fill (with the DIS priors of the flow head), model "
                  f"build, compilation, fit. Each run {_times(e2e.get('repeats', 1))} per setting, baseline and chosen "
                  "back to back, "
                  + ("the fastest wall time and the smallest CPU time counted; " if e2e.get("repeats", 1) > 1 else "")
                  + "seconds summed over the runs.", "",
                  "| settings | seconds | speed-up | CPU seconds | speed-up (CPU) |", "|---|---|---|---|---|",
                  f"| float32, XLA off | {e2e['baseline']['seconds']:.0f} | 1.00x | "
                  f"{_cpu(e2e['baseline'])} | 1.00x |",
                  f"| {chosen['precision']}, XLA {'on' if chosen['xla'] else 'off'} (chosen) | {chosen['seconds']:.0f} "
                  f"| {e2e['speedup']:.2f}x | {_cpu(chosen)} | "
                  + (f"{e2e['cpu_speedup']:.2f}x |" if "cpu_speedup" in e2e else "- |"), ""]
    if "muxing" in results:
        mux = results["muxing"]
        lines += ["## Writing video: ffmpeg pipe or PyAV", "",
                  f"What `python -m utils.interpolate video` can write: {mux['frames']} frames of {mux['size']} "
                  "(a panning, brightening photo-like texture), encoded with the container's codec and settings "
                  "(H.264 CRF 18 for .mp4, VP9 CRF 32 for .webm), through the ffmpeg binary of imageio-ffmpeg fed "
                  "by a pipe (what the command does) and through PyAV"
                  + (f" {mux['pyav']}" if mux.get("pyav") else "") + " (`av`, the same codec libraries as a "
                  "Python module); the fastest of two timings, CPU seconds of the process and its ffmpeg child.", "",
                  "| container | writer | frames/s | x pipe | CPU seconds | MB |", "|---|---|---|---|---|---|"]
        for row in mux["rows"]:
            name = "ffmpeg pipe (used)" if row["writer"] == "pipe" else "PyAV"
            if "skipped" in row:
                lines.append(f"| {row['container']} | {name} | {row['skipped']} | - | - | - |")
                continue
            lines.append(f"| {row['container']} | {name} | {row['frames_per_second']:.1f} | {row['speedup']:.2f}x | "
                         f"{row['cpu_seconds']:.1f} | {row['megabytes']:.1f} |")
        lines.append("")
    if "training" in results or "end_to_end" in results:
        lines += ["## Wall clock and CPU time", "", CLOCK_NOTE, ""]
    return "\n".join(lines)


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _cpu(row: dict) -> str:
    return f"{row['cpu_seconds']:.0f}" if "cpu_seconds" in row else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="sections to run (default: all)")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timing (default 10)")
    parser.add_argument("--readers", nargs="+", choices=INPUT_READERS,
                        help="input section: measure only these readers, keep the other rows (default: all)")
    parser.add_argument("--end-to-end-steps", type=int, default=None,
                        help="steps of each end-to-end training run (default: the default profile's 600)")
    parser.add_argument("--end-to-end-repeats", type=int, default=2,
                        help="repeats of each end-to-end run per setting; the fastest counts (default 2)")
    parser.add_argument("--output", default="results/benchmarks.md", help="Markdown report (default %(default)s)")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite the Markdown from the JSON beside it (no measurement)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        request = json.loads(args.child)
        print(json.dumps(CHILDREN[request.pop("kind")](**request)))
        return 0
    from utils import evaluation, paths

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    sections = args.only or list(SECTIONS)
    output = paths.resolve(args.output)
    json_path = output.with_suffix(".json")
    if args.report:
        text = report(evaluation.load_json(json_path))
        with paths.atomic_target(output) as temporary:
            temporary.write_text(text + "\n")
        print(text)
        return 0
    results = evaluation.load_json(json_path) if json_path.is_file() and args.only else {}
    dates = results.setdefault("dates", {})
    for section in SECTIONS:  # sections measured by an earlier run keep that run's date
        if section in results and section not in dates and "date" in results:
            dates[section] = results["date"]
    today = time.strftime("%Y-%m-%d")
    dates.update({section: today for section in sections if not (section == "input" and args.readers)})
    results.update({"hardware": hardware_line(), "date": today})
    if "training" in sections:
        results["training"] = bench_training(args.steps, log)
    if "input" in sections:
        consumed = _consumed(results)
        results["input"] = bench_input(20, consumed, log, args.readers or INPUT_READERS,
                                       results.get("input") if args.readers else None)
    if "inference" in sections:
        results["inference"] = bench_inference(5, log)
    if "end_to_end" in sections:
        results["end_to_end"] = bench_end_to_end(args.end_to_end_steps, log, args.end_to_end_repeats)
    if "muxing" in sections:
        results["muxing"] = bench_muxing(log)
    text = report(results)
    evaluation.save_json(results, json_path)
    with paths.atomic_target(output) as temporary:
        temporary.write_text(text + "\n")
    print(text)
    return 0


def _consumed(results: dict) -> dict[str, float] | None:
    """Samples per second that training consumes at 128x128 with the chosen settings: per head (flow, residual)."""
    from utils import training

    rows = results.get("training", {}).get("rows", [])
    precision, jit = training.choose_precision("auto"), training.choose_jit("auto")
    consumed = {r["model"]: r["samples_per_second"] for r in rows
                if r["crop"] == 128 and r["precision"] == precision and r["xla"] == jit}
    return consumed or None


if __name__ == "__main__":
    sys.exit(main())
