"""Colab: badges point at the right notebook, the guarded install cell works from a bare environment, hardware hints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from utils import hardware, paths
from utils.tools import colab

ROOT = paths.repo_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_badge_opens_this_notebook(path):
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", first)
    assert links == [f"https://colab.research.google.com/github/{colab.GITHUB_REPO}/blob/{colab.BRANCH}/notebooks/{path.name}"]
    assert (ROOT / "notebooks" / path.name).is_file()


def _install_cell(path) -> str:
    code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return "".join(code[0]["source"])


def test_every_install_cell_is_the_same_clone_and_editable_install():
    cells = {path.name: _install_cell(path) for path in NOTEBOOKS}
    assert len(set(cells.values())) == 1, "the notebooks' install cells differ"
    cell = next(iter(cells.values()))
    assert f"git clone -q https://github.com/{colab.GITHUB_REPO}.git" in cell
    assert "pip install -q -e ." in cell and "conda" not in cell


@pytest.mark.slow
def test_install_cell_works_in_a_bare_environment(tmp_path):
    """Runs the install cell's commands (clone, cd, editable install) with this repository as the remote.

    The fresh environment sees this environment's packages through a ``.pth`` line (as Colab's runtime
    comes with TensorFlow), so the install resolves without downloads; what is checked is the clone
    layout and that ``import utils`` works from anywhere afterwards and comes from the clone.
    """
    import sysconfig

    cell = _install_cell(NOTEBOOKS[0])
    clone = re.search(r"!git clone -q (\S+) (\S+)", cell)
    destination = tmp_path / "content" / "frame-interpolation-unet"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(destination)], check=True)
    assert re.search(r"%cd " + re.escape(clone.group(2)), cell)
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    python = environment / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "runtime_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation", "-e", "."], cwd=destination,
                   check=True)
    result = subprocess.run([str(python), "-c", "import utils, utils.paths; print(utils.paths.repo_root())"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(destination)


@pytest.mark.parametrize("found,expected", [
    ({"tpu": True, "gpus": []}, 'TPU runtime found: use profile = "full"'),
    ({"tpu": False, "gpus": ["Tesla T4"]}, 'GPU: Tesla T4 (TensorFlow 2.21.0): use profile = "full"'),
    ({"tpu": False, "gpus": []}, "No GPU found: running on 2 CPU cores with bfloat16"),
])
def test_hardware_hint_names_the_profile(found, expected):
    info = {"cpu_cores": 2, "cpu_bfloat16": True, "tensorflow": "2.21.0", "keras": "3.15.1", **found}
    assert hardware.describe_hardware(info).startswith(expected)
