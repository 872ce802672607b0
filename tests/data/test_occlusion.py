"""Occlusion ground truth of synthetic scenes: what is hidden and what is revealed."""

from __future__ import annotations

import matplotlib

from utils.data import occlusion

matplotlib.use("Agg")


def test_visibility_map_knows_what_is_hidden_and_revealed(square_scene):
    categories = occlusion.visibility_map(square_scene())
    # At t = 0.5 the square covers x = 24..33. Background just left of it (x = 20..23) was under the square in
    # frame 1 (x = 20..29) and is uncovered in frame 3 (x = 28..37): visible only in frame 3.
    assert (categories[15:25, 20:24] == 2).all()
    # Background just right of it (x = 34..37) is visible in frame 1 and covered in frame 3.
    assert (categories[15:25, 34:38] == 1).all()
    assert (categories[15:25, 24:34] == 0).all() and (categories[:10] == 0).all()
    assert (occlusion.visibility_map(square_scene((0.0, 0.0))) == 0).all()
