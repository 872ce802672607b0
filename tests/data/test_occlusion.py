"""Occlusion ground truth of synthetic scenes: what is hidden and what is revealed."""

from __future__ import annotations

import matplotlib
import numpy as np

from utils.data import occlusion, synthetic

matplotlib.use("Agg")


def square_scene(motion=(8.0, 0.0)):
    """A grey background and a 10x10 red square moving right by 8 px from t = 0 to t = 1."""
    background = synthetic.Layer(np.full((40, 60, 3), 0.5, np.float32), np.ones((40, 60), np.float32), (0.0, 0.0),
                                 (0.0, 0.0))
    square = synthetic.Layer(np.tile(np.float32([1, 0, 0]), (10, 10, 1)), np.ones((10, 10), np.float32), (20.0, 15.0),
                             motion)
    return synthetic.Scene((40, 60), [background, square])


def test_visibility_map_knows_what_is_hidden_and_revealed():
    categories = occlusion.visibility_map(square_scene())
    # At t = 0.5 the square covers x = 24..33. Background just left of it (x = 20..23) was under the square in
    # frame 1 (x = 20..29) and is uncovered in frame 3 (x = 28..37): visible only in frame 3.
    assert (categories[15:25, 20:24] == 2).all()
    # Background just right of it (x = 34..37) is visible in frame 1 and covered in frame 3.
    assert (categories[15:25, 34:38] == 1).all()
    assert (categories[15:25, 24:34] == 0).all() and (categories[:10] == 0).all()
    assert (occlusion.visibility_map(square_scene((0.0, 0.0))) == 0).all()
