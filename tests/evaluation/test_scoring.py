"""Scores of methods on held-out triplets, and JSON records."""

from __future__ import annotations

import numpy as np
import pytest

from utils import paths
from utils.data import vimeo
from utils.evaluation import scoring
from utils.media import image_io
from utils.models import baselines


def test_frame_average_is_exact_for_linear_brightness():
    frame1 = np.full((8, 8, 3), 100, np.uint8)
    frame3 = np.full((8, 8, 3), 200, np.uint8)
    np.testing.assert_allclose(baselines.frame_average(frame1, frame3), 150 / 255, atol=1e-6)
    with pytest.raises(ValueError, match="one size"):
        baselines.frame_average(frame1, frame3[:4])


def test_evaluate_methods(vimeo_root):
    ids = vimeo.read_triplet_list(vimeo_root, "test")
    truth_of = {}

    def oracle(frame1, frame3):  # cheats: returns the true middle frame
        return image_io.to_float(truth_of[frame1.tobytes()])

    for i in ids:
        frame1, truth, _ = vimeo.load_triplet(vimeo_root, i)
        truth_of[frame1.tobytes()] = truth
    summary = scoring.evaluate_methods({"average": baselines.frame_average, "oracle": oracle}, vimeo_root, ids)
    methods = summary["methods"]
    assert summary["triplets"] == 2 and len(summary["per_triplet"]) == 4
    assert methods["oracle"]["ssim"] == pytest.approx(1.0)
    assert methods["average"]["psnr"] < methods["oracle"]["psnr"]
    assert methods["average"]["groups"]["00002"]["triplets"] == 2
    table = scoring.results_table(summary)
    assert table.splitlines()[0] == "| method | 00002 PSNR / SSIM | mean PSNR / SSIM |"
    with pytest.raises(ValueError, match="no triplets"):
        scoring.evaluate_methods({"average": baselines.frame_average}, vimeo_root, [])


def test_json_round_trip_and_errors(tmp_path):
    path = paths.save_json({"a": 1}, tmp_path / "out" / "m.json")
    assert paths.load_json(path) == {"a": 1}
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        paths.load_json(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="none.json"):
        paths.load_json(tmp_path / "none.json")
