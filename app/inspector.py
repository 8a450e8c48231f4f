"""The optimizer-state inspector (issue 16): one step's numbers with their formulas, and the
data of the arrows that show the step on a landscape. Not yet wired into a lesson.

`StateInspector(report, landscape)` shows an `optimizers.StepReport` as one table: each row is
a quantity (the gradient g, the optimizer's state straight from its state object, the step Δ,
the effective learning rate), its rule in KaTeX and its value per coordinate. The whole table
is ONE Panel LaTeX pane (one Bokeh model, named `state-inspector`, whose `text` is the table's
HTML; KaTeX, served by the app itself, renders every `$…$` cell in the browser): every Bokeh
model costs server CPU per session, so not one model per cell. `update(report)` sends only the
new text.

`step_arrow_data(report)` and `velocity_arrow_data(report)` are the columns (x0, y0, x1, y1) for
two Arrow annotations: the actual step Δ from w_k to w_{k+1}, and the velocity's carry-over
(momentum, Nesterov, RMSprop with momentum; empty otherwise). The wiring creates the named
sources (`step-arrow`, `velocity-arrow`); these functions only give their data, never NaN.
"""

import html

import numpy as np
import panel as pn
import param

from app import theme
from app.descent_view import fmt as value_text  # how lesson 2 prints a number
from app.narration import TITLES

ARROW_COLUMNS = ("x0", "y0", "x1", "y1")

# The size is the host's, so presentation mode (app/presenting.py: the LaTeX panes' 24 px under
# the class downhill-presenting) enlarges the whole table.
INSPECTOR_CSS = f"""
:host {{ max-width: calc(100cqw - 20px); overflow-x: auto; font-size: 15px; }}
.downhill-inspector {{ font-family: {theme.FONT}; color: {theme.TEXT_COLOR};
  line-height: 1.35; font-variant-numeric: tabular-nums; }}
.downhill-inspector .inspector-head {{ font-weight: 600; margin: 0 0 4px 0; }}
.downhill-inspector .inspector-warning {{ color: #b3261e; }}
.downhill-inspector table {{ border-collapse: collapse; }}
.downhill-inspector th {{ text-align: left; font-weight: 600; color: {theme.MUTED_TEXT};
  border-bottom: 1px solid #d0d7de; padding: 2px 8px; }}
.downhill-inspector td {{ padding: 3px 8px; border-bottom: 1px solid #eaeef2;
  vertical-align: middle; }}
.downhill-inspector td.number {{ text-align: right; white-space: nowrap; }}
.downhill-inspector td.rule {{ white-space: nowrap; }}
.downhill-inspector .katex {{ font-size: 1.05em; }}
"""


def _axis_names(report, landscape):
    names = tuple(getattr(landscape, "variables", ())) if landscape is not None else ()
    if len(names) == report.dimensions:
        return names
    return ("w",) if report.dimensions == 1 else ("x", "y")


def _head(report):
    title = TITLES.get(report.optimizer, report.optimizer)
    head = (f"{html.escape(title)} · step {report.step} → {report.step + 1} · "
            f"η = {value_text(report.lr)}")
    if report.clip_scale < 1:
        head += f" · gradient clipped ×{value_text(report.clip_scale)}"
    if 0 <= report.diverged_at <= report.step + 1:
        head += (f" · <span class='inspector-warning'>diverged at step {report.diverged_at}"
                 "</span>: its numbers ran off to infinity (shown as —)")
    return head


def table_html(report, landscape=None):
    """The inspector's HTML for `report`: a head line and one row per quantity."""
    if report is None:
        return "<div class='downhill-inspector'>No step to inspect yet.</div>"
    names = _axis_names(report, landscape)
    header = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for row in report.quantities:
        value = np.asarray(row.value)
        if value.ndim == 0:
            cells = (f"<td class='number' colspan='{len(names)}'>{value_text(value)}</td>")
        else:
            cells = "".join(f"<td class='number'>{value_text(v)}</td>" for v in value)
        rows.append(
            f"<tr data-key='{html.escape(row.key)}'><td>{html.escape(row.label)}</td>"
            f"<td class='rule'>${html.escape(row.formula)}$</td>{cells}</tr>"
        )
    return (
        "<div class='downhill-inspector'>"
        f"<div class='inspector-head'>{_head(report)}</div>"
        f"<table><thead><tr><th>quantity</th><th>rule</th>{header}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


class NamedLaTeX(pn.pane.LaTeX):
    """A LaTeX pane (KaTeX) whose Bokeh model carries a stable `name` (a test handle)."""

    model_name = param.String(default="", doc="The Bokeh model's name")

    priority = False  # never chosen by pn.panel() for an arbitrary object
    _rename = {**pn.pane.LaTeX._rename, "model_name": None}

    def _get_model(self, doc, root=None, parent=None, comm=None):
        model = super()._get_model(doc, root, parent, comm)
        model.name = self.model_name
        return model


class StateInspector(pn.viewable.Viewer):
    """The table of one step's quantities, each number with its formula (see module doc)."""

    def __init__(self, report=None, landscape=None, model_name="state-inspector", **params):
        """`model_name`: the Bokeh model's name; a lesson other than lesson 2 gives its own
        (all four lessons share one document, where a name must be unique)."""
        super().__init__(**params)
        self.report = report
        self.landscape = landscape
        self.table = NamedLaTeX(
            table_html(report, landscape), model_name=model_name, renderer="katex",
            stylesheets=[INSPECTOR_CSS], sizing_mode="stretch_width", margin=(5, 10),
        )

    def update(self, report, landscape=None):
        """Show `report` (None: nothing yet); only the pane's text changes."""
        if landscape is not None:
            self.landscape = landscape
        self.report = report
        self.table.object = table_html(report, self.landscape)

    def __panel__(self):
        return self.table


# ---- arrow data -------------------------------------------------------------------------------

def _empty():
    return {column: [] for column in ARROW_COLUMNS}


def _arrow(report, tail, tip):
    """One arrow from `tail` to `tip` (points (d,)); empty when either is not finite or they
    coincide. On a 1-D curve the arrow is horizontal at the height of L(w_k)."""
    if report.dimensions == 1:
        tail = np.array([tail[0], report.loss])
        tip = np.array([tip[0], report.loss])
    if not (np.isfinite(tail).all() and np.isfinite(tip).all()) or np.array_equal(tail, tip):
        return _empty()
    return {"x0": [float(tail[0])], "y0": [float(tail[1])],
            "x1": [float(tip[0])], "y1": [float(tip[1])]}


def step_arrow_data(report):
    """The actual step: from w_k to w_{k+1} (empty when diverged or the step is zero)."""
    if report is None:
        return _empty()
    return _arrow(report, report.point, report.next_point)


def velocity_arrow_data(report):
    """The velocity's carry-over: from w_k to w_k + coast, the part of the step the velocity of
    earlier steps makes on its own (−ημb_k; Nesterov −ημ²b_k). Empty for optimizers without a
    velocity, before momentum's first step, and when it is zero or not finite."""
    if report is None:
        return _empty()
    with np.errstate(all="ignore"):
        tip = report.point + report.coast
    return _arrow(report, report.point, tip)
