"""The GPU check (make gpu-check): on this CPU it must say there is no GPU and exit cleanly; its figures and
fixture are checked without one."""

from __future__ import annotations

import os
import subprocess
import sys

from utils import paths
from utils.data import vimeo
from utils.tools import gpu_check


def test_without_a_gpu_it_says_so_and_writes_nothing(tmp_path):
    output = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, "-m", "utils.tools.gpu_check", "--output", str(output)],
                          cwd=paths.repo_root(), capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == gpu_check.NO_GPU and not output.exists()


def test_the_fixture_is_a_vimeo_layout_at_the_full_crop_and_a_prepared_stand_in(tmp_path):
    base = gpu_check.full_profile_fixture(tmp_path, vimeo_triplets=5)
    ids = vimeo.read_triplet_list(base / "vimeo_triplet", "train")
    assert len(ids) == 5 and all(frame.shape == (256, 448, 3) for frame in vimeo.load_triplet(base / "vimeo_triplet", ids[0]))
    assert (base / "data" / "full" / "settings.json").is_file() and (base / "data" / "full" / "clips" / "clips.json").is_file()


def test_figures_and_report():
    row = gpu_check.step_figures("mixed_float16", steps=20, batch=16, epoch_seconds=2.0, peak_gb=3.456)
    assert row["step_ms"] == 100.0 and row["samples_per_second"] == 160.0 and row["peak_gpu_memory_gb"] == 3.46
    result = {"gpus": ["NVIDIA H200"], "date": "2026-12-04", "steps": 20, "training": [row],
              "inference": [{"size": "720p", "frames_per_second": 31.4, "peak_gpu_memory_gb": 1.2}]}
    text = gpu_check.report(result)
    assert "# GPU check: NVIDIA H200" in text and "| mixed_float16 | 16 | 100 | 160.0 | 3.46 |" in text
    assert "| 720p | 31.40 | 1.20 |" in text
