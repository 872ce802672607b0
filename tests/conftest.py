"""Shared fixtures: small data sets in the Vimeo90K layout, written to tmp_path."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from utils.data import synthetic, vimeo


@pytest.fixture(autouse=True)
def _seeds_and_policy():
    """Each test starts from fixed seeds and float32 (a test may switch to mixed precision)."""
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def vimeo_root(tmp_path):
    """A Vimeo90K-layout folder with 6 synthetic training and 2 test triplets of 48x64 frames."""
    root = tmp_path / "vimeo_triplet"
    rng = np.random.default_rng(0)
    train = [f"00001/{k:04d}" for k in range(1, 7)]
    test = ["00002/0001", "00002/0002"]
    for triplet_id in train + test:
        vimeo.write_triplet(root, triplet_id, synthetic.make_triplet(rng, (48, 64)))
    vimeo.write_triplet_list(root, "train", train)
    vimeo.write_triplet_list(root, "test", test)
    return root


def write_tiny_corpus(root, shots: int = 6, frames: int = 7, size=(40, 56), seed: int = 0) -> dict:
    """A corpus folder as :mod:`utils.data.corpus` writes it (shots as ``.npy``, ``manifest.json``), without ffmpeg.

    Each shot pans a random texture by 2 px a frame; shot 2 is validation, the others train.
    """
    import json
    from pathlib import Path

    root = Path(root) / "corpus"
    (root / "shots").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    entries = []
    for index in range(shots):
        texture = (synthetic.random_texture(rng, size[0] + 2 * frames, size[1] + 2 * frames) * 255).astype(np.uint8)
        clip = np.stack([texture[k:k + size[0], 2 * k:2 * k + size[1]] for k in range(frames)])
        np.save(root / "shots" / f"{index:04d}.npy", clip)
        entries.append({"source": "tiny", "file": f"shots/{index:04d}.npy", "frames": frames,
                        "size": [size[1], size[0]], "split": "validation" if index == 2 else "train",
                        "motion": [[2.5, 5.0]] * (frames - 1), "test_match": 0.1})
    manifest = {"shots": entries, "photo_files": []}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return {**manifest, "root": str(root)}


@pytest.fixture
def tiny_corpus(tmp_path):
    """A six-shot corpus under ``tmp_path/data`` (returns the data folder)."""
    write_tiny_corpus(tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def square_scene():
    """A scene maker: a grey background and a 10x10 red square moving by ``motion`` (default 8 px right) from
    t = 0 to t = 1."""
    def make(motion=(8.0, 0.0)):
        background = synthetic.Layer(np.full((40, 60, 3), 0.5, np.float32), np.ones((40, 60), np.float32),
                                     (0.0, 0.0), (0.0, 0.0))
        square = synthetic.Layer(np.tile(np.float32([1, 0, 0]), (10, 10, 1)), np.ones((10, 10), np.float32),
                                 (20.0, 15.0), motion)
        return synthetic.Scene((40, 60), [background, square])

    return make
