"""A new page builds only its first lesson; each other lesson is built when its tab opens."""

import pytest

from app.lessons import Backpropagation, Derivative, GradientDescent, StochasticAdaptive
from app.main import build_page, is_placeholder
from tests.app.test_server import live_server  # noqa: F401  (a fixture)

KINDS = [Derivative, GradientDescent, Backpropagation, StochasticAdaptive]


def test_a_new_page_builds_only_the_first_lesson():
    lazy = build_page().lessons
    assert [lazy.is_built(i) for i in range(4)] == [True, False, False, False]
    assert isinstance(lazy.lesson(0), Derivative)
    for index in (1, 2, 3):
        placeholder = lazy.tabs[index]
        assert is_placeholder(placeholder)
    assert lazy.tabs._names == ["Derivative", "Gradient descent", "Backpropagation",
                                "Stochastic & adaptive"]


@pytest.mark.parametrize("index", [1, 2, 3])
def test_opening_a_tab_builds_its_lesson_once_and_shows_it(index):
    lazy = build_page().lessons
    lazy.tabs.active = index
    assert lazy.is_built(index)
    lesson = lazy.lesson(index)
    assert isinstance(lesson, KINDS[index])
    assert not is_placeholder(lazy.tabs[index])  # the placeholder is gone
    assert lazy.tabs.active == index
    lazy.tabs.active = 0
    lazy.tabs.active = index
    assert lazy.lesson(index) is lesson  # built once, kept when the tab is left
    assert [lazy.is_built(i) for i in range(4)] == [i in (0, index) for i in range(4)]


def test_lesson_builds_a_hidden_lesson_on_demand_without_switching_tabs():
    lazy = build_page().lessons
    descent = lazy.lesson(1)
    assert isinstance(descent, GradientDescent)
    assert lazy.tabs.active == 0
    assert not is_placeholder(lazy.tabs[1])


def test_two_pages_never_share_a_lazily_built_lesson():
    first, second = build_page().lessons, build_page().lessons
    first.tabs.active = second.tabs.active = 1
    assert first.lesson(1) is not second.lesson(1)
    assert first.lesson(1).landscape_figure is not second.lesson(1).landscape_figure


# ------------------------------------------------------------------ the lesson after onload


@pytest.fixture
def unloaded_document():
    """A document like a served page's before its browser said document_ready: Panel keeps
    its onload callbacks until then."""
    import gc

    from bokeh.document import Document
    from panel.io.state import set_curdoc, state

    doc = Document()
    state._loaded[doc] = False  # as for a served document whose browser has not said so
    with set_curdoc(doc):
        yield doc
    state._onload.pop(doc, None)
    state._loaded.pop(doc, None)
    gc.collect()


def test_on_a_server_the_open_tab_is_built_when_the_page_has_loaded(unloaded_document):
    from panel.io.state import state

    page = build_page()
    lazy = page.lessons
    assert [lazy.is_built(i) for i in range(4)] == [False] * 4
    assert all(is_placeholder(lazy.tabs[i]) for i in range(4))
    state._on_load(unloaded_document)  # what Panel does on document_ready
    assert [lazy.is_built(i) for i in range(4)] == [True, False, False, False]
    assert isinstance(lazy.lesson(0), Derivative)
    assert not is_placeholder(lazy.tabs[0])  # the placeholder is gone


def test_a_page_that_never_loads_is_not_kept_alive_by_its_onload_callback(unloaded_document):
    import gc
    import weakref

    from panel.io.state import state

    lazy = weakref.ref(build_page().lessons)
    assert state._onload.get(unloaded_document)  # the callback waits for document_ready
    gc.collect()
    assert lazy() is None
    state._on_load(unloaded_document)  # and does nothing once the page is gone


def test_a_served_page_sends_the_placeholders_first_and_the_lesson_after_document_ready(
        live_server):  # noqa: F811  (the fixture imported above)
    from benchmarks.wsclient import BokehSession
    from tests.reliability.conftest import run  # a loop of its own (Playwright may hold one)

    _server, url = live_server

    async def scenario():
        async with await BokehSession.open(url) as session:
            first = {model["id"] for model in session.models.values()}
            assert session.find_all(type="Tabs")
            assert not session.find_all(name="derivative-figure")
            texts = [m["attributes"].get("text", "") for m in session.models.values()]
            assert sum("Building the lesson" in str(text) for text in texts) == 4
            await session.ready(["derivative-figure", "tangent-line"])
            lesson = {model["id"] for model in session.models.values()} - first
            stylesheets = [m["attributes"].get("url", "") for m in session.models.values()
                           if m["type"] == "ImportedStyleSheet"]
            return len(first), len(lesson), stylesheets

    first, lesson, stylesheets = run(scenario())
    assert first < lesson  # the first document is the light part of the page
    assert stylesheets and not [url for url in stylesheets if url.startswith("http")]


def test_a_served_lesson_1_sends_its_first_screen_and_the_rest_when_scrolled_to(
        live_server):  # noqa: F811  (the fixture imported above)
    from benchmarks.sessions import LESSON1_READY, LESSON1_REST
    from benchmarks.wsclient import BokehSession
    from tests.reliability.conftest import run

    _server, url = live_server

    async def scenario():
        async with await BokehSession.open(url) as session:
            await session.ready(LESSON1_READY)
            first_screen = len(session.models)
            missing = [n for n in LESSON1_REST if not session.find_all(name=n)]
            assert session.find(title="w") and session.find(name="direction-label")
            await session.reveal(LESSON1_REST)
            return first_screen, missing, len(session.models)

    first_screen, missing, everything = run(scenario())
    assert missing == list(LESSON1_REST)  # nothing below the first screen was sent
    assert first_screen <= 110  # header, toolbar, tabs (~27) and the first screen
    assert everything >= first_screen + 90  # the error plot, secants and 1-D descent
