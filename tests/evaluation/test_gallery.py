"""Figures of the results notebook."""

from __future__ import annotations

import matplotlib
import numpy as np

from utils.evaluation import gallery
from utils.media import image_io

matplotlib.use("Agg")


def test_header_is_four_labelled_panels():
    frame = np.zeros((40, 60, 3), np.uint8)
    header = gallery.header_image(frame, frame, image_io.to_float(frame), width=60)
    assert header.dtype == np.uint8 and header.shape[1] >= 4 * 60
