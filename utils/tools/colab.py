"""Colab: where the repository lives (its one address), the notebooks' badges and install cells, and what the
install cell installs on a Colab runtime.

    python -m utils.tools.colab --repo OWNER/NAME [--branch BRANCH]   # a fork: every badge and clone URL

On Colab the install cell clones the repository and calls :func:`install`, which keeps Colab's own TensorFlow,
Keras, NumPy and OpenCV when their versions lie in :data:`COLAB_RANGES` and installs only what is missing
(:func:`install_plan`), so the runtime needs no restart.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from utils import paths

GITHUB_REPO = "vfi-tutorial/frame-interpolation-unet"
BRANCH = "main"

# What the code needs of the packages a Colab runtime already has: a version here is kept (no reinstall, no
# restart). A package outside its range, or missing, gets the project's pin.
COLAB_RANGES = {
    "tensorflow": (">=2.16", "<3"),
    "keras": (">=3.0", "<4"),
    "tensorboard": (">=2.16", "<3"),  # follows the runtime's TensorFlow
    "numpy": (">=1.26", "<3"),
    "opencv-python-headless": (">=4.8",),
}
# Distributions that provide the same import (cv2): any of them satisfies the project's OpenCV.
ALIASES = {"opencv-python-headless": ("opencv-python-headless", "opencv-python", "opencv-contrib-python",
                                      "opencv-contrib-python-headless")}
NOT_ON_COLAB = ("jupyterlab", "nbconvert", "ipykernel")  # Colab's own front end and kernel serve the notebooks


CLONE = "/content/frame-interpolation-unet"


def clone_url(repo: str = GITHUB_REPO) -> str:
    return f"https://github.com/{repo}.git"


def install_cell(repo: str = GITHUB_REPO) -> str:
    """The source of every notebook's install cell: on Colab, clone (stopping with the address it tried and how to
    change it when the clone fails), then :func:`install`; elsewhere nothing."""
    return f'''import os
import subprocess
import sys

if "google.colab" in sys.modules:  # a bare Colab runtime: fetch the code, install only what the runtime lacks
    REPOSITORY = "{clone_url(repo)}"
    CLONE = "{CLONE}"
    if not os.path.isdir(CLONE) and subprocess.run(["git", "clone", "-q", REPOSITORY, CLONE]).returncode != 0:
        raise SystemExit(f"Could not clone {{REPOSITORY}}. A fork sets its address with "
                         "`python -m utils.tools.colab --repo OWNER/NAME`; check the address and the network.")
    os.chdir(CLONE)
    sys.path.insert(0, CLONE)
    from utils.tools import colab

    colab.install(CLONE)'''


def badge_url(notebook: str, repo: str = GITHUB_REPO, branch: str = BRANCH) -> str:
    """The "Open in Colab" address of ``notebooks/<notebook>``."""
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/{notebook}"


def badge_markdown(notebook: str) -> str:
    """Markdown for the badge of ``notebooks/<notebook>``."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({badge_url(notebook)})")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


def in_range(version: str, bounds: Sequence[str]) -> bool:
    """``version`` meets every bound (``>=2.16``, ``<3``): compared by their first three numbers."""
    for bound in bounds:
        operator, limit = re.match(r"(>=|<=|<|>|==)(.+)", bound).groups()
        have, need = _version_key(version), _version_key(limit)
        if not {">=": have >= need, "<=": have <= need, "<": have < need, ">": have > need, "==": have == need}[operator]:
            return False
    return True


def install_plan(requirements: Sequence[str], installed: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """What to install on a Colab runtime: ``(requirements to install, {package: version kept})``.

    Args:
        requirements: the project's pins (``tensorflow==2.21.0``, ...), from ``pyproject.toml``.
        installed: distribution name -> version, of what the runtime has.

    A package with a range in :data:`COLAB_RANGES` is kept when the runtime's version lies in it, else pinned;
    any other package is kept when present in any version and installed when missing; the notebook front end
    (:data:`NOT_ON_COLAB`) is never installed.
    """
    installed = {name.lower(): version for name, version in installed.items()}
    to_install, kept = [], {}
    for requirement in requirements:
        name = re.split(r"[=<>!~\[ ]", requirement, maxsplit=1)[0].lower()
        if name in NOT_ON_COLAB:
            continue
        present = next(((alias, installed[alias]) for alias in ALIASES.get(name, (name,)) if alias in installed), None)
        if present is not None and (name not in COLAB_RANGES or in_range(present[1], COLAB_RANGES[name])):
            kept[present[0]] = present[1]
        else:
            to_install.append(requirement)
    return to_install, kept


def project_requirements(root: Path) -> list[str]:
    """The ``dependencies`` of ``root/pyproject.toml`` (read without tomllib, which Python 3.10 lacks)."""
    block = re.search(r"^dependencies = \[(.*?)^\]", (root / "pyproject.toml").read_text(), re.S | re.M)
    return re.findall(r'"([^"]+)"', block.group(1))


def install(root: str | Path, runner=subprocess.run) -> list[str]:
    """Installs the repository at ``root`` on a Colab runtime without replacing what Colab has (see
    :func:`install_plan`): the missing packages, constrained to the versions kept, then ``utils`` itself
    (editable, no dependencies). Prints what it kept and what it installed; returns the installed requirements.

    Raises:
        RuntimeError: when pip fails (its message is printed above).
    """
    root = Path(root)
    installed = {dist.metadata["Name"]: dist.version for dist in importlib.metadata.distributions()
                 if dist.metadata["Name"]}
    to_install, kept = install_plan(project_requirements(root), installed)
    print("kept from the runtime: " + (", ".join(f"{name} {version}" for name, version in sorted(kept.items()))
                                       or "nothing"))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("".join(f"{name}=={version}\n" for name, version in kept.items()))
    commands = ([[sys.executable, "-m", "pip", "install", "-q", "-c", constraints.name, *to_install]] if to_install
                else []) + [[sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(root)]]
    for command in commands:
        if runner(command).returncode != 0:
            raise RuntimeError(f"pip failed: {' '.join(command[3:])}")
    print("installed: " + (", ".join(to_install) or "nothing missing") + "; utils from " + str(root))
    return to_install


def rewrite(repo: str, branch: str = BRANCH, root: str | Path | None = None) -> list[Path]:
    """Points every notebook's badge and clone URL, and this module's address, at ``repo`` (``OWNER/NAME``) and
    ``branch``; returns the files changed. Nothing else in them changes."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ValueError(f"--repo: expected OWNER/NAME as on GitHub, got {repo!r}.")
    root = Path(root) if root is not None else paths.repo_root()
    changed = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        new = re.sub(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w./-]+?/notebooks/",
                     f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/", text)
        new = re.sub(r"https://github\.com/[\w.-]+/[\w.-]+?\.git", clone_url(repo), new)
        if new != text:
            json.loads(new)  # still a valid notebook
            path.write_text(new)
            changed.append(path)
    module = root / "utils" / "tools" / "colab.py"
    text = module.read_text()
    new = re.sub(r'^GITHUB_REPO = ".*"$', f'GITHUB_REPO = "{repo}"', text, count=1, flags=re.M)
    new = re.sub(r'^BRANCH = ".*"$', f'BRANCH = "{branch}"', new, count=1, flags=re.M)
    if new != text:
        module.write_text(new)
        changed.append(module)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.tools.colab"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True, help="OWNER/NAME of the GitHub repository the notebooks should open")
    parser.add_argument("--branch", default=BRANCH, help=f"branch (default {BRANCH})")
    args = parser.parse_args(argv)
    try:
        changed = rewrite(args.repo, args.branch)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"rewrote {paths.display(path)}")
    print(f"{len(changed)} file(s) now point at github.com/{args.repo} ({args.branch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
