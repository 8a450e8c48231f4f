"""The page on a phone (390×844 CSS px, touch, device scale 3) and on a projector (1024×768,
presentation mode): nothing scrolls sideways, text is readable, the landscapes keep an equal
x/y scale (a circle stays a circle) and a finger tap moves the start."""

import pytest

from tests.ui.conftest import PHONE, model_property, wait_for_data, wait_for_models

PROJECTOR = dict(viewport={"width": 1024, "height": 768})
DEVICES = {"phone": (PHONE, ""), "projector": (PROJECTOR, "&present=1")}
MAIN_FIGURES = {"derivative": "derivative-figure", "descent": "landscape-figure",
                "backprop": "circuit-figure", "stochastic": "minibatch-figure"}
LANDSCAPES = {"descent": ["landscape-figure"], "stochastic": ["minibatch-figure"]}
SCROLLED_TO = {"derivative": ["error-figure", "descent1d-figure", "secant-figure"]}
"""Lesson 1's parts built when scrolled to (app/reveal.py): they must fit too."""


@pytest.fixture
def device_page(browser, request):
    """A page in a fresh context of the device named by the test's `device` parameter."""
    options, _query = DEVICES[request.node.callspec.params["device"]]
    context = browser.new_context(**options)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()


def open_lesson(page, server_url, device, tab, names=()):
    page.goto(f"{server_url}?tab={tab}{DEVICES[device][1]}")
    wait_for_models(page, [MAIN_FIGURES[tab], *names])
    # The figures are laid out once their views exist and have a frame.
    page.wait_for_function(
        """name => {
            const fig = Bokeh.documents[0].get_model_by_name(name);
            const view = Bokeh.index.find_one(fig);
            return view != null && view.frame.bbox.width > 0 && view.frame.bbox.height > 0;
        }""",
        arg=MAIN_FIGURES[tab],
    )


def page_width(page):
    """How wide the page is drawn, against the device's width (CSS px). Without a working
    viewport a phone lays the page out wider and shrinks it to fit."""
    return page.evaluate("""() => ({scroll: document.documentElement.scrollWidth,
                                     inner: window.innerWidth, screen: screen.width})""")


def pixels_per_unit(page, name):
    """The figure's frame: px per data unit along x and along y."""
    return page.evaluate(
        """name => {
            const fig = Bokeh.documents[0].get_model_by_name(name);
            const frame = Bokeh.index.find_one(fig).frame.bbox;
            return {x: frame.width / (fig.x_range.end - fig.x_range.start),
                    y: frame.height / (fig.y_range.end - fig.y_range.start)};
        }""",
        name,
    )


@pytest.mark.parametrize("tab", sorted(MAIN_FIGURES))
@pytest.mark.parametrize("device", sorted(DEVICES))
def test_nothing_scrolls_sideways(device_page, server_url, device, tab):
    open_lesson(device_page, server_url, device, tab, SCROLLED_TO.get(tab, ()))
    width = page_width(device_page)
    expected = DEVICES[device][0]["viewport"]["width"]
    assert width["inner"] == expected, width  # the page is laid out at the device's width
    assert width["scroll"] <= width["inner"], width
    assert device_page.errors == []


@pytest.mark.parametrize("tab", sorted(LANDSCAPES))
@pytest.mark.parametrize("device", sorted(DEVICES))
def test_landscapes_have_an_equal_x_and_y_scale(device_page, server_url, device, tab):
    open_lesson(device_page, server_url, device, tab)
    for name in LANDSCAPES[tab]:
        scale = pixels_per_unit(device_page, name)
        assert scale["x"] == pytest.approx(scale["y"], rel=0.05), (name, scale)


@pytest.mark.parametrize("tab", sorted(MAIN_FIGURES))
@pytest.mark.parametrize("device", ["phone"])
def test_body_text_is_at_least_14_px_on_a_phone(device_page, server_url, device, tab):
    """The size text is drawn at on the phone's screen: its computed size, times how much the
    page is shrunk to fit (a page laid out 1224 px wide on a 390 px phone shows 16 px text at
    5 px)."""
    open_lesson(device_page, server_url, device, tab)
    sizes = device_page.evaluate("""() => {
        const shrink = screen.width / Math.max(window.innerWidth, screen.width);
        const px = el => parseFloat(getComputedStyle(el).fontSize) * shrink;
        const texts = [];
        (function walk(root) {
            for (const el of root.querySelectorAll('p, li')) {
                if (el.getClientRects().length && el.textContent.trim().length > 40)
                    texts.push(px(el));
            }
            for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
        })(document);
        return {body: px(document.body), texts};
    }""")
    assert sizes["body"] >= 14, sizes
    assert sizes["texts"] and min(sizes["texts"]) >= 14, sizes


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_a_finger_tap_moves_the_start(device_page, server_url, device):
    open_lesson(device_page, server_url, device, "descent", ["landscape-start"])
    target = device_page.evaluate("""() => {
        const fig = Bokeh.documents[0].get_model_by_name('landscape-figure');
        const view = Bokeh.index.find_one(fig);
        const canvas = view.canvas_view.el.getBoundingClientRect();
        return {x: canvas.left + view.frame.x_scale.compute(-2),
                y: canvas.top + view.frame.y_scale.compute(-3),
                per_px: (fig.x_range.end - fig.x_range.start) / view.frame.bbox.width};
    }""")
    if device == "phone":
        device_page.touchscreen.tap(target["x"], target["y"])
    else:
        device_page.mouse.click(target["x"], target["y"])
    tolerance = 2 * target["per_px"]
    wait_for_data(device_page, "landscape-start",
                  f"Math.abs(d.x[0] + 2) < {tolerance} && Math.abs(d.y[0] + 3) < {tolerance}")
    start = model_property(device_page, "landscape-start", "data")
    assert start["x"][0] == pytest.approx(-2, abs=tolerance)
    assert device_page.errors == []
