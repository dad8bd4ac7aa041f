"""`netdsl lsp` without pygls: a one-line netdsl message naming the extra, exit 2."""

import subprocess
import sys

CODE = """
import sys
sys.modules["pygls"] = None            # as if pygls were not installed
sys.modules["pygls.lsp.server"] = None
from netdsl.cli import main
sys.exit(main(["lsp"]))
"""


def test_lsp_without_pygls_says_which_extra():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "netdsl lsp needs pygls" in r.stderr and "pip install 'netdsl[lsp]'" in r.stderr
    assert "Traceback" not in r.stderr
