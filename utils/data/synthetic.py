"""Synthetic triplets with exact ground truth.

A scene is a textured background plus a few textured objects, each layer moving
with its own affine motion (translation, and optionally a turn and a zoom), under a light
that may change from frame 1 to frame 3. Textures are crops of real photographs when some are
given (:func:`load_photos`), else procedural noise. Rendering the scene at t = 0, 0.5 and 1 gives
frame 1, the true middle frame and frame 3. Objects pass over each other and over
the background, so parts of the picture are hidden in one frame and revealed in
the other: exactly the cases where blending two frames makes ghosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import cv2
import numpy as np

from utils.data import vimeo
from utils.media import image_io

@dataclass
class Layer:
    """One moving layer.

    Attributes:
        texture: float32 (h, w, 3) colours in [0, 1].
        alpha: float32 (h, w) coverage in [0, 1] (all ones for the background).
        start: (x, y) canvas position of the texture's top-left corner at t = 0.
        motion: (dx, dy) displacement in pixels from t = 0 to t = 1.
        rotation: turn in degrees from t = 0 to t = 1, about the texture's centre.
        zoom: relative change of scale from t = 0 to t = 1 (0.1: 10% larger in frame 3).
    """

    texture: np.ndarray
    alpha: np.ndarray
    start: tuple[float, float]
    motion: tuple[float, float]
    rotation: float = 0.0
    zoom: float = 0.0

    def matrix(self, t: float) -> np.ndarray:
        """The 2x3 affine map from texture pixels to canvas pixels at time ``t``."""
        height, width = self.alpha.shape
        centre = (width / 2.0, height / 2.0)
        turn = cv2.getRotationMatrix2D(centre, t * self.rotation, 1.0 + t * self.zoom)
        turn[0, 2] += self.start[0] + t * self.motion[0]
        turn[1, 2] += self.start[1] + t * self.motion[1]
        return turn.astype(np.float32)


@dataclass
class Scene:
    """Layers back to front on a canvas of ``size`` (height, width), lit by ``gain`` (at t = 0, at t = 1)."""

    size: tuple[int, int]
    layers: list[Layer]
    gain: tuple[float, float] = (1.0, 1.0)


def random_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Returns a colourful texture with detail at several scales (float32 in [0, 1])."""
    texture = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((4, 0.5), (16, 0.3), (64, 0.2)):
        coarse = rng.random((max(2, height * cells // 128), max(2, width * cells // 128), 3)).astype(np.float32)
        texture += weight * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 24)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    tint = rng.random(3).astype(np.float32)
    texture = 0.7 * texture + 0.3 * stripes[..., None] * tint
    low, high = texture.min(), texture.max()
    return np.clip((texture - low) / max(high - low, 1e-6), 0.0, 1.0)


def load_photos(files, max_side: int = 512) -> list[np.ndarray]:
    """Reads photographs as float32 textures (long side at most ``max_side``) for :func:`random_scene`."""
    photos = []
    for path in files:
        image = image_io.to_float(image_io.read_image(path))
        scale = max_side / max(image.shape[:2])
        if scale < 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        photos.append(image)
    return photos


def photo_texture(rng: np.random.Generator, photos: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """A ``height`` x ``width`` crop of a random photograph at a random scale (float32 in [0, 1])."""
    photo = photos[int(rng.integers(len(photos)))]
    scale = max(height / photo.shape[0], width / photo.shape[1]) * rng.uniform(1.0, 2.0)
    if scale > 1.0 or rng.random() < 0.5:
        photo = cv2.resize(photo, None, fx=max(scale, 1.0), fy=max(scale, 1.0), interpolation=cv2.INTER_LINEAR)
    top = int(rng.integers(0, photo.shape[0] - height + 1))
    left = int(rng.integers(0, photo.shape[1] - width + 1))
    return np.ascontiguousarray(photo[top:top + height, left:left + width])


def _random_shape(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Returns an anti-aliased ellipse or polygon mask (float32 in [0, 1])."""
    scale = 4  # draw large, shrink: soft edges like a real camera's
    canvas = np.zeros((height * scale, width * scale), np.uint8)
    if rng.random() < 0.5:
        center = (width * scale // 2, height * scale // 2)
        axes = (int(width * scale * rng.uniform(0.3, 0.48)), int(height * scale * rng.uniform(0.3, 0.48)))
        cv2.ellipse(canvas, center, axes, rng.uniform(0, 180), 0, 360, 255, -1)
    else:
        count = rng.integers(3, 7)
        angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        radius = rng.uniform(0.3, 0.5, count)
        points = np.stack([
            width * scale * (0.5 + radius * np.cos(angles)),
            height * scale * (0.5 + radius * np.sin(angles)),
        ], axis=1).astype(np.int32)
        cv2.fillPoly(canvas, [points], 255)
    return cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def random_scene(
    rng: np.random.Generator,
    size: tuple[int, int] = (160, 160),
    objects: tuple[int, int] = (2, 4),
    max_object_motion: float = 20.0,
    max_background_motion: float = 6.0,
    photos: list[np.ndarray] | None = None,
    max_rotation: float = 0.0,
    max_zoom: float = 0.0,
    max_light_change: float = 0.0,
) -> Scene:
    """Draws a random scene.

    Args:
        rng: NumPy random generator.
        size: canvas (height, width).
        objects: inclusive range of the number of moving objects.
        max_object_motion: largest object displacement (pixels, per axis) from frame 1 to frame 3.
        max_background_motion: largest background displacement (a camera pan).
        photos: textures are crops of these (:func:`load_photos`); procedural noise when ``None``.
        max_rotation: largest turn of an object (degrees, either way) from frame 1 to frame 3.
        max_zoom: largest relative change of an object's scale.
        max_light_change: largest relative change of brightness from frame 1 to frame 3.

    Returns:
        The scene.
    """
    height, width = size
    margin = int(np.ceil(max_background_motion)) + 2

    def texture(texture_height, texture_width):
        if photos:
            return photo_texture(rng, photos, texture_height, texture_width)
        return random_texture(rng, texture_height, texture_width)

    background = Layer(
        texture=texture(height + 2 * margin, width + 2 * margin),
        alpha=np.ones((height + 2 * margin, width + 2 * margin), np.float32),
        start=tuple(rng.uniform(-margin, -margin / 2, 2)),
        motion=tuple(rng.uniform(-max_background_motion, max_background_motion, 2)),
    )
    layers = [background]
    for _ in range(rng.integers(objects[0], objects[1] + 1)):
        object_height = int(rng.integers(height // 5, height // 2))
        object_width = int(rng.integers(width // 5, width // 2))
        layers.append(Layer(
            texture=texture(object_height, object_width),
            alpha=_random_shape(rng, object_height, object_width),
            start=(rng.uniform(-object_width / 2, width - object_width / 2),
                   rng.uniform(-object_height / 2, height - object_height / 2)),
            motion=tuple(rng.uniform(-max_object_motion, max_object_motion, 2)),
            rotation=float(rng.uniform(-max_rotation, max_rotation)) if max_rotation else 0.0,
            zoom=float(rng.uniform(-max_zoom, max_zoom)) if max_zoom else 0.0,
        ))
    change = float(rng.uniform(-max_light_change, max_light_change)) if max_light_change else 0.0
    return Scene(size=size, layers=layers, gain=(1.0 - change / 2, 1.0 + change / 2))


def render(scene: Scene, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Renders the scene at time ``t`` (0 = frame 1, 0.5 = middle, 1 = frame 3).

    Returns:
        ``(image, visible)``: float32 image (H, W, 3) in [0, 1], and the index of the
        front-most layer covering each pixel (int32, H x W; 0 is the background).
    """
    height, width = scene.size
    image = np.zeros((height, width, 3), np.float32)
    visible = np.zeros((height, width), np.int32)
    for index, layer in enumerate(scene.layers):
        shift = layer.matrix(t)
        texture = cv2.warpAffine(layer.texture, shift, (width, height), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.warpAffine(layer.alpha, shift, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
        image = alpha * texture + (1.0 - alpha) * image
        visible[alpha[..., 0] > 0.5] = index
    gain = (1.0 - t) * scene.gain[0] + t * scene.gain[1]
    return (np.clip(image * gain, 0.0, 1.0) if gain != 1.0 else image), visible


def make_triplet(rng: np.random.Generator, size: tuple[int, int] = (160, 160), t: float = 0.5,
                 **scene_options) -> tuple[np.ndarray, ...]:
    """Returns one synthetic triplet (frame 1, the true frame at time ``t``, frame 3) as ``uint8`` arrays."""
    scene = random_scene(rng, size, **scene_options)
    return tuple(image_io.to_uint8(render(scene, time)[0]) for time in (0.0, t, 1.0))


def write_synthetic_dataset(
    root: str | Path,
    train: int,
    test: int,
    size: tuple[int, int] = (160, 160),
    seed: int = 0,
) -> dict[str, list[str]]:
    """Writes synthetic triplets in the Vimeo90K layout.

    Args:
        root: output folder (created); existing triplets with the same ids are replaced.
        train: number of training triplets (sequence folder 00001).
        test: number of test triplets (sequence folder 00002; different scenes).
        size: frame (height, width).
        seed: random seed; the same seed writes the same data.

    Returns:
        ``{"train": ids, "test": ids}``.
    """
    rng = np.random.default_rng(seed)
    splits = {"train": [f"00001/{k:04d}" for k in range(1, train + 1)],
              "test": [f"00002/{k:04d}" for k in range(1, test + 1)]}
    for split, ids in splits.items():
        for triplet_id in ids:
            vimeo.write_triplet(root, triplet_id, make_triplet(rng, size))
        vimeo.write_triplet_list(root, split, ids)
    return splits
