"""The state inspector (app/inspector.py), server side: the numbers shown are the report's, each
optimizer's rules are there, update() changes only the text of one named model, and the arrow
data is NaN-free."""

import html
import re

import numpy as np
import pytest

import landscapes
import optimizers
from app.inspector import (
    StateInspector,
    step_arrow_data,
    table_html,
    value_text,
    velocity_arrow_data,
)

BOWL = landscapes.get("bowl")


def report_of(name, k=3, landscape=BOWL, start=None, **hyper):
    opt = optimizers.get(name, **{"lr": 0.1, **hyper})
    return optimizers.inspect_step(landscape, opt, landscape.start if start is None else start,
                                   k)


def rows(text):
    """{key: (formula, [cell texts])} read back from the inspector's HTML."""
    found = {}
    for key, body in re.findall(r"<tr data-key='([^']+)'>(.*?)</tr>", text):
        formula = html.unescape(re.search(r"<td class='rule'>\$(.*?)\$</td>", body).group(1))
        cells = [html.unescape(c) for c in re.findall(r"<td class='number'[^>]*>(.*?)</td>",
                                                       body)]
        found[key] = (formula, cells)
    return found


@pytest.mark.parametrize("name", optimizers.names())
def test_numbers_shown_are_the_reports(name):
    report = report_of(name)
    shown = rows(table_html(report, BOWL))
    assert list(shown) == [row.key for row in report.quantities]
    for row in report.quantities:
        formula, cells = shown[row.key]
        assert formula == row.formula
        assert cells == [value_text(v) for v in np.asarray(row.value).reshape(-1)]


@pytest.mark.parametrize(("name", "hyper", "rules"), [
    ("sgd", {}, [r"g_k = \nabla L(w_k)", r"\Delta = w_{k+1} - w_k"]),
    ("momentum", {}, [r"b_{k+1} = \mu b_k", r"-\eta\mu b_k"]),
    ("nesterov", {}, [r"\mu b_{k+1}", r"-\eta\mu^2 b_k"]),
    ("adagrad", {}, [r"s_{k+1} = s_k + g_k^2"]),
    ("rmsprop", {"centered": True}, [r"v_{k+1} = \alpha v_k", r"\bar g_{k+1}"]),
    ("adam", {}, [r"\hat m = \frac{m_{k+1}}", r"\hat v = \frac{v_{k+1}}",
                  r"\frac{\eta}{\sqrt{\hat v} + \varepsilon}"]),
    ("adamw", {}, [r"-\eta\lambda w_k"]),
    ("lion", {}, [r"c = \beta_1 m_k", r"\operatorname{sign}(c)"]),
])
def test_each_optimizers_rules_are_shown(name, hyper, rules):
    text = html.unescape(table_html(report_of(name, **hyper), BOWL))
    for rule in rules:
        assert rule in text


def test_the_table_is_one_model_named_state_inspector_and_update_changes_only_its_text():
    inspector = StateInspector(report_of("adam", k=1), BOWL)
    model = inspector.table.get_root()
    assert model.name == "state-inspector"
    before = model.text
    inspector.update(report_of("adam", k=2))
    assert model.text != before  # the model already shown received the new text
    assert "step 2 → 3" in html.unescape(model.text)
    inspector.update(report_of("momentum", k=4))
    assert "Momentum · step 4 → 5" in html.unescape(model.text)


def test_axis_columns_are_the_landscapes_variables():
    line_fit = landscapes.get("line-fit")
    text = table_html(report_of("sgd", k=1, landscape=line_fit), line_fit)
    header = re.search(r"<thead>(.*?)</thead>", text).group(1)
    assert [f"<th>{v}</th>" in header for v in line_fit.variables] == [True, True]
    curve = landscapes.curve("shifted")
    one_d = table_html(report_of("sgd", k=1, landscape=curve), curve)
    assert "<th>w</th>" in one_d and "<th>x</th>" not in one_d


def test_a_diverged_report_shows_dashes_never_inf_or_nan():
    report = report_of("sgd", k=50, lr=0.4)  # diverged at step 45
    text = table_html(report, BOWL)
    assert "diverged at step 45" in text
    assert not re.search(r"\b(inf|nan)\b", text, re.IGNORECASE)
    assert "—" in text
    assert step_arrow_data(report) == {"x0": [], "y0": [], "x1": [], "y1": []}


def test_nothing_yet_is_a_sentence():
    inspector = StateInspector()
    assert "No step to inspect yet" in inspector.table.object
    inspector.update(report_of("sgd"))
    assert "SGD" in inspector.table.object


def test_clipping_is_said_in_the_head():
    report = optimizers.inspect_step(landscapes.get("rosenbrock"),
                                     optimizers.get("sgd", lr=0.001, clip_norm=1.0),
                                     (-1.2, 1.0), 0)
    assert "gradient clipped ×" in html.unescape(table_html(report))


# ---- arrows ----------------------------------------------------------------------------------

def test_step_arrow_runs_from_this_point_to_the_next():
    report = report_of("adam", k=3)
    data = step_arrow_data(report)
    assert data == {"x0": [report.point[0]], "y0": [report.point[1]],
                    "x1": [report.next_point[0]], "y1": [report.next_point[1]]}


def test_velocity_arrow_is_the_momentum_carry_over_and_empty_otherwise():
    valley = landscapes.get("valley")
    report = report_of("momentum", k=5, landscape=valley, lr=0.01)
    data = velocity_arrow_data(report)
    np.testing.assert_allclose([data["x1"][0], data["y1"][0]], report.point + report.coast)
    assert [data["x0"][0], data["y0"][0]] == list(report.point)
    empty = {"x0": [], "y0": [], "x1": [], "y1": []}
    assert velocity_arrow_data(report_of("momentum", k=0, landscape=valley, lr=0.01)) == empty
    assert velocity_arrow_data(report_of("adam", k=3)) == empty
    assert velocity_arrow_data(None) == empty and step_arrow_data(None) == empty


def test_arrows_on_a_1d_curve_are_horizontal_at_the_current_loss():
    curve = landscapes.curve("shifted")
    report = report_of("sgd", k=0, landscape=curve)
    data = step_arrow_data(report)
    assert data == {"x0": [0.0], "y0": [9.0], "x1": [report.next_point[0]], "y1": [9.0]}


def test_a_zero_step_has_no_arrow():
    report = report_of("sgd", k=0, start=(0.0, 0.0))
    assert step_arrow_data(report) == {"x0": [], "y0": [], "x1": [], "y1": []}


@pytest.mark.parametrize("name", optimizers.names())
def test_arrow_data_is_never_nan(name):
    trail = optimizers.trace(BOWL, optimizers.get(name, lr=1e9), BOWL.start, 4)  # diverges at 1
    for k in range(4):
        for data in (step_arrow_data(trail.report(k)), velocity_arrow_data(trail.report(k))):
            values = [v for column in data.values() for v in column]
            assert all(np.isfinite(values))


def test_a_lesson_can_give_the_table_its_own_model_name():
    from bokeh.document import Document

    inspector = StateInspector(report_of("sgd", k=0), BOWL, model_name="stochastic-state-inspector")
    doc = Document()
    model = inspector.__panel__().get_root(doc)
    assert model.name == "stochastic-state-inspector"
    assert StateInspector().__panel__().get_root(Document()).name == "state-inspector"
