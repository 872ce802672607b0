"""Colab: badges point at the right notebook, the one install cell (clone failures, what it installs), the rewrite
for a fork, hardware hints."""

from __future__ import annotations

import json
import re
import shutil
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


def test_every_notebook_opens_with_the_one_install_cell():
    assert {path.name: _install_cell(path) for path in NOTEBOOKS} == {path.name: colab.install_cell() for path in NOTEBOOKS}
    assert colab.clone_url() in colab.install_cell() and "conda" not in colab.install_cell()


def _run_cell(cell: str, monkeypatch, clone_returncode: int):
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append(command) or
                        subprocess.CompletedProcess(command, clone_returncode))
    exec(compile(cell, "install cell", "exec"), {"__name__": "__main__"})
    return calls


def test_install_cell_stops_with_the_address_it_tried_when_the_clone_fails(monkeypatch, tmp_path):
    cell = colab.install_cell().replace(colab.CLONE, str(tmp_path / "clone"))
    with pytest.raises(SystemExit) as stopped:
        _run_cell(cell, monkeypatch, clone_returncode=128)
    assert colab.clone_url() in str(stopped.value) and "python -m utils.tools.colab --repo OWNER/NAME" in str(stopped.value)
    assert not (tmp_path / "clone").exists()


def test_install_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("ran a command outside Colab"))
    exec(compile(colab.install_cell(), "install cell", "exec"), {"__name__": "__main__"})


COLAB = {"tensorflow": "2.19.0", "keras": "3.10.0", "tensorboard": "2.19.0", "numpy": "2.0.2",
         "opencv-python": "4.12.0.88", "matplotlib": "3.10.0", "pillow": "11.3.0", "tqdm": "4.67.1",
         "ipywidgets": "7.7.1", "imageio": "2.37.0", "scikit-image": "0.25.2", "jupyterlab": "4.4.0"}


def test_install_plan_keeps_colabs_own_packages_and_installs_what_is_missing():
    requirements = colab.project_requirements(ROOT)
    to_install, kept = colab.install_plan(requirements, COLAB)
    assert {name for name in kept} >= {"tensorflow", "keras", "numpy", "opencv-python", "tensorboard"}
    assert sorted(r.split("==")[0] for r in to_install) == ["imageio-ffmpeg", "papermill", "scikit-video"]
    assert not any(r.startswith(("jupyterlab", "nbconvert", "ipykernel")) for r in to_install)


@pytest.mark.parametrize("changed,reinstalled", [
    ({"tensorflow": "2.15.1"}, "tensorflow"),  # older than the code needs: the project's pin
    ({"numpy": "1.24.4"}, "numpy"),
    ({"keras": "2.15.0"}, "keras"),
    ({"opencv-python": "4.5.5.64"}, "opencv-python-headless"),
])
def test_install_plan_replaces_only_what_is_out_of_range(changed, reinstalled):
    to_install, kept = colab.install_plan(colab.project_requirements(ROOT), {**COLAB, **changed})
    assert reinstalled in {r.split("==")[0] for r in to_install} and len(to_install) == 4


def test_install_runs_pip_with_the_kept_versions_as_constraints(monkeypatch):
    commands = []
    monkeypatch.setattr(colab.importlib.metadata, "distributions",
                        lambda: [type("D", (), {"metadata": {"Name": n}, "version": v}) for n, v in COLAB.items()])
    installed = colab.install(ROOT, runner=lambda command: commands.append(command) or
                              subprocess.CompletedProcess(command, 0))
    assert [command[3:5] for command in commands] == [["install", "-q"], ["install", "-q"]]
    assert sorted(r.split("==")[0] for r in installed) == ["imageio-ffmpeg", "papermill", "scikit-video"]
    assert commands[0][5] == "-c" and commands[1][-2:] == ["-e", str(ROOT)] and "--no-deps" in commands[1]


def test_rewrite_points_every_badge_and_clone_url_at_a_fork_and_changes_nothing_else(tmp_path):
    (tmp_path / "utils" / "tools").mkdir(parents=True)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copy(ROOT / "utils" / "tools" / "colab.py", tmp_path / "utils" / "tools" / "colab.py")
    before = {p: p.read_text().splitlines() for p in [*sorted((tmp_path / "notebooks").glob("*.ipynb")),
                                                       tmp_path / "utils" / "tools" / "colab.py"]}
    changed = colab.rewrite("someone/vfi-fork", "dev", root=tmp_path)
    assert sorted(changed) == sorted(before)
    for path, lines in before.items():
        after = path.read_text().splitlines()
        differing = [(old, new) for old, new in zip(lines, after) if old != new]
        assert len(after) == len(lines) and len(differing) == 2, path.name  # the badge and the clone URL
        assert all("someone/vfi-fork" in new or 'BRANCH = "dev"' in new for _, new in differing)
        assert all(colab.GITHUB_REPO in old or 'BRANCH = "main"' in old for old, _ in differing)
    with pytest.raises(ValueError, match="OWNER/NAME"):
        colab.rewrite("not a repository", root=tmp_path)


@pytest.mark.slow
def test_install_cell_works_in_a_bare_environment(tmp_path):
    """Runs the install cell in a fresh environment with this repository as the remote.

    The fresh environment sees this environment's packages through a ``.pth`` line (as a Colab runtime comes
    with TensorFlow), so nothing is missing (only the build backend comes from the registry); what is checked is
    that the cell clones, installs ``utils`` from the clone without touching the packages, and ``import utils``
    then comes from it.
    """
    import sysconfig

    destination = tmp_path / "content" / "frame-interpolation-unet"
    cell = colab.install_cell().replace(colab.clone_url(), str(ROOT)).replace(colab.CLONE, str(destination))
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    python = environment / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "runtime_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = tmp_path / "cell.py"
    script.write_text("import sys\nsys.modules['google.colab'] = type(sys)('google.colab')\n" + cell + "\n")
    done = subprocess.run([str(python), str(script)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "kept from the runtime: " in done.stdout and "tensorflow" in done.stdout
    assert "installed: nothing missing" in done.stdout
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
