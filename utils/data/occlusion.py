"""What moves, appears and disappears in a synthetic scene, as a map and a figure (notebook 01)."""

from __future__ import annotations

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from utils.data import synthetic
from utils.media import plots

VISIBILITY_COLOURS = {  # category -> (label, RGB)
    0: ("visible in both frames", (0.80, 0.80, 0.80)),
    1: ("only in frame 1 (about to be hidden)", (0.16, 0.45, 0.85)),
    2: ("only in frame 3 (just revealed)", (0.93, 0.45, 0.10)),
    3: ("in neither", (0.10, 0.10, 0.10)),
}


def visibility_map(scene: synthetic.Scene, t: float = 0.5) -> np.ndarray:
    """Where each pixel of the frame at time ``t`` can be found in frame 1 and frame 3.

    A pixel shows a point of its front-most layer; that point moved with the layer (its affine map,
    :meth:`synthetic.Layer.matrix`), so it sits at ``M_0 M_t^-1 p`` in frame 1 and at ``M_1 M_t^-1 p``
    in frame 3, where it is visible only if the same layer is in front there.

    Returns:
        ``int`` (H, W): 0 visible in both, 1 only in frame 1, 2 only in frame 3, 3 in neither
        (see ``VISIBILITY_COLOURS``).
    """
    height, width = scene.size
    _, front = synthetic.render(scene, t)
    _, front_1 = synthetic.render(scene, 0.0)
    _, front_3 = synthetic.render(scene, 1.0)
    grid_y, grid_x = np.mgrid[0:height, 0:width]
    in_1 = np.zeros((height, width), bool)
    in_3 = np.zeros((height, width), bool)
    points = np.stack([grid_x, grid_y, np.ones_like(grid_x)], axis=-1).astype(np.float32)
    for index, layer in enumerate(scene.layers):
        here = front == index
        # canvas at t -> texture -> canvas at 0 and at 1 (the layer's affine maps)
        to_texture = cv2.invertAffineTransform(layer.matrix(t))
        for time, other, seen in ((0.0, front_1, in_1), (1.0, front_3, in_3)):
            mapping = layer.matrix(time) @ np.vstack([to_texture, [0, 0, 1]])
            moved = points @ mapping.T
            x = np.clip(np.rint(moved[..., 0]).astype(int), 0, width - 1)
            y = np.clip(np.rint(moved[..., 1]).astype(int), 0, height - 1)
            seen |= here & (other[y, x] == index)
    return np.where(in_1 & in_3, 0, np.where(in_1, 1, np.where(in_3, 2, 3)))


def visibility_image(categories: np.ndarray) -> np.ndarray:
    """Colours a :func:`visibility_map` (float RGB)."""
    palette = np.array([VISIBILITY_COLOURS[k][1] for k in sorted(VISIBILITY_COLOURS)], np.float32)
    return palette[categories]


def occlusion_figure(seed: int = 3, size: tuple[int, int] = (160, 224), path=None):
    """Frame 1, the true middle frame, frame 3, their average, and where the middle frame is visible.

    The average shows every moving object twice (ghosts); the visibility map shows why a network
    must do more than move pixels: the blue parts exist only in frame 1 and the orange only in frame 3,
    so there it must take the pixel from one frame and ignore the other.
    """
    rng = np.random.default_rng(seed)
    scene = synthetic.random_scene(rng, size)
    frame1, truth, frame3 = (synthetic.render(scene, t)[0] for t in (0.0, 0.5, 1.0))
    categories = visibility_map(scene)
    panels = [frame1, truth, frame3, 0.5 * (frame1 + frame3), visibility_image(categories)]
    titles = ["frame 1", "middle frame (truth)", "frame 3", "average of 1 and 3: ghosts", "where the middle is visible"]
    figure, axes = plt.subplots(1, 5, figsize=(16, 3.4))
    for axis, image, title in zip(axes, panels, titles):
        axis.imshow(np.clip(image, 0, 1))
        axis.set_title(title, fontsize=10)
        axis.axis("off")
    handles = [Rectangle((0, 0), 1, 1, color=colour) for _, colour in VISIBILITY_COLOURS.values()]
    shares = [100.0 * np.mean(categories == k) for k in sorted(VISIBILITY_COLOURS)]
    labels = [f"{label} ({share:.0f}%)" for (label, _), share in zip(VISIBILITY_COLOURS.values(), shares)]
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    if path is not None:
        plots.save_figure(figure, path, dpi=80)
    return figure
