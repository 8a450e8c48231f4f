"""Lecture tools without a browser: links build lessons, presets, keys, export, presenting."""

import csv
import io

import numpy as np
import pytest

pn = pytest.importorskip("panel")

import landscapes  # noqa: E402
import optimizers  # noqa: E402
from app.circuit_view import total_steps  # noqa: E402
from app.lecture import (  # noqa: E402
    LESSON_PRESETS,
    NO_TOOLS,
    PRESET_PROMPT,
    Lecture,
    apply,
    build_lesson,
    capture,
    paths_csv,
)
from app.main import LazyLessons, build_page  # noqa: E402
from app.url_state import decode, encode  # noqa: E402


def lecture_page(query):
    lecture = Lecture(query)
    lazy = LazyLessons(lecture.lessons(), active=lecture.active_index)
    page = pn.Column(lecture.toolbar, lazy.tabs)
    lecture.attach(lazy, page)
    return lecture, lazy, page


def test_a_link_builds_the_lessons_with_its_settings():
    lecture, lazy, _page = lecture_page(
        "tab=descent&landscape=booth&optimizer=momentum&hyper=momentum:0.5&race=adam"
        "&lr=0.02&start=1,-2&steps=40&shown=7")
    assert lazy.tabs.active == 1
    descent = lecture.built("descent")
    assert (descent.landscape, descent.optimizer, descent.learning_rate) == (
        "booth", "momentum", 0.02)
    assert descent.hyperparameters == {"momentum": 0.5}
    assert descent.racers == ["adam"] and descent.race_choice.value == ["adam"]
    assert descent.start == (1.0, -2.0) and (descent.steps, descent.shown) == (40, 7)
    assert len(descent.path_sources[0].data["x"]) == 8
    assert lecture.built("derivative") is None  # the other tabs are still lazy
    assert not lecture.notice.visible


def test_the_link_follows_the_lessons():
    lecture, lazy, _page = lecture_page("tab=descent")
    descent = lecture.built("descent")
    descent.learning_rate = 0.3
    descent.step()
    descent.step()
    assert lecture.share.query == "tab=descent&lr=0.3&at=2"
    lazy.tabs.active = 2
    circuit = lecture.built("backprop")
    circuit.sliders["x"].value = 1.5
    assert decode(lecture.share.query).lessons["backprop"]["inputs"]["x"] == 1.5
    assert decode(lecture.share.query).tab == "backprop"


def test_a_new_landscape_changes_several_settings_at_once_and_the_link_follows():
    lecture, _lazy, _page = lecture_page("tab=descent&lr=0.3")
    descent = lecture.built("descent")
    descent.landscape = "valley"  # resets start, η and steps shown together
    descent.race_choice.value = ["momentum", "adam"]
    assert lecture.share.query == "tab=descent&landscape=valley&race=momentum,adam"
    assert lecture.status.text.startswith("Gradient descent, SGD: step 0, point (x, y) = (-9, 2)")


def test_a_change_in_one_lesson_rereads_only_its_settings_and_the_link_is_whole(monkeypatch):
    """A tap or a slider move refreshes the link from the changed lesson's settings and the
    others' as last read (issue 14: every tap re-read every built lesson's settings)."""
    lecture, lazy, _page = lecture_page("tab=descent&lr=0.3")
    lazy.tabs.active = 0
    derivative = lecture.built("derivative")
    derivative.w = 1.25
    lazy.tabs.active = 1
    descent = lecture.built("descent")
    reads = []
    original = type(derivative).settings
    monkeypatch.setattr(type(derivative), "settings",
                        lambda self: reads.append(1) or original(self))
    descent.place_start(1.0, -2.0)
    descent.step()
    assert reads == []
    assert lecture.share.query == lecture.query()  # the same as reading every lesson
    assert decode(lecture.share.query).lessons["derivative"] == original(derivative)
    assert decode(lecture.share.query).lessons["descent"]["start"] == (1.0, -2.0)


@pytest.mark.parametrize("key", ["derivative", "descent", "backprop", "stochastic"])
def test_capture_then_build_gives_the_same_lesson(key):
    settings = {
        "derivative": {"w": -0.5, "h": 0.01, "descent_lr": 0.3, "descent_start": 5.0,
                       "descent_steps": 4},
        "descent": {"landscape": "himmelblau", "optimizer": "adam",
                    "hyperparameters": {"betas": (0.8, 0.9)}, "racers": ["sgd"],
                    "learning_rate": 0.05, "start": (1.0, 1.0), "steps": 50, "shown": 9,
                    "speed": 20},
        "backprop": {"expression": "relu(x*w + b)", "inputs": {"x": 2.0, "w": -1.0, "b": 0.5},
                     "upstream": 3.0},
        "stochastic": {"batch_size": 5, "learning_rate": 0.1, "seed": 3, "step": 12,
                       "follow": "SGD", "schedule": "Cosine", "clip": True, "clip_norm": 0.5,
                       "start": (1.0, 0.0), "race_learning_rate": 0.02, "race_steps": 60},
    }[key]
    lesson = build_lesson(key, settings)
    assert capture(key, lesson) == settings
    again = build_lesson(key, decode(encode(_only(key, settings))).lessons[key])
    assert capture(key, again) == settings


def _only(key, settings):
    from app.url_state import LinkState

    state = LinkState()
    state.lessons[key] = settings
    return state


def test_apply_returns_what_the_settings_leave_out_to_its_default():
    lesson = build_lesson("descent", {"landscape": "booth", "learning_rate": 0.02,
                                      "racers": ["adam"], "shown": 5})
    apply("descent", lesson, {"learning_rate": 0.4})
    assert capture("descent", lesson) == {"learning_rate": 0.4}


def test_presets_are_valid_links_with_the_lessons_numbers():
    for name, query in LESSON_PRESETS.items():
        state = decode(query)
        assert state.problems == [], name
        assert state.tab is not None
    lecture, lazy, _page = lecture_page("")
    lecture.presets.value = "Bowl, η = 0.4: flies off"
    descent = lecture.built("descent")
    assert lazy.tabs.active == 1 and lecture.presets.value == PRESET_PROMPT
    assert (descent.landscape, descent.learning_rate, descent.start) == ("bowl", 0.4, (4, 3))
    # y ← (1 − 6η)·y = −1.4·y: the path flies off
    ys = descent.runs[0].points[:4, 1]
    np.testing.assert_allclose(ys, [3.0, -4.2, 5.88, -8.232])
    lecture.presets.value = "(w − 3)², η = 0.1: w → 3"
    run = lecture.built("derivative").descent_run()
    np.testing.assert_allclose(run.points[:5, 0], [0, 0.6, 1.08, 1.464, 1.7712])
    lecture.presets.value = "Circuit (x + y)·z at (−2, 5, −4)"
    circuit = lecture.built("backprop")
    assert lazy.tabs.active == 2
    assert circuit.circuit.forward(**circuit.values) == -12
    assert circuit.values == {"x": -2, "y": 5, "z": -4}


def test_keyboard_commands_step_back_and_forward():
    lecture, lazy, _page = lecture_page("tab=descent")
    descent = lecture.built("descent")
    for command in ("step 1", "step 2", "forward 3", "back 4"):
        lecture.keyboard.command = command
    assert descent.shown == 2
    lecture.keyboard.command = "reset 5"
    assert descent.shown == 0
    lazy.tabs.active = 3
    stochastic = lecture.built("stochastic")
    lecture.keyboard.command = "forward 6"
    lecture.keyboard.command = "forward 7"
    lecture.keyboard.command = "back 8"
    assert stochastic.step == 1
    lazy.tabs.active = 0
    derivative = lecture.built("derivative")
    lecture.keyboard.command = "back 9"
    assert derivative.descent_steps == 9


def test_keyboard_commands_in_the_circuit():
    lecture, _lazy, _page = lecture_page("tab=backprop")
    circuit = lecture.built("backprop")
    lecture.keyboard.command = "reset 1"
    assert circuit.progress == 0
    lecture.keyboard.command = "forward 2"
    lecture.keyboard.command = "forward 3"
    lecture.keyboard.command = "back 4"
    assert circuit.progress == 1
    lecture.keyboard.command = "play 5"
    assert circuit.animating
    lecture.keyboard.command = "play 6"  # pressing P again stops and shows everything
    assert not circuit.animating and circuit.progress == total_steps(circuit.circuit)
    assert lecture.status.text.startswith("Backpropagation: step ")


def test_while_lesson_4_plays_the_link_waits_for_the_pause():
    lecture, _lazy, _page = lecture_page("tab=stochastic")
    stochastic = lecture.built("stochastic")
    stochastic.playing_box.value = True  # Play started in the browser (it animates there)
    assert stochastic.playing
    assert lecture.share.query == "tab=stochastic"
    stochastic.playing_box.value = False  # Pause in the browser: "stopped", then where
    stochastic.shown_input.value = 2
    assert lecture.share.query == "tab=stochastic&step4=2"
    assert lecture.status.text.startswith("Stochastic: step 2:")


def test_live_status_states_step_point_and_loss():
    lecture, _lazy, _page = lecture_page("tab=descent")
    lecture.built("descent").step()
    assert lecture.status.text == (
        "Gradient descent, SGD: step 1, point (x, y) = (3.2, 1.2), loss 14.56.")


def test_csv_equals_descend_output():
    lesson = build_lesson("descent", {"racers": ["adam"], "shown": 4, "learning_rate": 0.1})
    rows = list(csv.reader(io.StringIO(paths_csv("descent", lesson).read())))
    assert rows[0] == ["step", "x", "y", "loss", "optimizer", "lr"]
    bowl = landscapes.get("bowl")
    for offset, name in enumerate(["sgd", "adam"]):
        run = optimizers.descend(bowl, optimizers.get(name, lr=0.1), np.array([4.0, 3.0]),
                                 steps=100)
        block = rows[1 + 5 * offset: 6 + 5 * offset]
        assert [r[0] for r in block] == ["0", "1", "2", "3", "4"]
        assert all(r[4] == name and float(r[5]) == 0.1 for r in block)
        np.testing.assert_array_equal([[float(r[1]), float(r[2])] for r in block],
                                      run.points[:5])
        np.testing.assert_array_equal([float(r[3]) for r in block], run.losses[:5])


def test_a_hostile_link_gives_defaults_and_a_notice():
    lecture, lazy, _page = lecture_page(
        "tab=<script>alert(1)</script>&lr=nan&start=1e999,2&expr=" + "x" * 50 + "(")
    assert lazy.tabs.active == 0
    assert lecture.notice.visible
    assert "could not be used" in lecture.notice.object
    assert "<script>" not in lecture.notice.object
    lazy.tabs.active = 1
    descent = lecture.built("descent")
    assert (descent.learning_rate, descent.start) == (0.1, (4.0, 3.0))


def test_hidden_tabs_and_controls():
    lecture, lazy, _page = lecture_page("hide=backprop,race,lr,tools&tab=descent")
    assert lazy.titles == ["Derivative", "Gradient descent", "Stochastic & adaptive"]
    descent = lecture.built("descent")
    assert not descent.race_choice.visible and not descent.lr_slider.visible
    assert not descent.lr_input.visible and descent.optimizer_select.visible
    assert not lecture.tools.visible and lecture.bar.div.css_classes == [NO_TOOLS]
    assert "hide=backprop,race,lr,tools" in lecture.share.query


def test_presentation_mode_scales_figures_and_restores_them():
    lecture, _lazy, page = lecture_page("tab=descent")
    fig = lecture.built("descent").landscape_figure
    title, width = fig.title.text_font_size, fig.renderers[-1].glyph.line_width
    lecture.present_toggle.active = True
    assert "downhill-presenting" in page.css_classes
    assert fig.title.text_font_size == "22px" and title == "15px"
    assert fig.renderers[-1].glyph.line_width == pytest.approx(width * 1.8)
    assert "present=1" in lecture.share.query and not lecture.tools.visible
    assert lecture.bar.div.css_classes == [NO_TOOLS]  # the share part folds away, "?" stays
    lecture.present_toggle.active = False
    assert lecture.bar.div.css_classes == []
    assert fig.title.text_font_size == title
    assert fig.renderers[-1].glyph.line_width == width
    assert "downhill-presenting" not in page.css_classes


def test_the_present_flag_starts_in_presentation_mode():
    lecture, _lazy, page = lecture_page("present=1")
    assert lecture.present_toggle.active and "downhill-presenting" in page.css_classes
    assert lecture.built("derivative").slope_figure.title.text_font_size != "15px"


def test_build_page_outside_a_server_has_an_empty_link():
    page = build_page()
    assert page.lecture.link.problems == []
    assert page.lecture.share.query == ""


def test_the_toolbar_is_one_bokeh_pane():
    """Every Panel component costs the server ~2-4 ms on every new page: the tools, the link,
    its buttons, the keyboard and the live status are plain Bokeh models in one Bokeh pane
    (the bar: one Div with a data model), and the notice is on the page only when the link
    had problems."""
    from bokeh.document import Document
    from bokeh.models import Button, Div, Select, Toggle

    lecture = Lecture(None)
    assert lecture.toolbar.select(pn.viewable.Viewable) == [lecture.toolbar]
    assert isinstance(lecture.toolbar, pn.pane.Bokeh)
    root = lecture.toolbar.get_root(Document())
    divs = [m for m in root.select({"type": Div}) if "downhill-bar" in m.text]
    assert divs == [lecture.bar.div] and lecture.bar.state in lecture.bar.div.tags
    for text in ("share-link", "Copy link", "Save figure (PNG)", "live-status",
                 "Keyboard shortcuts", "keys-overlay"):
        assert text in lecture.bar.div.text
    assert [m.label for m in root.select({"type": Toggle})] == ["Presentation mode"]
    assert [m.label for m in root.select({"type": Button})] == ["Download path (CSV)"]
    assert list(root.select({"type": Select})) == [lecture.presets]
    bad_link = Lecture("lr=abc")
    assert bad_link.notice in bad_link.toolbar.select(pn.viewable.Viewable)


def test_download_sends_the_open_tabs_path_for_the_browser_to_save():
    from bokeh.events import ButtonClick

    lecture, lazy, _page = lecture_page("tab=descent&at=3")
    state = lecture.bar.state
    lecture.download._trigger_event(ButtonClick(lecture.download))
    assert state.files_sent == 1 and state.file_name == "downhill-gradient-descent.csv"
    assert state.file_text == paths_csv("descent", lecture.built("descent")).read()
    lazy.tabs.active = 2  # a circuit has no path: lesson 2's is sent
    lecture.download._trigger_event(ButtonClick(lecture.download))
    assert state.files_sent == 2 and state.file_name == "downhill-gradient-descent.csv"


def test_the_bar_carries_the_link_the_status_and_key_commands():
    lecture, lazy, _page = lecture_page("tab=descent")
    descent = lecture.built("descent")
    assert lecture.bar.state.query == lecture.share.query == "tab=descent"
    lecture.bar.state.command = "step 1"  # as the browser sets it
    assert descent.shown == 1
    assert lecture.bar.state.query == "tab=descent&at=1"
    assert lecture.bar.state.status == lecture.status.text == descent.status_text()


def test_a_served_page_installs_the_bars_browser_side_when_ready(monkeypatch):
    """The link, copy, PNG and keys need their script in the browser: on a server the bar
    registers it for Bokeh's document_ready, with the tab titles and buttons written in."""
    import json

    from bokeh.document import Document

    from app.keyboard import BUTTONS

    doc = Document()
    context = object()
    doc._session_context = lambda: context  # a server's document (it has a session)
    monkeypatch.setattr(pn.state, "curdoc", doc)
    Lecture(None)
    (ready,) = doc.callbacks.js_event_callbacks["document_ready"]
    assert "window.downhill_keydown" in ready.code and "copy_link" in ready.code
    assert json.dumps(BUTTONS) in ready.code and '"Stochastic & adaptive"' in ready.code
