"""Lecture tools: the page's state as a link, lesson presets, presentation mode, keyboard,
export, and a live status for screen readers.

`Lecture` sits between the page (app/main.py) and the lessons. It builds each lesson with
the settings a link asked for (checked by app/url_state.py), keeps the link and the address
bar up to date as the lessons change, and answers the keyboard's server-side commands. It
reaches a lesson only through the lesson interface (app/lesson_api.py) and finds the lessons
in app/lessons.py's registry; presentation mode's styling is app/presenting.py.
"""

import html

import panel as pn
import param
from panel.reactive import ReactiveHTML

from app import lesson_api, presenting, theme
from app.keyboard import Keyboard
from app.lessons import LESSONS
from app.upstream_patches import DesignOnlyForStylesheets
from app.url_state import CONTROLS, TABS, LinkState, decode, encode

LESSON_PRESETS = {
    "Bowl, η = 0.05: crawls": "tab=descent&lr=0.05&shown=20",
    "Bowl, η = 0.3: y zig-zags, still converges": "tab=descent&lr=0.3&shown=20",
    "Bowl, η = 0.4: flies off": "tab=descent&lr=0.4&shown=20",
    "(w − 3)², η = 0.1: w → 3": "tab=derivative&lr1=0.1&w0=0&iters=10",
    "(w − 3)², η = 2: flips and grows": "tab=derivative&lr1=2&w0=0&iters=6",
    "Circuit (x + y)·z at (−2, 5, −4)": "tab=backprop&expr=(x%2By)*z&inputs=x:-2,y:5,z:-4",
    "Batch vs mini-batch vs SGD": "tab=stochastic&step4=60",
    "Saddle race: SGD stalls, Adam escapes": "tab=stochastic&race_lr=0.05&race_steps=150",
}
"""The lessons' worked examples, each a link query (so each is also a shareable link)."""
PRESET_PROMPT = "Lesson presets…"

FIGURES = ("landscape-figure", "derivative-figure", "circuit-figure", "minibatch-figure")
"""The figure "Save figure (PNG)" exports: the first of these on the open tab."""

TOOLBAR_CSS = f"""
:host {{ font-family: {theme.FONT}; }}
"""
TOOLS_CSS = ":host { max-width: 100%; }"
"""The tools' row is never wider than the window: on a phone its tools wrap onto lines."""
NOTICE_CSS = """
.downhill-notice { font-size: 15px; }
"""
# ------------------------------------------------------------------------- lessons ⇄ settings


def capture(key, lesson):
    """A lesson's settings that differ from a fresh lesson's, in url_state's terms."""
    return lesson.settings()


def build_lesson(key, settings):
    """A new lesson of this kind with the link's settings."""
    return LESSONS[key].cls.from_settings(settings)


def apply(key, lesson, settings):
    """Set a built lesson to `settings`; whatever they leave out returns to its default."""
    lesson.apply_settings(settings)


def paths_csv(key, lesson):
    """The lesson's current path(s) as a CSV file (app/lesson_api.py's CSV_COLUMNS)."""
    return lesson_api.paths_csv(lesson.path_rows())


# ------------------------------------------------------------------------- components


class ShareBar(DesignOnlyForStylesheets, ReactiveHTML):
    """The link to this view (as text, always current), "Copy link" and "Save figure (PNG)".

    The server keeps `query` current; the browser adds its own address, so the link is
    right behind any proxy, and puts the same link into the address bar. Copying and the
    PNG happen in the browser (no server-side browser): the PNG is Bokeh's own canvas
    export of the open tab's main figure.
    """

    query = param.String(default="", doc="The link's query, without '?'")
    figures = param.List(default=list(FIGURES), doc="Figures the PNG button may export")

    _template = """
<div class="share">
  <input id="link" class="share-link" type="text" readonly aria-label="Link to this view"
         onfocus="${script('select')}"/>
  <button id="copy" class="share-button" type="button"
          onclick="${script('copy')}">Copy link</button>
  <button id="png" class="share-button" type="button"
          onclick="${script('png')}">Save figure (PNG)</button>
  <span id="feedback" class="share-feedback" role="status" aria-live="polite"></span>
</div>
"""
    _scripts = {
        "render": "self.query()",
        "query": """
// ReactiveHTML sends strings HTML-escaped; read the text back.
const decoder = document.createElement('textarea');
decoder.innerHTML = data.query;
const q = decoder.value;
link.value = window.location.origin + window.location.pathname + (q ? '?' + q : '');
// The address bar shows the same link. replaceState, not Panel's Location (pushState, and
// the browser echoes every change back to the server): no history entry per slider move,
// no message to the server.
if (link.value + window.location.hash !== window.location.href) {
  window.history.replaceState(window.history.state, '', link.value + window.location.hash);
}
""",
        "select": "link.select();",
        "copy": """
const text = link.value;
function report(ok) {
  feedback.textContent = ok ? 'Link copied' : 'Select the link and press Ctrl+C';
}
function fallback() {
  link.focus(); link.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
  report(ok);
}
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(text).then(() => report(true), fallback);
} else {
  fallback();
}
""",
        "png": """
for (const name of data.figures) {
  const fig = model.document.get_model_by_name(name);
  if (fig == null) continue;
  const view = window.Bokeh && Bokeh.index.find_one(fig);
  if (view == null || !view.el.isConnected || view.el.getClientRects().length === 0) continue;
  view.export('png').to_blob().then(blob => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'downhill-' + name + '.png';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    feedback.textContent = 'Figure saved';
  });
  return;
}
feedback.textContent = 'No figure on this tab';
""",
    }
    _stylesheets = ["""
.share { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.share-link { width: 280px; max-width: 60vw; font: inherit; font-size: 14px; padding: 5px 8px;
  border: 1px solid #57606a; border-radius: 4px; color: #1f2328; background: #f6f8fa; }
.share-button { font: inherit; font-size: 14px; padding: 5px 12px; border-radius: 4px;
  border: 1px solid #57606a; background: #ffffff; color: #1f2328; cursor: pointer; }
.share-button:hover { background: #eaeef2; }
.share-button:focus-visible, .share-link:focus-visible { outline: 3px solid #0969da; }
.share-feedback { font-size: 14px; color: #1a7f37; min-width: 6em; }
"""]


class LiveStatus(DesignOnlyForStylesheets, ReactiveHTML):
    """A text status that screen readers announce (aria-live) after each step.

    The live region stays one element whose textContent a script replaces: a `${text}` child
    in the template made Panel re-render it and Bokeh lay out the whole page on every step
    (~45 % of the browser's work per tap in lesson 2), and a region that is itself replaced
    is not reliably announced. textContent also shows the text as text, never as markup.
    """

    text = param.String(default="", doc="What the last step did (plain text)")

    _template = """<div id="status" class="live-status" role="status" aria-live="polite"
aria-atomic="true"></div>"""
    _scripts = {
        "render": "status.textContent = data.text",
        "text": "status.textContent = data.text",
    }
    _stylesheets = ["""
.live-status { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; }
"""]


class LessonPart:
    """A lesson's part about to be shown (a lesson's `new_part`), read by app/presenting.py's
    functions as they read a lesson: its layout is `__panel__()`."""

    def __init__(self, objects):
        self.layout = pn.Column(*objects)

    def __panel__(self):
        return self.layout


# ------------------------------------------------------------------------- the lecture


class Lecture(param.Parameterized):
    """The lecture tools of one page (one browser session).

    `Lecture(query)` reads a link's query (a string or pn.state.session_args); `lessons()`
    gives LazyLessons its factories; `attach(lazy)` wires the tabs in; `toolbar` is the row
    of tools the page shows above the tabs.
    """

    presenting = param.Boolean(default=False, doc="Presentation mode (projector)")

    def __init__(self, query=None, **params):
        super().__init__(**params)
        self.link = decode(query or {})
        self.presenting = self.link.present
        self.keys = [key for key in TABS if key not in self.link.hide]
        self.lazy = None
        self.page = None
        self._built = {}
        self._settings = {}  # each built lesson's settings when the link was last made
        self._scaled = {}
        self._hooked_sliders = set()
        self.share = ShareBar(margin=(6, 10))
        self.status = LiveStatus(margin=0, height=0, sizing_mode="stretch_width")
        # 1–4 always mean lessons 1–4 (a hidden lesson's key does nothing).
        self.keyboard = Keyboard(tab_titles=[LESSONS[k].title for k in TABS],
                                 margin=(6, 6, 6, 16))
        self.keyboard.param.watch(self._on_command, "command")
        self.notice = pn.pane.Alert(
            self._notice_text(), alert_type="warning", visible=bool(self.link.problems),
            margin=(4, 16), stylesheets=[NOTICE_CSS], sizing_mode="stretch_width",
        )
        self.presets = pn.widgets.Select(
            options=[PRESET_PROMPT, *LESSON_PRESETS], value=PRESET_PROMPT, width=250,
            margin=(6, 10), stylesheets=[":host { --font-size: 14px; }"],
        )
        self.presets.param.watch(self._on_preset, "value")
        self.present_toggle = pn.widgets.Toggle(
            label="Presentation mode", value=self.presenting, width=180, margin=(6, 10),
            color="primary",
        )
        self.present_toggle.param.watch(self._on_toggle, "value")
        self.download = pn.widgets.FileDownload(
            callback=self._csv, filename="downhill-paths.csv", label="Download path (CSV)",
            width=170, margin=(6, 10), embed=False,
        )
        # The rows wrap on a narrow window (a phone) instead of running off its right edge.
        self.tools = pn.Row(self.presets, self.download, self.share, margin=0,
                            stylesheets=[theme.ROW_CSS, TOOLS_CSS])
        self.tools.visible = "tools" not in self.link.hide and not self.presenting
        self.toolbar = pn.Column(
            pn.Row(self.tools, self.present_toggle, self.keyboard, margin=0,
                   stylesheets=[theme.ROW_CSS], sizing_mode="stretch_width"),
            self.notice,
            self.status,
            margin=(0, 6), stylesheets=[TOOLBAR_CSS, theme.SHRINK_CSS],
            sizing_mode="stretch_width",
        )
        self.param.watch(self._on_presenting, "presenting")

    # ---------------------------------------------------------------- building

    def lessons(self):
        """(title, factory) pairs for LazyLessons: each factory builds a lesson from the link."""
        return [(LESSONS[key].title, self._factory(key)) for key in self.keys]

    @property
    def active_index(self):
        tab = self.link.tab
        return self.keys.index(tab) if tab in self.keys else 0

    def _factory(self, key):
        lecture = self

        class Factory:
            """Builds the lesson (LazyLessons calls a class to build a lesson)."""

            def __new__(cls):
                return lecture.build(key)

        Factory.__name__ = f"{key.title()}Lesson"
        return Factory

    def build(self, key):
        """Build one lesson with the link's settings, hide what the link hides, watch it."""
        if key in self._built:
            return self._built[key]
        lesson = LESSONS[key].cls.from_settings(self.link.lessons.get(key, {}))
        self._built[key] = lesson
        for control, (owner, attributes) in CONTROLS.items():
            if owner == key and control in self.link.hide:
                for attribute in attributes:
                    getattr(lesson, attribute).visible = False
        self._watch(key, lesson)
        self._present(lesson)
        if "new_part" in lesson.param:  # a part built when scrolled to (app/reveal.py)
            lesson.param.watch(lambda event: self._present(LessonPart(event.new)), "new_part")
        self._say(key, lesson)
        self.refresh_link()
        return lesson

    def _present(self, lesson):
        """Presentation mode's stylesheets (and, when on, its sizes) on the lesson's parts."""
        presenting.prepare_text(lesson)
        if self.presenting:
            presenting.scale_figures(lesson, True, self._scaled)
            presenting.scale_text(lesson, True)

    def built(self, key):
        return self._built.get(key)

    def attach(self, lazy, page=None):
        """Wire the page's LazyLessons (and the page itself, for presentation mode) in."""
        self.lazy = lazy
        self.page = page
        lazy.tabs.stylesheets = [*lazy.tabs.stylesheets, presenting.PRESENT_TABS_CSS]
        lazy.tabs.param.watch(self._on_tab, "active")
        self._on_tab(None)
        if page is not None:
            page.stylesheets = [*page.stylesheets, presenting.PRESENT_CSS]
            self._style_page()
        self.refresh_link()

    def lesson(self, key):
        """The lesson `key`, built now if its tab was not opened yet."""
        if self.lazy is not None and key in self.keys:
            return self.lazy.lesson(self.keys.index(key))
        return self.build(key)

    def active_key(self):
        if self.lazy is None:
            return self.keys[0]
        index = self.lazy.tabs.active
        return self.keys[index] if 0 <= index < len(self.keys) else self.keys[0]

    # ---------------------------------------------------------------- the link

    def state(self, changed=None):
        """The current LinkState of the page (only what differs from a fresh page).

        `changed`: the one lesson whose parameters changed since the last call (its watcher
        says so); the other lessons' settings are the ones read then. A tap or a slider move
        reads one lesson's settings, not every built lesson's. None reads them all.
        """
        if changed is None or changed not in self._settings:
            self._settings = {key: lesson.settings() for key, lesson in self._built.items()}
        else:
            self._settings[changed] = self._built[changed].settings()
        lessons = {key: {} for key in TABS}
        lessons.update(self._settings)
        for key in TABS:  # a lesson not built yet keeps what its link said
            if key not in self._built:
                lessons[key] = dict(self.link.lessons.get(key, {}))
        tab = self.active_key() if self.lazy is not None else self.link.tab
        return LinkState(tab=None if tab == self.keys[0] and self.link.tab is None else tab,
                         present=self.presenting, hide=self.link.hide, lessons=lessons)

    def query(self, changed=None):
        return encode(self.state(changed))

    def refresh_link(self, *_events, changed=None):
        """Put the page's current link into the share bar (and so the address bar);
        `changed` as in `state`."""
        self.share.query = self.query(changed)

    def _watch(self, key, lesson):
        def changed(*_events):
            # While lesson 4 plays (in the browser), the link and the spoken status wait for
            # it to stop: the server learns the step reached when it stops, and a screen
            # reader should not chatter meanwhile.
            if key == "stochastic" and lesson.playing:
                return
            self.refresh_link(changed=key)
            self._say(key, lesson)

        lesson.param.watch(changed, list(lesson.link_params))
        if "handoff" in lesson.param:  # lesson 2's "Open in lesson 3"
            lesson.param.watch(self._on_handoff, "handoff", onlychanged=False)
        if key == "stochastic":
            lesson.play_button.param.watch(changed, "label")  # "Play" again: it stopped
        if key == "backprop":
            lesson.param.watch(changed, "progress")
            lesson.inputs_box.param.watch(lambda *events: self._hook_sliders(lesson), "objects")
            self._hook_sliders(lesson)

    def _hook_sliders(self, lesson):
        for slider in lesson.inputs_box.objects:
            if id(slider) not in self._hooked_sliders:
                self._hooked_sliders.add(id(slider))
                slider.param.watch(self.refresh_link, "value")
        self.refresh_link()

    def _notice_text(self):
        if not self.link.problems:
            return ""
        items = "; ".join(html.escape(problem) for problem in self.link.problems[:8])
        return ("**This link had settings that could not be used**, so those parts show "
                f"their defaults: {items}.")

    # ---------------------------------------------------------------- events

    def _on_tab(self, _event):
        key = self.active_key()
        self.download.filename = (LESSONS[key].cls.csv_filename
                                  or LESSONS["descent"].cls.csv_filename)
        self.refresh_link()

    def _on_preset(self, event):
        if event.new == PRESET_PROMPT:
            return
        preset = decode(LESSON_PRESETS[event.new])
        key = preset.tab
        lesson = self.lesson(key)
        lesson.apply_settings(preset.lessons[key])
        if self.lazy is not None and key in self.keys:
            self.lazy.tabs.active = self.keys.index(key)
        self.presets.value = PRESET_PROMPT
        self.refresh_link()

    def _on_handoff(self, event):
        """A lesson asks to show (key, settings) in another lesson: set it, open its tab, and
        set the request back to None (a lesson hidden by the link is not opened)."""
        if not event.new or event.new[0] not in self.keys:
            return
        key, settings = event.new
        self.lesson(key).apply_settings(settings)
        if self.lazy is not None:
            self.lazy.tabs.active = self.keys.index(key)
        event.obj.handoff = None  # taken: the lesson sees it was answered
        self.refresh_link()

    def _on_toggle(self, event):
        self.presenting = event.new

    def _on_presenting(self, event):
        self.present_toggle.value = event.new
        self.tools.visible = "tools" not in self.link.hide and not event.new
        with pn.io.hold():
            for lesson in self._built.values():
                presenting.scale_figures(lesson, event.new, self._scaled)
                presenting.scale_text(lesson, event.new)
            self._style_page()
        self.refresh_link()

    def _style_page(self):
        presenting.mark((self.page, self.lazy.tabs if self.lazy is not None else None),
                        self.presenting)

    def _on_command(self, event):
        self.lesson(self.active_key()).command(event.new.split(" ")[0])

    # ---------------------------------------------------------------- live status

    def _say(self, key, lesson):
        """Put what the last step did into the aria-live status."""
        self.status.text = self.describe(key, lesson)

    @staticmethod
    def describe(key, lesson):
        return lesson.status_text()

    # ---------------------------------------------------------------- export

    def _csv(self):
        key = self.active_key()
        if LESSONS[key].cls.csv_filename is None:  # no path here: lesson 2's
            key = "descent"
        return paths_csv(key, self.lesson(key))

__all__ = ["Lecture", "LESSON_PRESETS", "capture", "apply", "build_lesson", "paths_csv",
           "ShareBar", "LiveStatus"]
