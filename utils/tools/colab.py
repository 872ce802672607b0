"""Where the repository lives on GitHub, for the notebooks' Colab badges and install cells.

A fork changes ``GITHUB_REPO`` here and runs ``python -m utils.tools.colab`` to rewrite the badges.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from utils import paths

GITHUB_REPO = "vfi-tutorial/frame-interpolation-unet"
BRANCH = "main"


def badge_url(notebook: str) -> str:
    """The "Open in Colab" address of ``notebooks/<notebook>``."""
    return f"https://colab.research.google.com/github/{GITHUB_REPO}/blob/{BRANCH}/notebooks/{notebook}"


def badge_markdown(notebook: str) -> str:
    """Markdown for the badge of ``notebooks/<notebook>``."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({badge_url(notebook)})")


def rewrite_badges() -> list[Path]:
    """Points every notebook's badge and clone command at ``GITHUB_REPO``; returns the changed files."""
    changed = []
    for path in sorted((paths.repo_root() / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        new = re.sub(r"https://colab\.research\.google\.com/github/[^)\s\"]+/notebooks/[^)\s\"]+\.ipynb",
                     badge_url(path.name), text)
        new = re.sub(r"https://github\.com/[\w.-]+/[\w.-]+?\.git", f"https://github.com/{GITHUB_REPO}.git", new)
        if new != text:
            json.loads(new)  # still a valid notebook
            path.write_text(new)
            changed.append(path)
    return changed


if __name__ == "__main__":
    for changed_path in rewrite_badges():
        print(f"rewrote {changed_path}")
    sys.exit(0)
