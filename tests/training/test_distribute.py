"""tf.distribute: a few steps under MirroredStrategy on two logical CPUs match a single-device run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from utils import hardware, paths

# TensorFlow fixes its devices when it starts, so the two logical CPUs need a fresh process.
SCRIPT = r"""
import json
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np

from utils import hardware
from utils.data import vimeo
from utils.models import losses, unet


def run(strategy, global_batch):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = unet.build_unet(4, 2, "residual")
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss=losses.get_loss("charbonnier"))
    rng = np.random.default_rng(0)
    inputs, target = vimeo.split_inputs(rng.integers(0, 256, (8, 3, 32, 32, 3), dtype=np.uint8))
    dataset = tf.data.Dataset.from_tensor_slices((inputs, target)).batch(global_batch)
    history = model.fit(dataset, epochs=4, verbose=0, shuffle=False)
    return {"replicas": strategy.num_replicas_in_sync, "loss": history.history["loss"],
            "weights": float(sum(np.abs(w).sum() for w in model.get_weights()))}


mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
batch = hardware.global_batch_size(2, mirrored)  # 2 triplets per replica, 4 per step
print(json.dumps({"batch": batch, "mirrored": run(mirrored, batch),
                  "single": run(tf.distribute.OneDeviceStrategy("/cpu:0"), batch)}))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpus_matches_one_device():
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                            cwd=paths.repo_root(), env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    mirrored, single = runs["mirrored"], runs["single"]
    assert runs["batch"] == 4 and mirrored["replicas"] == 2 and single["replicas"] == 1
    assert mirrored["loss"][-1] < mirrored["loss"][0]  # it trains
    # Each replica sees half of every global batch; the all-reduced gradients equal the single-device ones.
    assert mirrored["loss"] == pytest.approx(single["loss"], rel=1e-4)
    assert mirrored["weights"] == pytest.approx(single["weights"], rel=1e-4)


def test_global_batch_size_scales_with_replicas():
    import tensorflow as tf


    assert hardware.global_batch_size(16, tf.distribute.get_strategy()) == 16
    with pytest.raises(ValueError, match="per_replica must be at least 1"):
        hardware.global_batch_size(0, tf.distribute.get_strategy())
