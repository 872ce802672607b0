"""Images in and out: RGB ``uint8`` frames read from and written to files, and converted to and from floats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from utils import paths


def read_image(path: str | Path) -> np.ndarray:
    """Reads an image file as an ``uint8`` RGB array of shape (height, width, 3).

    Grayscale and RGBA images are converted to RGB (alpha is dropped).

    Args:
        path: image file (PNG, JPEG, anything Pillow reads).

    Returns:
        The image as ``uint8`` array (height, width, 3).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if ``path`` is not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"Cannot read image {path}: expected a PNG or JPEG file ({error}).") from error


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Writes an RGB image atomically (temporary file in the same folder, then rename).

    Args:
        path: destination file; its suffix picks the format.
        image: ``uint8`` array (height, width, 3), or float array in [0, 1].

    Returns:
        The destination path.
    """
    path = Path(path)
    # Fast PNG compression: frames are written by the thousand; size matters less than time.
    options = {"compress_level": 1} if path.suffix.lower() == ".png" else {}
    with paths.atomic_target(path) as temporary:
        Image.fromarray(to_uint8(image)).save(temporary, format=Image.registered_extensions().get(
            path.suffix.lower()), **options)
    return path


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Converts a float image in [0, 1] (or an ``uint8`` image) to ``uint8``."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_float(image: np.ndarray) -> np.ndarray:
    """Converts an ``uint8`` image to ``float32`` in [0, 1]."""
    return np.asarray(image, dtype=np.float32) / 255.0
