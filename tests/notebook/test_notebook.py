"""The notebook example runs headlessly and shows the lesson (Panel's notebook output)."""

import json
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("panel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "lessons.ipynb"
PANEL_MIMETYPE = "application/vnd.holoviews_exec.v0+json"


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    return notebook


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebook_runs_without_errors(executed):
    for cell in code_cells(executed):
        assert all(output.output_type != "error" for output in cell.outputs), cell.source


def test_the_lesson_displays_as_a_panel_with_its_named_models(executed):
    lesson_cell = code_cells(executed)[1]
    bundles = [output.data for output in lesson_cell.outputs
               if output.output_type == "execute_result"]
    assert len(bundles) == 1
    bundle = bundles[0]
    assert PANEL_MIMETYPE in bundle
    assert "text/html" in bundle
    text = json.dumps(bundle)
    for name in ("landscape-figure", "landscape-path", "loss-figure", "landscape-status"):
        assert name in text, name


def test_the_notebook_prints_the_cores_numbers(executed):
    import landscapes
    import optimizers

    run = optimizers.descend(landscapes.get("rosenbrock"), optimizers.get("adam", lr=0.05),
                             np.array(landscapes.get("rosenbrock").start), steps=100)
    printed = "".join(output.get("text", "") for output in code_cells(executed)[2].outputs)
    x, y = run.points[30]
    assert printed.strip() == f"step 30: (x, y) = ({x:.4f}, {y:.4f}), loss {run.losses[30]:.4f}"
