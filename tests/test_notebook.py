"""examples/quickstart.ipynb runs from top to bottom in a Jupyter kernel (nbclient), and
shows what a notebook user should see: the net's HTML table, the SVG diagram, PNG plots."""

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs_and_shows_its_outputs(tmp_path):
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    nb = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()              # raises CellExecutionError if a cell fails
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)          # every cell ran
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    data = [o.get("data", {}) for c in code for o in c.outputs]
    html = [d["text/html"] for d in data if "text/html" in d]
    assert any("<table" in h and "LinearLayer" in h for h in html)     # the net's table
    assert any("NetTrainResultsObject" in h and "data:image/png;base64" in h for h in html)
    assert any("image/png" in d for d in data)                         # the loss plot
    svg = [d["image/svg+xml"] for d in data if "image/svg+xml" in d]
    assert svg and "<svg" in svg[0] and "LinearLayer" in svg[0]        # the diagram
    progress = [o for o in code[3].outputs]                          # NetTrain's progress:
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})   # a widget
               or "round 100/100" in o.get("text", "") for o in progress)        # or text bar
    text = "".join(o.get("text", "") for o in code[2].outputs)
    assert "spec.wl:1:" in text and "error" in text                  # the check's message
    assert (tmp_path / "quickstart-net.safetensors").stat().st_size > 0
    assert (tmp_path / "quickstart-net.svg").read_text().startswith("<svg")
    accuracy = float(code[-1].outputs[-1]["data"]["text/plain"])
    assert accuracy > 0.8
