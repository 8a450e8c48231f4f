"""Lesson 2's "Your function": a typed f(x, y) over a typed domain as the landscape, bad input
refused with a message and nothing else changed, the link's `fn` and `dom`, and "Open in
lesson 3"."""

import html
import time

import numpy as np
import pytest

pn = pytest.importorskip("panel")

import circuits  # noqa: E402
import optimizers  # noqa: E402
from app import descent_figures  # noqa: E402
from app.descent import (  # noqa: E402
    CUSTOM,
    DEFAULT_DOMAIN,
    FUNCTION_LABEL,
    YOUR_FUNCTION,
    GradientDescent,
    check_function,
)
from app.lecture import Lecture  # noqa: E402
from app.main import LazyLessons  # noqa: E402
from app.url_state import decode, encode  # noqa: E402
from tests.app.test_server import live_server  # noqa: E402, F401  (a fixture)

WAVY = "sin(x)*cos(y) + 0.1*(x**2 + y**2)"


def type_function(lesson, text, domain=None):
    """What a student does: type into the boxes and press Enter in the f(x, y) box (typing
    into the f box first builds the domain boxes)."""
    lesson.function_input.param.update(value_input=text, value=text)
    if domain is not None:
        lesson._updating = True  # the boxes are staged; Enter applies them together
        try:
            for box, value in zip(lesson.domain_inputs, domain, strict=True):
                box.value = value
        finally:
            lesson._updating = False
    lesson.function_input.param.trigger("enter_pressed")


def message(lesson):
    return html.unescape(lesson.function_message.object)


def view_state(lesson):
    """Everything a refused function must leave alone."""
    return (lesson.landscape, lesson.function, tuple(lesson.domain), lesson.start,
            lesson.learning_rate, lesson.shown, lesson.landscape_select.value,
            lesson.image_source.data["image"][0].tobytes(),
            [np.asarray(xs).tobytes()
             for xs in lesson.contours.line_renderer.data_source.data["xs"]],
            lesson.path_sources[0].data["x"].tolist(), lesson.status.object,
            lesson.landscape_figure.title.text)


def lecture_page(query):
    lecture = Lecture(query)
    lazy = LazyLessons(lecture.lessons(), active=lecture.active_index)
    page = pn.Column(lecture.toolbar, lazy.tabs)
    lecture.attach(lazy, page)
    return lecture, lazy


# ------------------------------------------------------------------------ typing a function


def test_the_box_and_the_picker_are_labelled():
    lesson = GradientDescent()
    assert lesson.function_input.name == FUNCTION_LABEL == "Your function f(x, y)"
    # the domain boxes and buttons come when first needed: here the student starts typing
    assert lesson.domain_inputs is None and lesson.draw_function_button is None
    assert len(lesson.function_box.objects) == 2
    lesson.function_input.value_input = "x"
    assert [box.name for box in lesson.domain_inputs] == ["x from", "x to", "y from", "y to"]
    assert [box.value for box in lesson.domain_inputs] == list(DEFAULT_DOMAIN)
    assert lesson.landscape_select.options[YOUR_FUNCTION] == CUSTOM
    assert lesson.function == "" and lesson.domain == DEFAULT_DOMAIN


def test_typing_a_function_and_enter_makes_it_the_landscape_with_exact_gradients():
    lesson = GradientDescent()
    bowl_image = lesson.image_source.data["image"][0]
    type_function(lesson, "x**2 + 3*y**2", (-2, 6, -1, 3))
    assert message(lesson) == ""
    assert (lesson.landscape, lesson.function, lesson.domain) == (
        CUSTOM, "x**2 + 3*y**2", (-2.0, 6.0, -1.0, 3.0))
    assert lesson.landscape_select.value == CUSTOM
    assert isinstance(lesson.surface, circuits.CircuitLandscape)
    # The map shows the typed function over the typed domain.
    assert lesson.image_source.data["x"] == [-2.0] and lesson.image_source.data["dw"] == [8.0]
    assert lesson.landscape_figure.x_range.start == -2.0
    assert lesson.landscape_figure.y_range.end == 3.0
    assert not np.array_equal(lesson.image_source.data["image"][0], bowl_image)
    assert lesson.landscape_figure.title.text == "f(x, y) = x**2 + 3 * y**2"
    # Start and η are the typed landscape's own; a step is the bowl's: ∇f = (2x, 6y).
    start = np.array(lesson.start)
    lesson.step()
    path = np.column_stack([lesson.path_sources[0].data["x"], lesson.path_sources[0].data["y"]])
    assert np.allclose(path[1], start - 0.1 * np.array([2 * start[0], 6 * start[1]]),
                       rtol=0, atol=1e-14)
    assert "step <b>1</b>" in lesson.status.object


def test_the_draw_button_applies_the_boxes_too():
    lesson = GradientDescent()
    lesson.function_input.param.update(value_input=WAVY, value=WAVY)
    lesson.draw_function_button.clicks += 1
    assert (lesson.landscape, lesson.function) == (CUSTOM, WAVY)


def test_path_race_loss_plot_and_csv_work_on_a_typed_function():
    lesson = GradientDescent(optimizer="adam", learning_rate=0.3)
    type_function(lesson, WAVY)
    lesson.learning_rate = 0.3
    lesson.race_choice.value = ["momentum"]
    lesson.shown = 20
    run = optimizers.descend(circuits.to_landscape(WAVY), optimizers.get("adam", lr=0.3),
                             np.array(lesson.start), steps=100)
    assert np.array_equal(lesson.runs[0].points, run.points)
    assert len(lesson.path_sources[1].data["x"]) == 21  # the racer
    assert lesson.loss_sources[0].data["loss"].tolist() == run.losses[:21].tolist()
    assert lesson.loss_figure.yaxis[0].axis_label == "loss"  # no known minimum: linear axis
    rows = lesson.path_rows()
    assert len(rows) == 2 * 21 and rows[20][4] == "adam" and rows[21][4] == "momentum"
    assert float(rows[20][3]) == run.losses[20]


def test_picking_a_registered_landscape_and_back_to_your_function():
    lesson = GradientDescent()
    type_function(lesson, WAVY)
    lesson.landscape_select.value = "booth"
    assert (lesson.landscape, lesson.function) == ("booth", "")
    assert lesson.image_source.data["image"][0] is descent_figures.landscape_picture("booth").image
    lesson.landscape_select.value = CUSTOM  # the box still holds the function
    assert (lesson.landscape, lesson.function) == (CUSTOM, WAVY)


def test_picking_your_function_with_an_empty_box_says_so_and_keeps_the_map():
    lesson = GradientDescent()
    before = view_state(lesson)
    lesson.landscape_select.value = CUSTOM
    assert "Type a function of x and y" in message(lesson)
    assert lesson.landscape_select.value == "bowl"
    assert view_state(lesson) == before


def test_a_new_domain_applies_at_once_while_the_function_is_shown():
    lesson = GradientDescent()
    type_function(lesson, WAVY)
    lesson.domain_inputs[1].value = 8.0
    assert lesson.domain == (-5.0, 8.0, -5.0, 5.0)
    assert lesson.landscape_figure.x_range.end == 8.0
    lesson.domain_inputs[0].value = 9.0  # x from > x to: refused, the box keeps it
    assert "“x to” must be larger than “x from”" in message(lesson)
    assert lesson.domain == (-5.0, 8.0, -5.0, 5.0)


BAD_FUNCTIONS = {
    "syntax": ("x**2 +", "syntax error", "column"),
    "unknown name": ("x + q", "q is neither", "column 5"),
    "import": ("__import__('os')", "not allowed", "column"),
    "huge exponent": ("x**1000", "exponent 1000 is too large", "column"),
    "10 kB": ("x+" * 5000 + "x", "at most 300 characters", "10001"),
    "empty": ("", "Type a function of x and y", ""),
    "log(x)": ("log(x) + y**2", "where log(x) is NaN", "(x, y) = (-5, -5)"),
    "1/x": ("1/x + y**2", "where 1 / x is infinite", "(x, y) = (0, -5)"),
    "sqrt(x)": ("sqrt(x)", "where sqrt(x) is NaN", "Choose a domain where f is defined"),
    "overflow": ("exp(exp(exp(x)))", "is infinite", "(x, y) = (1.94"),
    "too large": ("1e25 * x**10", "too large to draw", "(x, y) = (-5"),
}


@pytest.mark.parametrize("kind", list(BAD_FUNCTIONS))
def test_bad_input_shows_what_and_where_fast_and_the_previous_landscape_stays(kind):
    text, what, where = BAD_FUNCTIONS[kind]
    lesson = GradientDescent()
    type_function(lesson, WAVY)
    lesson.step()
    before = view_state(lesson)
    started = time.perf_counter()
    type_function(lesson, text)
    elapsed = time.perf_counter() - started
    assert what in message(lesson) and where in message(lesson)
    assert view_state(lesson) == before
    assert elapsed < 0.05, f"{elapsed * 1000:.1f} ms"


BAD_DOMAINS = {
    "inverted": ((5, -5, -5, 5), "“x to” must be larger than “x from”"),
    "zero width": ((-5, 5, 2, 2), "“y to” must be larger than “y from”"),
    "NaN": ((float("nan"), 5, -5, 5), "“x from” must be a finite number"),
    "inf": ((-5, float("inf"), -5, 5), "“x to” must be a finite number"),
    "empty box": ((-5, 5, None, 5), "type a number for “y from”"),
    "far away": ((-5, 5, -5, 1e9), "“y to” must lie between -1000 and 1000"),
}


@pytest.mark.parametrize("kind", list(BAD_DOMAINS))
def test_a_bad_domain_shows_which_number_and_nothing_changes(kind):
    domain, what = BAD_DOMAINS[kind]
    lesson = GradientDescent()
    before = view_state(lesson)
    type_function(lesson, WAVY, domain)
    assert what in message(lesson)
    assert view_state(lesson) == before


def test_a_domain_where_log_is_defined_draws_it_and_a_path_into_x_below_0_diverges():
    lesson = GradientDescent()
    type_function(lesson, "log(x) + y**2", (0.5, 5, -2, 2))
    assert message(lesson) == "" and lesson.landscape == CUSTOM
    image = lesson.image_source.data["image"][0]
    assert np.isfinite(image).all()
    assert np.isfinite([lesson.linear_mapper.low, lesson.linear_mapper.high]).all()
    for xs in lesson.contours.line_renderer.data_source.data["xs"]:
        assert not np.isinf(xs).any()  # NaN separates the pieces of one contour line
    # ∂f/∂x = 1/x: from x = 0.6 with η = 1 the first step lands at x = 0.6 − 1/0.6 < 0,
    # where log is undefined: the run diverges (descend's rule) and the status says so.
    lesson.start = (0.6, 1.0)
    lesson.learning_rate = 1.0
    lesson.shown = 5
    assert lesson.runs[0].diverged_at == 1
    assert "diverged at step 1" in lesson.status.object
    assert "infinite or undefined" in lesson.status.object
    for source in (lesson.path_sources[0], lesson.loss_sources[0]):
        values = np.concatenate([np.asarray(v, dtype=float) for v in source.data.values()])
        assert not np.isinf(values).any()
    low, high = lesson.loss_figure.y_range.start, lesson.loss_figure.y_range.end
    assert np.isfinite([low, high]).all()
    assert "diverged at step 1" in lesson.status_text()


def test_a_constant_function_draws_with_a_usable_colour_range():
    lesson = GradientDescent()
    type_function(lesson, "2")
    assert message(lesson) == ""
    assert lesson.linear_mapper.low < lesson.linear_mapper.high


def test_pictures_of_typed_functions_are_cached_in_a_bounded_lru_and_read_only():
    descent_figures.function_picture.cache_clear()
    assert descent_figures.function_picture.cache_info().maxsize == (
        descent_figures.FUNCTION_PICTURES) <= 64
    first, second = GradientDescent(), GradientDescent()
    type_function(first, WAVY)
    type_function(second, WAVY)
    info = descent_figures.function_picture.cache_info()
    assert info.misses == 1 and info.hits >= 1
    image = first.image_source.data["image"][0]
    assert image is second.image_source.data["image"][0] and not image.flags.writeable
    assert first.surface is not second.surface  # each session evaluates its own circuit
    for k in range(descent_figures.FUNCTION_PICTURES + 10):
        check_function(f"x**2 + {k}*y**2")
    assert (descent_figures.function_picture.cache_info().currsize
            == descent_figures.FUNCTION_PICTURES)


# ------------------------------------------------------------------------ the lesson's link


def test_settings_hold_the_function_and_domain_and_rebuild_the_same_view():
    lesson = GradientDescent()
    type_function(lesson, WAVY, (-3, 4, -2, 5))
    lesson.start = (1.5, -1.0)
    lesson.learning_rate = 0.05
    lesson.shown = 7
    settings = lesson.settings()
    assert settings == {"landscape": CUSTOM, "function": WAVY, "domain": (-3.0, 4.0, -2.0, 5.0),
                        "learning_rate": 0.05, "start": (1.5, -1.0), "shown": 7}
    rebuilt = GradientDescent.from_settings(settings)
    assert rebuilt.settings() == settings
    assert np.array_equal(rebuilt.runs[0].points, lesson.runs[0].points)
    assert rebuilt.function_input.value == WAVY
    assert [box.value for box in rebuilt.domain_inputs] == [-3.0, 4.0, -2.0, 5.0]
    rebuilt.apply_settings({})
    assert rebuilt.settings() == {} and rebuilt.landscape == "bowl"


def test_a_link_round_trip_restores_the_typed_function_start_and_eta():
    lecture, _lazy = lecture_page("tab=descent")
    lesson = lecture.built("descent")
    type_function(lesson, "(1 - x)**2 + 100*(y - x**2)**2", (-2, 2, -1, 3))
    lesson.start = (-1.5, 2.0)
    lesson.learning_rate = 0.001
    lesson.shown = 12
    query = lecture.share.query
    assert "fn=" in query and "dom=-2,2,-1,3" in query and "landscape" not in query
    again, _ = lecture_page(query)
    restored = again.built("descent")
    assert not again.notice.visible
    assert (restored.landscape, restored.function, restored.domain) == (
        CUSTOM, "(1 - x)**2 + 100*(y - x**2)**2", (-2.0, 2.0, -1.0, 3.0))
    assert (restored.start, restored.learning_rate, restored.shown) == ((-1.5, 2.0), 0.001, 12)
    assert np.array_equal(restored.runs[0].points, lesson.runs[0].points)


def test_fn_and_dom_encode_and_decode():
    state = decode("fn=x**2%2B3*y**2&dom=-1,1,-2,2&start=0.5,1&lr=0.2&tab=descent")
    assert state.problems == []
    assert state.lessons["descent"] == {
        "landscape": CUSTOM, "function": "x**2+3*y**2", "domain": (-1.0, 1.0, -2.0, 2.0),
        "start": (0.5, 1.0), "learning_rate": 0.2}
    assert decode(encode(state)).lessons == state.lessons


HOSTILE_FN = {
    "import": "fn=__import__(%27os%27).system(%27ls%27)",
    "syntax": "fn=x%2B%2B%2B(",
    "unknown name": "fn=x*secret",
    "huge exponent": "fn=x**1000",
    "long": "fn=" + "x%2B" * 120 + "x",
    "empty": "fn=",
    "not finite": "fn=log(x)",
    "script": "fn=%3Cscript%3Ealert(1)%3C/script%3E",
    "bad domain": "fn=x&dom=5,-5,nan,1e999",
    "domain without fn": "dom=-1,1,-1,1",
    "too deep": "fn=" + "sin(" * 60 + "x" + ")" * 60,
}


@pytest.mark.parametrize("kind", list(HOSTILE_FN))
def test_hostile_fn_values_give_a_problem_and_never_echo_it(kind):
    state = decode(HOSTILE_FN[kind] + "&tab=descent")
    assert state.problems, kind
    text = " ".join(state.problems)
    assert "<" not in text and "os" not in text.split() and "secret" not in text
    if kind == "bad domain":  # the function itself is fine: drawn over the default domain
        assert state.lessons["descent"] == {"landscape": CUSTOM, "function": "x"}
    else:
        assert state.lessons["descent"] == {}


@pytest.mark.parametrize("kind", list(HOSTILE_FN))
def test_a_page_with_a_hostile_fn_opens_lesson_2_on_its_default_with_a_notice(kind):
    lecture, lazy = lecture_page(HOSTILE_FN[kind] + "&tab=descent")
    lesson = lecture.built("descent")
    assert lazy.tabs.active == 1 and lecture.notice.visible
    assert lesson.landscape == ("custom" if kind == "bad domain" else "bowl")
    assert lesson.domain == DEFAULT_DOMAIN


# ------------------------------------------------------------------------ open in lesson 3


def test_open_in_lesson_3_shows_the_function_as_the_circuit_and_switches_tab():
    lecture, lazy = lecture_page("tab=descent")
    lesson = lecture.built("descent")
    type_function(lesson, WAVY)
    lesson.shown = 3
    point = lesson.runs[0].points[3]
    lesson.open_circuit_button.clicks += 1
    assert lazy.tabs.active == 2
    circuit = lecture.built("backprop")
    assert circuit.expression == WAVY and circuit.expression_input.value == WAVY
    assert circuit.values == {"x": point[0], "y": point[1]}
    assert circuit.circuit.forward(x=point[0], y=point[1]) == pytest.approx(
        lesson.runs[0].losses[3], rel=1e-15)
    assert decode(lecture.share.query).lessons["backprop"]["expression"] == WAVY


def test_open_in_lesson_3_uses_the_box_when_no_function_is_drawn_yet():
    lecture, lazy = lecture_page("tab=descent")
    lesson = lecture.built("descent")
    lesson.function_input.param.update(value_input="relu(x) * y", value="relu(x) * y")
    lesson.open_circuit_button.clicks += 1
    assert lazy.tabs.active == 2
    assert lecture.built("backprop").expression == "relu(x) * y"
    assert lesson.landscape == "bowl"  # lesson 2 itself did not change


def test_open_in_lesson_3_with_an_empty_box_only_says_so():
    lecture, lazy = lecture_page("tab=descent")
    lesson = lecture.built("descent")
    lesson.function_input.value_input = "x"  # typed, then erased: the buttons are there
    lesson.function_input.value_input = ""
    lesson.open_circuit_button.clicks += 1
    assert lazy.tabs.active == 1 and lecture.built("backprop") is None
    assert "Type a function of x and y" in message(lesson)


def test_a_served_page_with_each_hostile_fn_loads_lesson_2_without_a_server_error(
        live_server, caplog):  # noqa: F811  (the fixture imported above)
    from benchmarks.wsclient import BokehSession
    from tests.reliability.conftest import run  # a loop of its own (Playwright may hold one)

    _server, url = live_server
    names = ["landscape-figure", "landscape-image", "landscape-contours", "landscape-path",
             "landscape-status", "landscape-trajectory"]

    async def open_one(query):
        async with await BokehSession.open(f"{url}?tab=descent&{query}") as session:
            await session.ready(names)
            assert not session.errors
            start = session.get(session.find(name="landscape-start"))["data"]
            notices = [m["attributes"].get("text", "") for m in session.models.values()]
            return ([float(start["x"][0]), float(start["y"][0])],
                    any("could not be used" in str(text) for text in notices),
                    session.find(title=FUNCTION_LABEL) is not None)

    for kind, query in HOSTILE_FN.items():
        start, notice, box = run(open_one(query))
        assert box and notice, kind
        if kind != "bad domain":
            assert start == [4.0, 3.0], kind
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert errors == []


def test_hide_function_hides_the_box_the_domain_and_its_buttons():
    lecture, _lazy = lecture_page("tab=descent&hide=function")
    lesson = lecture.built("descent")
    assert not lesson.function_box.visible
    assert lesson.landscape_select.visible  # the picker stays


def test_switching_to_a_registered_landscape_writes_no_fn_or_dom_into_the_link():
    lecture, _lazy = lecture_page("tab=descent&fn=x*y&dom=-1,1,-1,1")
    lesson = lecture.built("descent")
    assert "fn=x%2Ay" in lecture.share.query and "dom=-1,1,-1,1" in lecture.share.query
    lesson.landscape_select.value = "booth"
    assert lecture.share.query == "tab=descent&landscape=booth"
    assert lesson.function == "" and lesson.settings() == {"landscape": "booth"}


def test_a_long_function_gets_a_short_map_title_and_the_formula_beside_the_map():
    lesson = GradientDescent()
    type_function(lesson, "x**2 + y**2")
    assert lesson.landscape_figure.title.text == "f(x, y) = x**2 + y**2"
    type_function(lesson, WAVY)
    assert lesson.landscape_figure.title.text == "Your function f(x, y)"
    assert "sin(x) * cos(y) + 0.1 * (x**2 + y**2)" in lesson.landscape_info.object
    assert "sin" in lesson.landscape_formula.object


def test_a_bad_function_or_domain_set_in_code_is_refused_like_a_typed_one():
    lesson = GradientDescent()
    type_function(lesson, WAVY)
    before = view_state(lesson)
    lesson.function = "log(x)"
    assert "where log(x) is NaN" in message(lesson)
    lesson.domain = (1.0, 1.0, 0.0, 1.0)
    assert "“x to” must be larger" in message(lesson)
    lesson.param.update(landscape="bowl", function="x**")  # a registered landscape: "" wins
    assert (lesson.landscape, lesson.function) == ("bowl", "")
    lesson.param.update(landscape=CUSTOM, function="")
    assert "Type a function" in message(lesson)
    assert lesson.landscape == "bowl" and lesson.landscape_select.value == "bowl"
    type_function(lesson, WAVY)
    assert view_state(lesson)[:7] == before[:7]


def test_open_in_lesson_3_without_a_lesson_3_on_the_page_says_so():
    lesson = GradientDescent()  # a notebook: no lecture answers
    type_function(lesson, "x*y")
    lesson.open_circuit_button.clicks += 1
    assert "Lesson 3 is not on this page" in message(lesson)
    assert "Backpropagation.from_settings({'expression': 'x*y'})" in message(lesson)
    assert lesson.handoff is None
    lecture, lazy = lecture_page("tab=descent&hide=backprop")
    hidden = lecture.built("descent")
    type_function(hidden, "x*y")
    hidden.open_circuit_button.clicks += 1
    assert "Lesson 3 is not on this page" in message(hidden) and lazy.tabs.active == 1
