"""Notebook 4 with the `full` profile (the Colab/GPU path) on a Vimeo90K-layout fixture, shrunk to fit a CPU.

The fixture is at the full crop size (256x448); the profile's own data (real clips, 4096 synthetic scenes)
is replaced by a small stand-in written with the profile's settings stamp, so `datasets.prepare` takes it as
built. Each run writes into its own folders: no shipped file may change.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from utils import paths
from utils.data import tfrecords, vimeo
from utils.tools import gpu_check

pytestmark = pytest.mark.slow
papermill = pytest.importorskip("papermill")
ROOT = paths.repo_root()


@pytest.fixture(scope="module")
def full_fixture(tmp_path_factory):
    base = gpu_check.full_profile_fixture(tmp_path_factory.mktemp("full"), vimeo_triplets=4)
    vimeo_root = base / "vimeo_triplet"
    tfrecords.write_tfrecords([(vimeo_root, vimeo.read_triplet_list(vimeo_root, "train"))], base / "records",
                              shards=2, encoding="png")
    return base


def _shipped_digest():
    digest = hashlib.sha256()
    for path in sorted((ROOT / "results").rglob("*")):
        if path.is_file() and "training" not in path.relative_to(ROOT / "results").parts:  # a long run may be writing
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _run(fixture, name, **parameters):
    output = fixture / f"{name}.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "04_training.ipynb"), str(output), cwd=str(ROOT / "notebooks"), progress_bar=False,
        parameters={"profile": "full", "loss": "mse", "epochs": 1, "steps_per_epoch": 2, "batch_size": 2,
                    "data_dir": str(fixture / "data"), "runs_dir": str(fixture / f"runs_{name}"),
                    "results_dir": str(fixture / "results"), **parameters})
    cells = json.loads(output.read_text())["cells"]
    texts = [o.get("text", "") for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


def test_full_profile_trains_the_original_unet_from_vimeo_then_records_and_warm_starts(full_fixture):
    before = _shipped_digest()
    text = _run(full_fixture, "vimeo", vimeo_dir=str(full_fixture / "vimeo_triplet"))
    assert "head direct, 32 base filters, 5 levels" in text and "global batch 2" in text
    assert "7 training triplets, 2 steps of 2 per epoch" in text  # 2 clips + 1 synthetic + 4 Vimeo90K
    assert (full_fixture / "runs_vimeo" / "full" / "mse" / "best.keras").is_file()
    record = json.loads((full_fixture / "results" / "models" / "mse.json").read_text())
    assert record["profile"]["name"] == "full" and record["filters"] == 32 and record["depth"] == 5
    assert record["output_mode"] == "direct" and record["steps"] == 2
    assert any(source.endswith("vimeo_triplet") for source in record["data"]["sources"])

    text = _run(full_fixture, "warm", warm_start=True)
    assert "starting from mse.keras (2 steps so far)" in text
    record = json.loads((full_fixture / "results" / "models" / "mse.json").read_text())
    assert record["steps"] in (2, 4)  # 4 when the continued model scored better and was shipped

    text = _run(full_fixture, "records", tfrecord_dir=str(full_fixture / "records"))
    assert "4 training triplets, 2 steps of 2 per epoch" in text
    assert (full_fixture / "runs_records" / "full" / "mse" / "best.keras").is_file()
    assert _shipped_digest() == before
