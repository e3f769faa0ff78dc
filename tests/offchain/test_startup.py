"""What every `ape run` prints before our code runs: no pydantic warning. ape-vyper's
config has a forward reference it never resolves; pydantic-settings 2.15+ warns about
it on every settings resolution, so the lock pins 2.14 (docs/decisions.md)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import warnings
warnings.simplefilter("error")
from ape_vyper.config import VyperConfig
VyperConfig()
print("clean")
"""


def test_ape_vyper_config__resolves_without_a_warning():
    run = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr.strip().splitlines()[-1]
    assert run.stdout.strip() == "clean"
