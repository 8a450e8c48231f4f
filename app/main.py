"""The servable entry: `panel serve app/main.py` and `downhill` serve this page.

Every browser session runs this script anew, so every session builds its own lessons,
widgets, figures and sources; nothing here is shared between students.
"""

import weakref

import panel as pn

# Panel imports some Bokeh model modules on first use (`lazy_load`) and takes a module that
# is in sys.modules as complete. Lessons are built on Bokeh's worker threads (onload, a tab
# opened), several sessions at once: one thread read a half-imported panel.models.katex
# while another was importing it ("partially initialized module"). Imported here, on the
# server's loop, when the first page is served, before any lesson is built.
import panel.models.katex  # noqa: F401  (the LaTeX panes' model)
from bokeh.models import Div

from app import theme
from app.lecture import Lecture
from app.lessons import LESSONS as REGISTRY
from app.session import JsCallbackSources
from app.upstream_patches import serve_stylesheets_locally

TITLE = "Downhill"
PURPOSE = "How models learn: follow the slope of the loss downhill, one step at a time."

HEADER_HTML = f"""
<div class="downhill-header">
  <span class="downhill-name">{TITLE}</span>
  <span class="downhill-purpose">{PURPOSE}</span>
</div>
"""

HEADER_CSS = f"""
.downhill-header {{ display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap;
  font-family: {theme.FONT}; }}
.downhill-name {{ font-size: 28px; font-weight: 700; color: {theme.ACCENT};
  letter-spacing: 0.5px; }}
.downhill-purpose {{ font-size: 17px; color: {theme.MUTED_TEXT}; }}
"""

TABS_CSS = """
.bk-tab { font-size: 16px; padding: 6px 16px; }
.bk-tab.bk-active { font-weight: 600; }
@media (max-width: {narrow}px) {
  .bk-headers-wrapper { flex-wrap: wrap; }
  .bk-tab { padding: 8px 10px; }
}
""".replace("{narrow}", str(theme.NARROW - 1))
# A phone: the toolbar's rows wrap instead of running off the right edge.
WRAP_CSS = ":host { flex-wrap: wrap; }"

LESSONS = tuple((lesson.title, lesson.cls) for lesson in REGISTRY.values())
"""(tab title, lesson class) in teaching order, from app/lessons.py's registry."""


def build_lessons():
    """A fresh instance of every lesson, with its tab title, in teaching order."""
    return [(title, lesson()) for title, lesson in LESSONS]


VIEWPORT = "width=device-width, initial-scale=1"

LOADING_HTML = "<p class='downhill-loading'>Building the lesson…</p>"


def light_html(text, stylesheets=(), **layout):
    """Static HTML as a plain Bokeh Div in a Bokeh pane: every new page builds the header and
    four tab placeholders, and a Panel HTML pane costs the server ~2 ms of CPU per page where
    a Div costs ~0.3 ms (Panel's parameters, design and HTML processing for a text that never
    changes)."""
    return pn.pane.Bokeh(Div(text=text, stylesheets=list(stylesheets), disable_math=True,
                             **layout))


def is_placeholder(tab):
    """Whether `tab` (a Tabs entry) is still a lesson's placeholder."""
    return isinstance(tab, pn.pane.Bokeh) and getattr(tab.object, "text", None) == LOADING_HTML


class LazyLessons:
    """The lessons as tabs, each built when its tab is first opened.

    A new page builds only the visible (first) lesson: building all four costs about a second
    of server CPU per student, and most students open one or two tabs. A hidden tab holds a
    small placeholder until `tabs.active` first points at it; then the lesson is built and
    takes the placeholder's place. `lesson(index)` builds one on demand (for code that needs
    a lesson before its tab is opened).

    On a server even the open tab's lesson waits for the page to be drawn: it is built in
    `pn.state.onload` (when the browser says `document_ready`), so the page's first document
    holds only the header, the toolbar and the tabs with their placeholders, and the student
    sees them at once; the lesson follows as one message. Outside a server (a notebook, the
    tests) `pn.state.onload` runs at once, so the lesson is there when the page is.
    """

    def __init__(self, lessons=LESSONS, js_callbacks=None, **tabs_params):
        self.js_callbacks = js_callbacks or JsCallbackSources()
        self.titles = [title for title, _lesson in lessons]
        self._factories = [lesson for _title, lesson in lessons]
        self._built = {}
        placeholders = [
            (title, light_html(LOADING_HTML, margin=(16, 16))) for title in self.titles
        ]
        self.tabs = pn.Tabs(*placeholders, **tabs_params)
        self.tabs.param.watch(self._build_opened_tab, "active")
        # A weak reference: Panel keeps onload callbacks per document until the browser says
        # it is ready, and a page that never says so must not keep itself alive through it.
        lazy = weakref.ref(self)

        def on_load():
            if lazy() is not None:
                lazy().build_open_tab()

        pn.state.onload(on_load)

    def build_open_tab(self):
        """Build the open tab's lesson (the page's onload callback)."""
        if 0 <= self.tabs.active < len(self.titles):
            self.lesson(self.tabs.active)

    def is_built(self, index):
        return index in self._built

    def lesson(self, index):
        """The lesson in tab `index`, built (and put into its tab) if it was not yet."""
        if index not in self._built:
            factory = self._factories[index]
            with self.js_callbacks.tracking():
                self._built[index] = factory() if isinstance(factory, type) else factory
                self.tabs[index] = (self.titles[index], self._built[index])
            serve_stylesheets_locally(self.tabs, index)
        return self._built[index]

    def _build_opened_tab(self, event):
        if 0 <= event.new < len(self.titles):
            self.lesson(event.new)


def build_page(lessons=None):
    """The whole page for one session: a header and the four lessons in teaching order.

    `lessons` (title, instance) pairs are shown as they are; without them each lesson is
    built when its tab is first opened (see LazyLessons, reachable as `page.lessons`).
    """
    header = light_html(HEADER_HTML, stylesheets=[HEADER_CSS], sizing_mode="stretch_width",
                        margin=(6, 16, 0, 16))
    js_callbacks = JsCallbackSources()  # given back when the session ends (app/session.py)
    with js_callbacks.tracking():
        # The link's settings (checked), lecture tools, keyboard: see app/lecture.py.
        lecture = Lecture(pn.state.session_args if lessons is None else None)
        lazy = LazyLessons(lecture.lessons() if lessons is None else lessons,
                           js_callbacks=js_callbacks, stylesheets=[TABS_CSS], margin=(0, 10),
                           active=lecture.active_index)
        # The page and the tabs are as wide as the window: each lesson is a CSS size
        # container (theme.responsive) that lays itself out for the width it gets.
        lazy.tabs.param.update(sizing_mode="stretch_width",
                               stylesheets=[*lazy.tabs.stylesheets, theme.SHRINK_CSS])
        page = pn.Column(header, lecture.toolbar, lazy.tabs, sizing_mode="stretch_width",
                         stylesheets=[theme.SHRINK_CSS])
        lecture.attach(lazy, page)
    js_callbacks.forget_when_destroyed(pn.state.curdoc)
    # Without a viewport, phones lay the page out ~980 px wide and shrink it (body text at
    # ~5 CSS px); Panel's page template writes this into <meta name="viewport">.
    if pn.state.curdoc is not None:  # None when built outside a server (tests)
        pn.state.curdoc.template_variables["meta"] = {"viewport": VIEWPORT}
    page.lessons = lazy
    page.lecture = lecture
    return page


build_page().servable(title=TITLE)
