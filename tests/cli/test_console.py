"""The `sightline` command: Ctrl-C while its modules load ends it with status 130 and no traceback."""

from __future__ import annotations

import subprocess
import sys

CTRL_C_WHILE_LOADING = """
import importlib.abc, sys

class CtrlC(importlib.abc.MetaPathFinder):  # the moment a person presses Ctrl-C: while the CLI loads
    def find_spec(self, name, path, target=None):
        if name == "sightline.cli":
            raise KeyboardInterrupt

sys.meta_path.insert(0, CtrlC())
from sightline.console import main
main()
"""


def test_ctrl_c_while_the_command_loads_ends_it_quietly():
    child = subprocess.run([sys.executable, "-c", CTRL_C_WHILE_LOADING], capture_output=True, text=True, timeout=60)
    assert (child.returncode, child.stderr) == (130, "")


def test_the_command_runs_the_cli():
    child = subprocess.run([sys.executable, "-c", "from sightline.console import main; main()", "--help"],
                           capture_output=True, text=True, timeout=60, env={"COLUMNS": "120", "PATH": ""})
    assert child.returncode == 0 and "Start the ML service and the ingestion server" in child.stdout
