"""Plots, grids, GIFs and the triplet viewer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from utils.data import vimeo
from utils.media import image_io, plots
from utils.models import baselines


def test_motion_box_finds_the_moving_part():
    frame1 = np.zeros((60, 80, 3), np.uint8)
    frame3 = frame1.copy()
    frame3[30:40, 50:60] = 255
    top, left, height, width = plots.motion_box(frame1, frame3, size=20)
    assert top <= 30 and top + height >= 40 and left <= 50 and left + width >= 60


def test_comparison_grid_and_gif(tmp_path, vimeo_root):
    frame1, truth, frame3 = vimeo.load_triplet(vimeo_root, "00002/0001")
    example = {"frame 1": frame1, "average": baselines.frame_average(frame1, frame3), "truth": truth, "frame 3": frame3}
    path = tmp_path / "figures" / "comparison.png"
    plots.comparison_grid([example, example], [{"average": "30 dB"}] * 2, path=path)
    assert Image.open(path).size[0] > 300
    gif = plots.save_gif([frame1, truth, frame3], tmp_path / "clip.gif", fps=5)
    with Image.open(gif) as image:
        assert image.n_frames == 3 and image.size == (64, 48)
    with pytest.raises(ValueError, match="at least 2 frames"):
        plots.save_gif([frame1], tmp_path / "one.gif")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["clip.gif"]


def test_side_by_side_gif_labels_every_panel(tmp_path, vimeo_root):
    frame1, truth, frame3 = vimeo.load_triplet(vimeo_root, "00002/0001")
    panels = plots.labelled_panels({"truth": truth, "average": baselines.frame_average(frame1, frame3)}, max_width=None)
    assert panels.shape == (48 + 18, 2 * 64 + 4, 3) and panels.dtype == np.uint8
    assert (panels[:18] < 128).any()  # the names are written on the white bars
    gif = plots.save_side_by_side_gif({"truth": [truth, frame1], "other": [frame3, truth]}, tmp_path / "s.gif", fps=4)
    with Image.open(gif) as image:
        assert image.n_frames == 2
    with pytest.raises(ValueError, match="one length"):
        plots.save_side_by_side_gif({"a": [truth, truth], "b": [truth]}, tmp_path / "bad.gif")


def test_viewer_image_stages(vimeo_root):
    frame1, truth, frame3 = vimeo.load_triplet(vimeo_root, "00002/0001")
    example = {"frame 1": frame1, "truth": truth, "frame 3": frame3, "perfect": image_io.to_float(truth)}
    assert np.array_equal(plots.viewer_image(example, "perfect", "frame 3"), frame3)
    assert plots.viewer_image(example, "perfect", "error ×4").max() == 0
    with pytest.raises(ValueError, match="Unknown viewer stage 'diff'"):
        plots.viewer_image(example, "perfect", "diff")


def test_encode_image_formats(vimeo_root):
    frame = vimeo.load_triplet(vimeo_root, "00002/0001")[0]
    assert plots.encode_image(frame).startswith(b"\xff\xd8")  # JPEG by default: small notebooks
    png = plots.encode_image(frame, "png")
    assert png.startswith(b"\x89PNG")
    import io
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), frame)  # PNG is lossless
