"""Run sizes shared by every notebook.

``smoke``   seconds; what the tests run.
``default`` the whole notebook sequence in about ten minutes on a 2-core CPU.
``full``    the original configuration: Vimeo90K at 256x448 on a GPU (Colab or better).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Profile:
    """Sizes for one kind of run.

    Attributes:
        name: profile name.
        base_filters: filters of the first UNet level (doubled at each level).
        depth: number of UNet levels.
        crop_size: (height, width) of training crops.
        batch_size: global batch size.
        epochs: training epochs.
        steps_per_epoch: batches per epoch (``None``: one pass over the data).
        synthetic_train: synthetic triplets added to the training set.
        synthetic_val: synthetic triplets kept for validation.
        learning_rate: Adam learning rate.
        clip_width: real clips are resized to at most this width.
        heldout_frames: frames at the end of each clip kept out of training.
        max_eval_triplets: held-out triplets evaluated per clip (``None``: all).
        output_mode: UNet head, ``direct`` (the original) or ``residual`` (a correction to the
            frame average; learns much faster, so the CPU-sized profiles use it).
        flow_filters: base filters of the flow-guided UNet (kept small enough to ship and to run on a CPU).
        flow_depth: levels of the flow-guided UNet.
    """

    name: str
    base_filters: int
    depth: int
    crop_size: tuple[int, int]
    batch_size: int
    epochs: int
    steps_per_epoch: int | None
    synthetic_train: int
    synthetic_val: int
    learning_rate: float
    clip_width: int
    heldout_frames: int
    max_eval_triplets: int | None
    output_mode: str
    flow_filters: int
    flow_depth: int

    def as_dict(self) -> dict:
        """Returns the profile as a plain dictionary (for JSON files)."""
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", base_filters=8, depth=3, crop_size=(64, 64), batch_size=4,
        epochs=2, steps_per_epoch=3, synthetic_train=16, synthetic_val=4,
        learning_rate=1e-3, clip_width=160, heldout_frames=8, max_eval_triplets=2, output_mode="residual",
        flow_filters=8, flow_depth=3,
    ),
    "default": Profile(
        name="default", base_filters=16, depth=4, crop_size=(128, 128), batch_size=16,
        epochs=10, steps_per_epoch=60, synthetic_train=512, synthetic_val=32,
        learning_rate=1e-3, clip_width=640, heldout_frames=32, max_eval_triplets=None, output_mode="residual",
        flow_filters=16, flow_depth=4,
    ),
    "full": Profile(
        name="full", base_filters=32, depth=5, crop_size=(256, 448), batch_size=32,
        epochs=100, steps_per_epoch=None, synthetic_train=4096, synthetic_val=256,
        learning_rate=1e-3, clip_width=640, heldout_frames=32, max_eval_triplets=None, output_mode="direct",
        flow_filters=24, flow_depth=5,
    ),
}


def get_profile(name: str) -> Profile:
    """Returns the profile called ``name``.

    Raises:
        ValueError: if ``name`` is not one of ``smoke``, ``default``, ``full``.
    """
    if name not in PROFILES:
        raise ValueError(
            f"Unknown profile {name!r}: expected one of {', '.join(sorted(PROFILES))}."
        )
    return PROFILES[name]


LOSS_NAMES = ("mse", "charbonnier", "ssim")  # utils.models.losses.LOSSES, named here so that --help imports no TensorFlow


LONG_RUN_LOSS_NAMES = LOSS_NAMES + ("psnr",)  # utils.models.losses.LONG_RUN_LOSSES
