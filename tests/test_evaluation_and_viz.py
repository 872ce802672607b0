"""Evaluation of methods, baselines, figures and GIFs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from utils import baselines, data, evaluation, viz


def test_frame_average_is_exact_for_linear_brightness():
    frame1 = np.full((8, 8, 3), 100, np.uint8)
    frame3 = np.full((8, 8, 3), 200, np.uint8)
    np.testing.assert_allclose(baselines.frame_average(frame1, frame3), 150 / 255, atol=1e-6)
    with pytest.raises(ValueError, match="one size"):
        baselines.frame_average(frame1, frame3[:4])


def test_evaluate_methods(vimeo_root):
    ids = data.read_triplet_list(vimeo_root, "test")
    truth_of = {}

    def oracle(frame1, frame3):  # cheats: returns the true middle frame
        return data.to_float(truth_of[frame1.tobytes()])

    for i in ids:
        frame1, truth, _ = data.load_triplet(vimeo_root, i)
        truth_of[frame1.tobytes()] = truth
    summary = evaluation.evaluate_methods({"average": baselines.frame_average, "oracle": oracle}, vimeo_root, ids)
    methods = summary["methods"]
    assert summary["triplets"] == 2 and len(summary["per_triplet"]) == 4
    assert methods["oracle"]["ssim"] == pytest.approx(1.0)
    assert methods["average"]["psnr"] < methods["oracle"]["psnr"]
    assert methods["average"]["groups"]["00002"]["triplets"] == 2
    table = evaluation.results_table(summary)
    assert table.splitlines()[0] == "| method | 00002 PSNR / SSIM | mean PSNR / SSIM |"
    with pytest.raises(ValueError, match="no triplets"):
        evaluation.evaluate_methods({"average": baselines.frame_average}, vimeo_root, [])


def test_json_round_trip_and_errors(tmp_path):
    path = evaluation.save_json({"a": 1}, tmp_path / "out" / "m.json")
    assert evaluation.load_json(path) == {"a": 1}
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        evaluation.load_json(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="none.json"):
        evaluation.load_json(tmp_path / "none.json")


def test_motion_box_finds_the_moving_part():
    frame1 = np.zeros((60, 80, 3), np.uint8)
    frame3 = frame1.copy()
    frame3[30:40, 50:60] = 255
    top, left, height, width = viz.motion_box(frame1, frame3, size=20)
    assert top <= 30 and top + height >= 40 and left <= 50 and left + width >= 60


def test_comparison_grid_and_gif(tmp_path, vimeo_root):
    frame1, truth, frame3 = data.load_triplet(vimeo_root, "00002/0001")
    example = {"frame 1": frame1, "average": baselines.frame_average(frame1, frame3), "truth": truth, "frame 3": frame3}
    path = tmp_path / "figures" / "comparison.png"
    viz.comparison_grid([example, example], [{"average": "30 dB"}] * 2, path=path)
    assert Image.open(path).size[0] > 300
    gif = viz.save_gif([frame1, truth, frame3], tmp_path / "clip.gif", fps=5)
    with Image.open(gif) as image:
        assert image.n_frames == 3 and image.size == (64, 48)
    with pytest.raises(ValueError, match="at least 2 frames"):
        viz.save_gif([frame1], tmp_path / "one.gif")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["clip.gif"]


def test_side_by_side_gif_labels_every_panel(tmp_path, vimeo_root):
    frame1, truth, frame3 = data.load_triplet(vimeo_root, "00002/0001")
    panels = viz.labelled_panels({"truth": truth, "average": baselines.frame_average(frame1, frame3)}, max_width=None)
    assert panels.shape == (48 + 18, 2 * 64 + 4, 3) and panels.dtype == np.uint8
    assert (panels[:18] < 128).any()  # the names are written on the white bars
    gif = viz.save_side_by_side_gif({"truth": [truth, frame1], "other": [frame3, truth]}, tmp_path / "s.gif", fps=4)
    with Image.open(gif) as image:
        assert image.n_frames == 2
    with pytest.raises(ValueError, match="one length"):
        viz.save_side_by_side_gif({"a": [truth, truth], "b": [truth]}, tmp_path / "bad.gif")


def test_viewer_image_stages(vimeo_root):
    frame1, truth, frame3 = data.load_triplet(vimeo_root, "00002/0001")
    example = {"frame 1": frame1, "truth": truth, "frame 3": frame3, "perfect": data.to_float(truth)}
    assert np.array_equal(viz.viewer_image(example, "perfect", "frame 3"), frame3)
    assert viz.viewer_image(example, "perfect", "error ×4").max() == 0
    with pytest.raises(ValueError, match="Unknown viewer stage 'diff'"):
        viz.viewer_image(example, "perfect", "diff")


def test_encode_image_formats(vimeo_root):
    frame = data.load_triplet(vimeo_root, "00002/0001")[0]
    assert viz.encode_image(frame).startswith(b"\xff\xd8")  # JPEG by default: small notebooks
    png = viz.encode_image(frame, "png")
    assert png.startswith(b"\x89PNG")
    import io
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), frame)  # PNG is lossless
