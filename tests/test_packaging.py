"""The README's promises about installation stay true."""

from __future__ import annotations

import re
import tomllib

from utils import paths

ROOT = paths.repo_root()


def _pins_from_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def test_environment_yml_has_the_same_pins():
    conda = set(re.findall(r"^\s+- ([\w.-]+==[\w.]+)$", (ROOT / "environment.yml").read_text(), re.M))
    assert conda == _pins_from_pyproject()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
