"""Browser tests of the lecture tools: links, keyboard, presentation mode, export, notices."""

import csv
import io
import re
from urllib.parse import urlparse

import numpy as np
import pytest
from playwright.sync_api import expect

import landscapes
import optimizers
from tests.ui.conftest import (
    model_property,
    open_page,
    open_tab,
    screenshot,
    set_widget_value,
    wait_for_data,
    wait_for_models,
    widget_value,
)

DESCENT_MODELS = ["landscape-figure", "landscape-path"]


def path_points(page):
    data = model_property(page, "landscape-path", "data")
    return [data["x"], data["y"]]


def choose_preset(page, name):
    """Pick a preset in the "Lesson presets" menu (the Select whose options hold it)."""
    found = page.evaluate(
        """name => {
            for (const m of Bokeh.documents[0]._all_models.values()) {
                const options = Array.isArray(m.options) ? m.options.flat() : [];
                if ('value' in m && options.includes(name)) { m.value = name; return true; }
            }
            return false;
        }""",
        name,
    )
    assert found


def active_tab(page):
    return page.locator(".bk-tab.bk-active").first.inner_text()


def link_text(page):
    return page.locator("input.share-link").input_value()


def test_link_round_trip_opens_the_same_view_in_a_fresh_browser(page, server_url, browser):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_page(page, server_url)
    open_tab(page, "Gradient descent", DESCENT_MODELS)
    set_widget_value(page, "Optimizer", "momentum")
    wait_for_models(page, ["landscape-path"])
    expect(page.locator("input.share-link")).to_have_value(re.compile("optimizer=momentum"))
    set_widget_value(page, "Type η", 0.03)
    expect(page.locator("input.share-link")).to_have_value(re.compile("lr=0.03"))
    page.get_by_role("button", name="Step downhill").click()
    page.get_by_role("button", name="Step downhill").click()
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 4")
    expect(page.locator("input.share-link")).to_have_value(re.compile("at=3"))
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Link copied")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == link_text(page)
    assert urlparse(copied).query == urlparse(page.url).query  # the address bar agrees
    points = path_points(page)

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        fresh = context.new_page()
        fresh.goto(copied)
        wait_for_models(fresh, DESCENT_MODELS)
        assert active_tab(fresh) == "Gradient descent"
        wait_for_data(fresh, "landscape-path", "d.x.length === 4")
        assert widget_value(fresh, "Type η") == 0.03
        assert widget_value(fresh, "Optimizer") == "momentum"
        assert path_points(fresh) == points
        assert link_text(fresh) == copied
    finally:
        context.close()
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []


def test_keyboard_space_steps_arrows_walk_history_and_digits_switch_tabs(page, server_url):
    open_page(page, server_url)
    page.keyboard.press("2")
    expect(page.locator(".bk-tab.bk-active")).to_have_text("Gradient descent")
    wait_for_models(page, DESCENT_MODELS)
    page.keyboard.press("Space")
    wait_for_data(page, "landscape-path", "d.x.length === 2 && d.x[1] === 3.2 && d.y[1] === 1.2")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    wait_for_data(page, "landscape-path", "d.x.length === 4")
    page.keyboard.press("ArrowLeft")
    wait_for_data(page, "landscape-path", "d.x.length === 3")
    live = page.locator("[aria-live='polite'].live-status")
    expect(live).to_have_text(re.compile(r"step 2, point \(x, y\) = \(2\.56, 0\.48\), loss"))
    page.keyboard.press("r")
    wait_for_data(page, "landscape-path", "d.x.length === 1")
    # Keys typed into a field stay in the field.
    field = page.get_by_label("Type η")
    field.click()
    page.keyboard.press("3")
    assert active_tab(page) == "Gradient descent"
    field.blur()
    page.keyboard.press("3")
    expect(page.locator(".bk-tab.bk-active")).to_have_text("Backpropagation")
    page.keyboard.press("4")
    expect(page.locator(".bk-tab.bk-active")).to_have_text("Stochastic & adaptive")
    wait_for_models(page, ["minibatch-path-mini"])
    page.keyboard.press("Space")
    wait_for_data(page, "minibatch-path-mini", "d.x.length === 2")
    page.keyboard.press("1")
    expect(page.locator(".bk-tab.bk-active")).to_have_text("Derivative")
    assert page.recorder.console_errors == []


def test_question_mark_shows_the_keyboard_overlay(page, server_url):
    open_page(page, server_url)
    overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(overlay).to_be_hidden()
    page.keyboard.press("?")
    expect(overlay).to_be_visible()
    for text in ("Space", "play / pause", "open lesson 1 – 4"):
        expect(overlay).to_contain_text(text)
    screenshot(page, "lecture-keyboard-overlay")
    page.keyboard.press("Space")  # keys do nothing while the help is open
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(overlay).to_be_visible()


def contrast(rgb_text, background_text="rgb(255, 255, 255)"):
    def luminance(rgb):
        channels = []
        for c in rgb:
            c = c / 255
            channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    rgb = [int(v) for v in re.findall(r"\d+", rgb_text)[:3]]
    background = [int(v) for v in re.findall(r"\d+", background_text)[:3]]
    high, low = sorted((luminance(rgb), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_colors_and_sizes(page):
    """Colour and size of text in the open lesson (the lesson's status and intro)."""
    return page.evaluate(
        """() => {
            const out = [];
            const background = (el) => {
                while (el) {
                    const c = getComputedStyle(el).backgroundColor;
                    if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
                    const root = el.getRootNode();
                    el = el.parentElement || (root && root.host) || null;
                }
                return 'rgb(255, 255, 255)';
            };
            const walk = (root) => {
                for (const el of root.querySelectorAll('*')) {
                    if (el.shadowRoot) walk(el.shadowRoot);
                    const own = [...el.childNodes].some(
                        n => n.nodeType === 3 && n.textContent.trim().length > 3);
                    if (!own || el.getClientRects().length === 0) continue;
                    const s = getComputedStyle(el);
                    out.push([s.color, parseFloat(s.fontSize), el.textContent.trim(),
                              background(el)]);
                }
            };
            walk(document);
            return out;
        }""")


def test_presentation_mode_toggle_and_flag(page, server_url):
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_page(page, server_url)
    open_tab(page, "Gradient descent", DESCENT_MODELS)
    title_size = page.evaluate(
        "() => Bokeh.documents[0].get_model_by_name('landscape-figure').title.text_font_size")
    assert title_size == "15px"
    page.get_by_role("button", name="Presentation mode").click()
    page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('landscape-figure')"
        ".title.text_font_size === '22px'")
    expect(page.locator("input.share-link")).to_be_hidden()  # the tools fold away
    assert "present=1" in page.url
    screenshot(page, "lecture-presentation-1920")
    texts = text_colors_and_sizes(page)
    lesson_texts = [t for t in texts if "Gradient descent repeats one move" in t[2]]
    assert lesson_texts and all(size >= 18 for _color, size, _t, _bg in lesson_texts)
    low = [(c, bg, t[:30]) for c, _s, t, bg in texts if contrast(c, bg) < 4.5]
    assert low == []
    page.get_by_role("button", name="Presentation mode").click()
    page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('landscape-figure')"
        ".title.text_font_size === '15px'")
    expect(page.locator("input.share-link")).to_be_visible()


def test_present_flag_in_the_link_starts_presenting(page, server_url):
    page.goto(server_url + "?present=1&tab=descent")
    wait_for_models(page, DESCENT_MODELS)
    expect(page.get_by_role("button", name="Presentation mode")).to_have_class(
        re.compile("active|bk-active"))
    assert page.evaluate(
        "() => Bokeh.documents[0].get_model_by_name('landscape-figure').title.text_font_size"
    ) == "22px"


def test_csv_download_equals_descend(page, server_url):
    page.goto(server_url + "?tab=descent&race=adam&lr=0.05")
    wait_for_models(page, DESCENT_MODELS)
    for _ in range(5):
        page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 6")
    expect(page.locator("input.share-link")).to_have_value(re.compile("at=5"))
    with page.expect_download() as info:
        page.get_by_role("button", name="Download path (CSV)").click()
    download = info.value
    assert download.suggested_filename == "downhill-gradient-descent.csv"
    rows = list(csv.reader(io.StringIO(open(download.path()).read())))
    assert rows[0] == ["step", "x", "y", "loss", "optimizer", "lr"]
    bowl = landscapes.get("bowl")
    for block, name in enumerate(["sgd", "adam"]):
        run = optimizers.descend(bowl, optimizers.get(name, lr=0.05), np.array(bowl.start),
                                 steps=100)
        got = rows[1 + 6 * block: 7 + 6 * block]
        assert [int(r[0]) for r in got] == list(range(6))
        assert {r[4] for r in got} == {name} and {float(r[5]) for r in got} == {0.05}
        np.testing.assert_array_equal([[float(r[1]), float(r[2])] for r in got],
                                      run.points[:6])
        np.testing.assert_array_equal([float(r[3]) for r in got], run.losses[:6])


def test_png_export_of_the_open_figure(page, server_url):
    page.goto(server_url + "?tab=descent")
    wait_for_models(page, DESCENT_MODELS)
    with page.expect_download() as info:
        page.get_by_role("button", name="Save figure (PNG)").click()
    download = info.value
    assert download.suggested_filename == "downhill-landscape-figure.png"
    with open(download.path(), "rb") as data:
        assert data.read(8) == b"\x89PNG\r\n\x1a\n"
    assert page.recorder.external_requests == []


def test_preset_menu_applies_a_worked_example(page, server_url):
    open_page(page, server_url)
    choose_preset(page, "Bowl, η = 0.4: flies off")
    expect(page.locator(".bk-tab.bk-active")).to_have_text("Gradient descent")
    wait_for_models(page, DESCENT_MODELS)
    wait_for_data(page, "landscape-path",
                  "d.x.length === 21 && d.y[1] === -4.2 && Math.abs(d.y[2] - 5.88) < 1e-12")
    expect(page.locator("input.share-link")).to_have_value(re.compile("lr=0.4&at=20"))


HOSTILE = {
    "garbage": "?lr=abc&start=zz&tab=nowhere&%%%=1",
    "huge": "?tab=descent&lr=1e308&steps=99999999&start=1e300,1e300&seed=123456789",
    "nan": "?tab=descent&lr=nan&start=nan,1&w=NaN&hyper=momentum:nan",
    "script": "?tab=descent&landscape=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E"
              "&expr=%3Cimg%20src%3Dx%20onerror%3D%22window.pwned%3D1%22%3E"
              "&%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E=1",
    "long value": "?tab=descent&expr=" + "x%2B" * 300 + "x",
    "overlong link": "?tab=descent&lr=0." + "1" * 3000,
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_link_falls_back_to_defaults_with_a_notice(page, server_url, kind):
    page.goto(server_url + HOSTILE[kind])
    opens_descent = "tab=descent" in HOSTILE[kind] and kind != "overlong link"
    wait_for_models(page, ["landscape-figure"] if opens_descent else ["derivative-figure"])
    notice = page.get_by_text("This link had settings that could not be used")
    expect(notice).to_be_visible()
    if opens_descent:
        assert active_tab(page) == "Gradient descent"
        wait_for_data(page, "landscape-path", "d.x.length === 1 && d.x[0] === 4 && d.y[0] === 3")
        assert widget_value(page, "Type η") == 0.1
    else:
        assert active_tab(page) == "Derivative"
    assert page.evaluate("() => window.pwned") is None
    assert page.recorder.console_errors == []
    assert page.recorder.external_requests == []
    assert "<script" not in page.locator("body").inner_text()


def test_hidden_tab_and_controls_from_a_link(page, server_url):
    page.goto(server_url + "?hide=backprop,race,lr,tools&tab=descent")
    wait_for_models(page, DESCENT_MODELS)
    expect(page.locator(".bk-tab")).to_have_count(3)
    expect(page.locator(".bk-tab", has_text="Backpropagation")).to_have_count(0)
    expect(page.get_by_label("Type η")).to_be_hidden()
    expect(page.get_by_role("button", name="Download path (CSV)")).to_be_hidden()
    expect(page.get_by_role("button", name="Step downhill")).to_be_visible()
    page.keyboard.press("3")  # the third key still means lesson 3, which is hidden
    assert active_tab(page) == "Gradient descent"
    page.keyboard.press("4")
    expect(page.locator(".bk-tab.bk-active")).to_have_text("Stochastic & adaptive")

