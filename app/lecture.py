"""Lecture tools: the page's state as a link, lesson presets, presentation mode, keyboard,
export, and a live status for screen readers.

`Lecture` sits between the page (app/main.py) and the lessons. It builds each lesson with
the settings a link asked for (checked by app/url_state.py), keeps the link and the address
bar up to date as the lessons change, and answers the keyboard's server-side commands. It
reaches a lesson only through the lesson interface (app/lesson_api.py) and finds the lessons
in app/lessons.py's registry; presentation mode's styling is app/presenting.py.
"""

import html
import json

import panel as pn
import param
from bokeh.core.properties import Int, String
from bokeh.events import ButtonClick
from bokeh.model import DataModel
from bokeh.models import Button, CustomJS, Div, Row, Select, Toggle
from panel.io.document import unlocked

from app import keyboard, lesson_api, presenting, theme
from app.lessons import LESSONS
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


class LectureBarState(DataModel):
    """What the lecture bar's browser side and the server share (a Bokeh data model: no
    view; the browser side is BAR_JS)."""

    query = String(default="", help="The link's query, without '?' (server -> browser)")
    status = String(default="", help="What the last step did, for screen readers")
    command = String(default="", help="The last key command (browser -> server)")
    file_text = String(default="", help="A file for the browser to save (the CSV export)")
    file_name = String(default="", help="Its name")
    files_sent = Int(default=0, help="Files sent so far: each new one is saved")


SHARE_HTML = """
<div class="share">
  <input class="share-link" type="text" readonly aria-label="Link to this view"/>
  <button class="share-button" data-downhill="copy" type="button">Copy link</button>
  <button class="share-button" data-downhill="png" type="button">Save figure (PNG)</button>
  <span class="share-feedback" role="status" aria-live="polite"></span>
</div>
"""
# The live region stays one element whose textContent a script replaces: a region that is
# itself replaced is not reliably announced, and textContent shows the text as text, never as
# markup. (A Panel pane with the text re-rendered and laid out the whole page on every step.)
LIVE_HTML = """<div class="live-status" role="status" aria-live="polite" aria-atomic="true">
</div>"""
BAR_CSS = """
:host { max-width: 100%; }
.downhill-bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
:host(.downhill-no-tools) .share { display: none; }
.share { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.share-link { width: 280px; max-width: 60vw; font: inherit; font-size: 14px; padding: 5px 8px;
  border: 1px solid #57606a; border-radius: 4px; color: #1f2328; background: #f6f8fa; }
.share-button { font: inherit; font-size: 14px; padding: 5px 12px; border-radius: 4px;
  border: 1px solid #57606a; background: #ffffff; color: #1f2328; cursor: pointer; }
.share-button:hover { background: #eaeef2; }
.share-button:focus-visible, .share-link:focus-visible { outline: 3px solid #0969da; }
.share-feedback { font-size: 14px; color: #1a7f37; min-width: 6em; }
.live-status { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; }
"""
SMALL_INPUT_CSS = ".bk-input { font-size: 14px; }"
TOGGLE_CSS = """
.bk-btn-primary { background-color: #0072b5; border-color: #0072b5; color: #ffffff; }
.bk-btn-primary:hover, .bk-btn-primary.bk-active { background-color: #005a8c;
  border-color: #005a8c; }
"""
"""Presentation mode's toggle in the blue (and contrast) of the Panel buttons around it."""
SAVE_FILE_JS = """
const url = URL.createObjectURL(new Blob([state.file_text], {type: 'text/csv'}));
const a = document.createElement('a');
a.href = url;
a.download = state.file_name;
document.body.appendChild(a);
a.click();
a.remove();
setTimeout(() => URL.revokeObjectURL(url), 60000);
"""
NO_TOOLS = "downhill-no-tools"
"""The bar's class while the tools are hidden (presentation mode, `hide=tools`): the share
part folds away with the other tools; the "?" stays."""

BAR_JS = """
// The bar's elements are looked up when needed: a re-render of the Div replaces them.
function find(selector) {
  const view = window.Bokeh && Bokeh.index.find_one(bar);
  const root = view == null ? null : view.shadow_el;
  return root == null ? null : root.querySelector(selector);
}
function link_url() {
  return window.location.origin + window.location.pathname +
         (state.query ? '?' + state.query : '');
}
function show_link() {
  // The address bar shows the same link: replaceState (no history entry per slider move,
  // no message to the server), not Panel's Location (pushState, echoed back to the server).
  const url = link_url();
  const input = find('.share-link');
  if (input != null) input.value = url;
  if (url + window.location.hash !== window.location.href) {
    window.history.replaceState(window.history.state, '', url + window.location.hash);
  }
}
function say() {
  const live = find('.live-status');
  if (live != null) live.textContent = state.status;
}
function show_help(on) {
  const overlay = find('.keys-overlay');
  if (overlay == null) return;
  overlay.hidden = !on;
  if (on) { const close = find('.keys-close'); if (close != null) close.focus(); }
}
"""
READY_JS = """
show_link();
say();
function feedback(text) {
  const el = find('.share-feedback');
  if (el != null) el.textContent = text;
}
function copy_link() {
  const text = link_url();
  function fallback() {
    const input = find('.share-link');
    let ok = false;
    if (input != null) {
      input.value = text; input.focus(); input.select();
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    }
    feedback(ok ? 'Link copied' : 'Select the link and press Ctrl+C');
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => feedback('Link copied'), fallback);
  } else {
    fallback();
  }
}
function save_png() {
  for (const name of figures) {
    const fig = state.document.get_model_by_name(name);
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
      feedback('Figure saved');
    });
    return;
  }
  feedback('No figure on this tab');
}
// One listener each on the document for the bar's clicks and focus (composedPath reaches
// into the Div's shadow root), so a re-rendered bar needs none of its own.
if (window.downhill_click) document.removeEventListener('click', window.downhill_click);
window.downhill_click = (e) => {
  const path = e.composedPath();
  if (path[0] != null && path[0].classList != null &&
      path[0].classList.contains('keys-overlay')) { show_help(false); return; }  // backdrop
  const button = path.find(n => n.dataset != null && n.dataset.downhill != null);
  if (button == null || find('.downhill-bar') == null ||
      !find('.downhill-bar').contains(button)) return;
  const action = button.dataset.downhill;
  if (action === 'copy') copy_link();
  else if (action === 'png') save_png();
  else if (action === 'keys') show_help(!help_open());
};
document.addEventListener('click', window.downhill_click);
if (window.downhill_focus) document.removeEventListener('focusin', window.downhill_focus);
window.downhill_focus = (e) => {
  const target = e.composedPath()[0];
  if (target != null && target.classList != null && target.classList.contains('share-link'))
    target.select();
};
document.addEventListener('focusin', window.downhill_focus);
"""


class LectureBar:
    """The link to this view (as text, always current), "Copy link", "Save figure (PNG)", the
    keyboard's "?" with its overlay and handler (app/keyboard.py), and the live status that
    screen readers announce (aria-live): one Bokeh Div and one data model.

    Plain Bokeh models because every Panel component costs the server ~2-4 ms on every new
    page (three ReactiveHTML components did this before: ~12 ms of a page's ~60). The server
    keeps `query` and `text` (the status) current and hears `command`; the browser adds its
    own address to the link (so it is right behind any proxy) and puts the same link into the
    address bar; copying and the PNG (Bokeh's own canvas export of the open tab's main
    figure) happen in the browser. The browser side is installed when the page is ready
    (Bokeh's document_ready; outside a server there is no browser and nothing to install).
    """

    def __init__(self, tab_titles, figures=FIGURES, margin=(6, 10)):
        self.state = LectureBarState()
        self.div = Div(
            text=f'<div class="downhill-bar">{SHARE_HTML}{keyboard.KEYS_HTML}{LIVE_HTML}</div>',
            stylesheets=[BAR_CSS, keyboard.KEYBOARD_CSS], margin=margin, disable_math=True,
            tags=[self.state],  # the data model belongs to the document through the bar
        )
        args = {"state": self.state, "bar": self.div}
        self.state.js_on_change("query", CustomJS(args=args, code=BAR_JS + "show_link();"))
        self.state.js_on_change("status", CustomJS(args=args, code=BAR_JS + "say();"))
        self.div.js_on_change("css_classes", CustomJS(args=args, code=BAR_JS + "show_link();"))
        self.state.js_on_change("files_sent", CustomJS(args=args, code=SAVE_FILE_JS))
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            figures_js = f"const figures = {json.dumps(list(figures))};\n"
            doc.js_on_event("document_ready", CustomJS(
                args=args, code=BAR_JS + figures_js + keyboard.keyboard_js(tab_titles)
                + READY_JS))

    @property
    def query(self):
        return self.state.query

    @query.setter
    def query(self, value):
        self._write(query=value)

    @property
    def text(self):
        """The live status (plain text)."""
        return self.state.status

    @text.setter
    def text(self, value):
        self._write(status=value)

    @property
    def command(self):
        return self.state.command

    @command.setter
    def command(self, value):
        self._write(command=value)

    def _write(self, **values):
        """Set the bar's data the way Panel sets its own models: inside `unlocked()`. A Panel
        callback may run outside Bokeh's document lock once Panel has sent its own changes
        (e.g. lesson 3's new input sliders, then the link they change); a bare Bokeh write
        there is refused by Bokeh's session ("_pending_writes should be non-None") and the
        lesson stops answering. Inside `unlocked()` Panel holds the change and sends it, or
        lets Bokeh send it under the lock, as it does for every Panel component."""
        with unlocked():
            self.state.update(**values)

    def on_command(self, callback):
        """Call `callback(command)` for every key command ("step 3", "back 7", ...)."""
        self.state.on_change("command", lambda _attr, _old, new: callback(new))

    def send_file(self, name, text):
        """Have the browser save `text` as a file called `name`."""
        self._write(file_name=name, file_text=text, files_sent=self.state.files_sent + 1)

    def show_tools(self, shown):
        """Show or fold away the share part (with the other tools); the "?" stays."""
        self.div.css_classes = [] if shown else [NO_TOOLS]


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
        # 1–4 always mean lessons 1–4 (a hidden lesson's key does nothing).
        self.bar = LectureBar(tab_titles=[LESSONS[k].title for k in TABS])
        # The names of the three components the bar replaced: the link, the live status and
        # the keyboard (`share.query`, `status.text`, `keyboard.command`).
        self.share = self.status = self.keyboard = self.bar
        self.bar.on_command(self._on_command)
        # Only a link with problems has a notice: a component the page does not show still
        # costs the server on every new page.
        self.notice = pn.pane.Alert(
            self._notice_text(), alert_type="warning", visible=bool(self.link.problems),
            margin=(4, 16), stylesheets=[NOTICE_CSS], sizing_mode="stretch_width",
        )
        # The tools are plain Bokeh widgets in one Bokeh pane, like the bar: a Panel widget or
        # layout costs the server ~2-3 ms on every new page, a Bokeh one a fraction of that.
        self.presets = Select(
            options=[PRESET_PROMPT, *LESSON_PRESETS], value=PRESET_PROMPT, width=250,
            margin=(6, 10), stylesheets=[SMALL_INPUT_CSS],
        )
        self.presets.on_change("value", lambda _attr, _old, new: self._on_preset(new))
        self.present_toggle = Toggle(
            label="Presentation mode", active=self.presenting, width=180, margin=(6, 10),
            button_type="primary", stylesheets=[TOGGLE_CSS],
        )
        self.present_toggle.on_change("active", lambda _attr, _old, new: self._on_toggle(new))
        self.csv_filename = "downhill-paths.csv"
        self.download = Button(label="Download path (CSV)", width=170, margin=(6, 10))
        self.download.on_event(ButtonClick, self._send_csv)
        # The rows wrap on a narrow window (a phone) instead of running off its right edge.
        self.tools = Row(self.presets, self.download, margin=0,
                         stylesheets=[theme.ROW_CSS, TOOLS_CSS])
        self._show_tools()
        row = pn.pane.Bokeh(Row(
            self.tools, self.present_toggle, self.bar.div, margin=(0, 6),
            stylesheets=[theme.ROW_CSS, TOOLBAR_CSS, theme.SHRINK_CSS],
            sizing_mode="stretch_width"), sizing_mode="stretch_width", margin=0)
        self.toolbar = row if not self.link.problems else pn.Column(
            row, self.notice, margin=0, stylesheets=[TOOLBAR_CSS, theme.SHRINK_CSS],
            sizing_mode="stretch_width")
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
        self.csv_filename = (LESSONS[key].cls.csv_filename
                             or LESSONS["descent"].cls.csv_filename)
        self.refresh_link()

    def _on_preset(self, name):
        if name == PRESET_PROMPT:
            return
        preset = decode(LESSON_PRESETS[name])
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

    def _on_toggle(self, active):
        self.presenting = active

    def _show_tools(self):
        shown = "tools" not in self.link.hide and not self.presenting
        self.tools.visible = shown
        self.bar.show_tools(shown)

    def _on_presenting(self, event):
        self.present_toggle.active = event.new
        self._show_tools()
        with pn.io.hold():
            for lesson in self._built.values():
                presenting.scale_figures(lesson, event.new, self._scaled)
                presenting.scale_text(lesson, event.new)
            self._style_page()
        self.refresh_link()

    def _style_page(self):
        presenting.mark((self.page, self.lazy.tabs if self.lazy is not None else None),
                        self.presenting)

    def _on_command(self, command):
        self.lesson(self.active_key()).command(command.split(" ")[0])

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

    def _send_csv(self, _event=None):
        """"Download path (CSV)": the open tab's path(s), saved by the browser as a file."""
        self.bar.send_file(self.csv_filename, self._csv().getvalue())

__all__ = ["Lecture", "LESSON_PRESETS", "capture", "apply", "build_lesson", "paths_csv",
           "LectureBar"]
