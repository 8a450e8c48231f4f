"""Lesson 2's stability tools: the basin map, the critical learning rate and the learning-rate
sweep (issue 15, parts 2 and 3). All numbers come from `landscapes.basins`; this file only
paints them.

`StabilityPanel(lesson)` watches a `GradientDescent` by its parameters (`landscape`,
`optimizer`, `learning_rate`, `hyperparameters`, `start`, `steps`, and `function`, `domain`
where the lesson has them) and reads `lesson.surface`, so it works on any landscape the lesson
shows, typed functions included. It exposes:

* `.controls`: the "Basin map" checkbox; "Basin presets", "Map steps", the map's key and the
  map's renderer on the landscape are built when it is first ticked (`build_map`);
* `.critical`: the critical-η line (placed under the η slider, which gets the η* tick);
* `.view`: the "Learning-rate sweep" checkbox; its note and small multiples are built when it
  is first ticked (`build_sweep`).

Until then a join pays for none of their models (each costs server CPU on every new page).

The basin map (n² runs of the optimizer, 0.05–0.5 s) is computed off the event loop on a
server: one worker thread per process (a second core stays free for taps), its result handed
back with `doc.add_next_tick_callback` (the one thread-safe Document method; Bokeh runs it
under the document lock). Each request carries a token and a result whose token is no longer
the newest is dropped. Maps are cached per process by their inputs (a lecture's thirty
students choosing the same preset compute it once); a map's arrays are read-only.
Without a server (a notebook, the tests) the map is computed at once.
"""

from __future__ import annotations

import functools
import html
import logging
import math
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, GlyphRenderer, ImageRGBA, Range1d, Title
from panel.io.state import set_curdoc

from app import theme
from app.descent_figures import landscape_picture, on_drawn_figure, present_later
from app.descent_view import fmt, optimizer_title
from app.upstream_patches import text_only_html
from landscapes import basins

log = logging.getLogger("downhill")

MAP_GRID = 151        # starts per side: odd, so a symmetric landscape's axes are grid rows
MAP_STEPS = 200
MAP_CACHE = 12        # maps kept per process (each ~1.5 MB at 200 × 200)
MAP_ALPHA = 0.62      # how much of the heatmap the map hides
SWEEP_FIGURE_SIZE = 210
SWEEP_STEPS = 50      # the core's default: long enough to settle at a good η, too short for
                      # η = 0.05 η* (so "too low" shows as what it is)
# One colour per basin (Okabe–Ito without black, then three of Tableau's): never red or grey,
# which mean "diverged" and "not converged".
BASIN_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#f0e442", "#8c564b",
                "#9467bd", "#17becf", "#bcbd22")
DIVERGED_COLOR = "#b3261e"
NOT_CONVERGED_COLOR = "#bdbdbd"
CRITICAL_COLOR = "#b3261e"
KEY_ROWS = 6          # basins named in the key; the rest are counted
OUTCOME_WORDS = {     # the core's verdicts (basins.OUTCOMES) in the lesson's words
    "converges slowly": "too low: crawls",
    "converges": "good: converges",
    "oscillates": "oscillates",
    "diverges": "diverges",
}
OUTCOME_COLORS = {"converges slowly": "#57606a", "converges": "#1a7f37",
                  "oscillates": "#9a6700", "diverges": DIVERGED_COLOR}
NO_CRITICAL = "No critical η here (no known minimum)."
# below theme.NARROW (a phone) two small multiples side by side, each keeping its shape
SWEEP_PHONE_CSS = (f"@container downhill-lesson (max-width: {theme.NARROW - 1}px) {{ :host {{ "
                   "width: calc(50cqw - 18px) !important; height: auto !important; "
                   f"aspect-ratio: {SWEEP_FIGURE_SIZE} / {SWEEP_FIGURE_SIZE + 50}; "
                   "min-width: 0 !important; }} }}")

KEY_CSS = f"""
.downhill-basin-key {{ font-size: 14px; line-height: 1.5; color: {theme.TEXT_COLOR};
  font-variant-numeric: tabular-nums; }}
.downhill-basin-key .swatch {{ display: inline-block; width: 12px; height: 12px;
  border: 1px solid #444; margin-right: 6px; vertical-align: -1px; }}
.downhill-basin-key .busy {{ color: {theme.MUTED_TEXT}; font-style: italic; }}
.downhill-basin-key .problem {{ color: #b3261e; font-weight: 600; }}
.downhill-critical {{ font-size: 14px; line-height: 1.45; color: {theme.TEXT_COLOR}; }}
.downhill-critical .tick {{ display: inline-block; width: 3px; height: 13px;
  background: {CRITICAL_COLOR}; margin-right: 6px; vertical-align: -2px; }}
"""


# ---- painting a map (display only: the labels are the core's) -------------------------------

def _rgba(color, alpha):
    """'#rrggbb' and an opacity as one little-endian uint32 pixel (Bokeh's image_rgba)."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return np.array([r, g, b, round(255 * alpha)], dtype=np.uint8).view(np.uint32)[0]


def basin_color(label):
    """The colour of a label: one per basin (cycling), red for diverged, grey otherwise."""
    if label == basins.DIVERGED:
        return DIVERGED_COLOR
    if label < 0:
        return NOT_CONVERGED_COLOR
    return BASIN_COLORS[label % len(BASIN_COLORS)]


def paint(labels, centres):
    """The map as an image_rgba array (n, n) uint32: row i is y, as the core's grid."""
    palette = np.array([_rgba(basin_color(label), MAP_ALPHA)
                        for label in range(-2, len(centres))], dtype=np.uint32)
    image = palette[np.asarray(labels) + 2]
    image.setflags(write=False)
    return image


# ---- computing maps off the event loop, cached per process ---------------------------------

_executor = None
_cache = OrderedDict()   # inputs -> Future of (BasinMap, image)
_cache_lock = threading.Lock()


def _worker():
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="downhill-basins")
    return _executor


def compute_map(surface, optimizer, lr, n, steps, hyper):
    """basins.basin_map and its painting: what a worker thread runs."""
    found = basins.basin_map(surface, optimizer, lr, n=n, steps=steps, hyper=hyper)
    return found, paint(found.labels, found.centres)


def cached_map(key, job, background):
    """The Future of a map: the cached one for `key`, or `job` run (in the worker when
    `background`, else at once). Failed maps are not kept."""
    with _cache_lock:
        future = _cache.get(key)
        if future is not None and not (future.done() and future.exception() is not None):
            _cache.move_to_end(key)
            return future
        if background:
            future = _worker().submit(job)
        else:
            future = Future()
            try:
                future.set_result(job())
            except Exception as error:  # noqa: BLE001  (handed to the caller with the Future)
                future.set_exception(error)
        _cache[key] = future
        while len(_cache) > MAP_CACHE:
            _cache.popitem(last=False)
        return future


def clear_cache():
    with _cache_lock:
        _cache.clear()


# ---- the panel ------------------------------------------------------------------------------

class StabilityPanel(param.Parameterized):
    """The basin map, the critical η and the learning-rate sweep of one GradientDescent."""

    show_map = param.Boolean(default=False, doc="Basin map on")
    map_steps = param.Integer(default=MAP_STEPS, bounds=(1, basins.STEPS_MAX),
                              doc="Steps each start of the map runs")
    grid = param.Integer(default=MAP_GRID, bounds=(2, basins.GRID_MAX), doc="Starts per side")
    show_sweep = param.Boolean(default=False, doc="Learning-rate sweep on")
    computing = param.Boolean(default=False, doc="A map is being computed")

    def __init__(self, lesson, **params):
        super().__init__(**params)
        self.lesson = lesson
        self.map = None            # the BasinMap on screen (None: none)
        self.sweep = None          # the Sweep on screen
        self._token = 0            # the newest map request; older results are dropped
        self._key = None           # the inputs of the map on screen or being computed
        self._applying = False     # a preset is being applied: one map at its end
        self.schedule = None       # tests: called with (job, deliver) instead of a thread
        # Built when first needed (the basin map's part when "Basin map" is first ticked, the
        # sweep's when "Learning-rate sweep" is): every model costs server CPU on each join.
        self.map_built = self.sweep_built = False
        self.map_source = self.map_renderer = None
        self.preset_select = self.map_steps_input = self.key = None
        self.sweep_note = self.sweep_box = None
        self._sweep_figures = []
        self._build_widgets()
        self.view = pn.Column(self.sweep_toggle, sizing_mode="stretch_width")
        watched = [name for name in ("landscape", "optimizer", "learning_rate",
                                     "hyperparameters", "function", "domain")
                   if name in lesson.param]
        lesson.param.watch(self._on_inputs, watched)
        lesson.param.watch(self._on_start, "start")
        lesson.param.watch(self._on_shown, "shown")   # λmax at the point on screen
        self.param.watch(self._on_toggle, "show_map")
        self.param.watch(self._on_inputs, ["map_steps", "grid"])
        self.param.watch(self._on_sweep_toggle, "show_sweep")
        self.update_critical()

    # ------------------------------------------------------------------ building

    def build_map(self):
        """The basin map's part (once): its source and `image_rgba` renderer on the landscape
        figure (over the heatmap, under the contours), "Basin presets", "Map steps" and the
        key below the checkbox. Built when "Basin map" is first ticked."""
        if self.map_built:
            return
        self.map_built = True
        fig = self.lesson.landscape_figure
        self.map_source = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []},
                                           name="basin-map-image")
        # GlyphRenderer's own constructor (fig.image_rgba would append it to the figure now)
        self.map_renderer = GlyphRenderer(
            data_source=self.map_source, visible=False, name="basin-map",
            glyph=ImageRGBA(image="image", x="x", y="y", dw="dw", dh="dh"))

        def insert():
            others = [r for r in fig.renderers if r is not self.map_renderer]
            at = others.index(self.lesson.image_renderer) + 1
            fig.renderers = [*others[:at], self.map_renderer, *others[at:]]

        on_drawn_figure(insert)
        self.preset_select = pn.widgets.Select(
            label="Basin presets",
            options={"Choose a preset…": "", **{p.title: key
                                                for key, p in basins.PRESETS.items()}},
            sizing_mode="stretch_width",
        )
        self.preset_select.param.watch(self._on_preset, "value")
        self.map_steps_input = pn.widgets.IntInput.from_param(
            self.param.map_steps, label="Map steps", sizing_mode="stretch_width")
        self.key = pn.pane.HTML("", stylesheets=[KEY_CSS], sizing_mode="stretch_width",
                                margin=(0, 10))
        parts = [self.preset_select, self.map_steps_input, self.key]
        present_later(self.lesson, parts)
        self.controls.extend(parts)

    def _build_widgets(self):
        self.map_toggle = pn.widgets.Checkbox.from_param(self.param.show_map, label="Basin map",
                                                         sizing_mode="stretch_width")
        self.controls = pn.Column(self.map_toggle, sizing_mode="stretch_width")
        # Its text changes on every tap (λmax at the start): only the text travels.
        self.critical = text_only_html()("", stylesheets=[KEY_CSS],
                                         sizing_mode="stretch_width", margin=(0, 10))
        self._critical_for = (None, None)   # (the surface's key, its η*): one Hessian per surface
        self._mark_at = math.nan            # the η* tick's position on the slider (None: no tick)
        self.sweep_toggle = pn.widgets.Checkbox.from_param(
            self.param.show_sweep, label="Learning-rate sweep", sizing_mode="stretch_width")

    def build_sweep(self):
        """The sweep's note and the box of its small multiples (once, when first ticked)."""
        if self.sweep_built:
            return
        self.sweep_built = True
        self.sweep_note = pn.pane.HTML("", stylesheets=[KEY_CSS], sizing_mode="stretch_width",
                                       margin=(0, 10))
        self.sweep_box = pn.FlexBox(sizing_mode="stretch_width", visible=False)
        present_later(self.lesson, [self.sweep_note])
        self.view.extend([self.sweep_note, self.sweep_box])

    # ------------------------------------------------------------------ inputs

    def map_inputs(self):
        """What the map depends on, as a hashable key (and the landscape object)."""
        lesson = self.lesson
        hyper = dict(lesson.hyperparameters)
        typed = tuple(repr(getattr(lesson, name)) for name in ("function", "domain")
                      if name in lesson.param)
        key = (lesson.landscape, typed, lesson.optimizer, float(lesson.learning_rate),
               repr(sorted(hyper.items())), int(self.map_steps), int(self.grid))
        return key, hyper

    def _on_inputs(self, *events):
        if any(event.name in ("landscape", "function", "domain") for event in events
               if event.obj is self.lesson):
            self.grid = MAP_GRID       # a preset's grid holds for its landscape only
            self.update_critical()
            self._sweep_again()
        self.request_map()

    def _on_shown(self, *_events):
        self.update_critical()

    def _on_start(self, *_events):
        self.update_critical()
        self._sweep_again()

    def _on_toggle(self, _event):
        if self.show_map:
            with pn.io.hold():
                self.build_map()
                self.request_map()
        elif self.map_built:
            self._token += 1           # anything still computing is dropped
            self._key = None
            self.map = None
            self.computing = False
            with pn.io.hold():
                self.map_renderer.visible = False
                self.map_source.data = {"image": [], "x": [], "y": [], "dw": [], "dh": []}
                self.key.object = ""

    def _on_preset(self, event):
        if not event.new:
            return
        preset = basins.PRESETS[event.new]
        lesson = self.lesson
        self._applying = True
        try:
            with pn.io.hold():
                # in this order: a new landscape resets η, a new optimizer its hyperparameters
                if "function" in lesson.param and getattr(lesson, "function", ""):
                    lesson.function = ""
                lesson.landscape = preset.landscape
                lesson.optimizer = preset.optimizer
                lesson.learning_rate = preset.lr
                self.param.update(map_steps=preset.steps, grid=preset.n)
        finally:
            self._applying = False
        self.preset_select.value = ""
        with pn.io.hold():
            if self.show_map:
                self.request_map()
            else:
                self.show_map = True

    # ------------------------------------------------------------------ the basin map

    def request_map(self):
        """Ask for the map of the current inputs (nothing when the map is off or these are
        the inputs of the map shown or being computed)."""
        if not self.show_map or self._applying:
            return
        self.build_map()
        key, hyper = self.map_inputs()
        if key == self._key:
            return
        self._key = key
        self._token += 1
        token = self._token
        lesson = self.lesson
        job = functools.partial(compute_map, lesson.surface, lesson.optimizer,
                                float(lesson.learning_rate), int(self.grid),
                                int(self.map_steps), hyper)
        if self.schedule is not None:   # tests hold the job and deliver when they choose
            self._show_progress()
            self.schedule(job, lambda result: self._receive(token, result))
            return
        doc = pn.state.curdoc
        background = doc is not None and doc.session_context is not None
        future = cached_map(key, job, background)
        if future.done():
            self._receive(token, future)
            return
        self._show_progress()

        def hand_back(done):   # in the worker thread
            try:
                doc.add_next_tick_callback(functools.partial(self._receive_locked, doc, token,
                                                             done))
            except Exception:  # noqa: BLE001  (the session is gone: nobody waits for it)
                log.debug("basin map finished after its session ended")

        future.add_done_callback(hand_back)

    def _receive_locked(self, doc, token, future):
        with set_curdoc(doc):
            self._receive(token, future)

    def _receive(self, token, result):
        """Show a finished map, unless a newer request has been made since."""
        if token != self._token or not self.show_map:
            return   # stale: the inputs changed (or the map was switched off) meanwhile
        self.computing = False
        try:
            found, image = result.result() if isinstance(result, Future) else result
        except ValueError as error:
            self.map = None
            self._key = None
            with pn.io.hold():
                self.map_renderer.visible = False
                self.key.object = (f"<div class='downhill-basin-key'><span class='problem'>"
                                   f"No basin map: {html.escape(str(error))}</span></div>")
            return
        self.map = found
        (x0, x1), (y0, y1) = self.lesson.surface.bounds
        n = found.labels.shape[0]
        dx, dy = (x1 - x0) / (n - 1), (y1 - y0) / (n - 1)
        with pn.io.hold():
            # pixel centres on the grid's starts: the image reaches half a cell past the bounds
            self.map_source.data = {"image": [image], "x": [x0 - dx / 2], "y": [y0 - dy / 2],
                                    "dw": [x1 - x0 + dx], "dh": [y1 - y0 + dy]}
            self.map_renderer.visible = True
            self.key.object = self.key_html(found)

    def _show_progress(self):
        self.computing = True
        self.key.object = ("<div class='downhill-basin-key'><span class='busy'>computing the "
                           "basin map…</span></div>")

    def key_html(self, found):
        """The map's key: what it ran, then each colour with its share of the starts."""
        total = found.labels.size
        lesson = self.lesson

        def share(count):
            percent = 100 * count / total
            return "<1 %" if 0 < percent < 0.5 else f"{percent:.0f} %"

        def row(label, text, count):
            color = basin_color(label)
            return (f"<div><span class='swatch' style='background:{color}'></span>"
                    f"{html.escape(text)}: {share(count)}</div>")

        n = found.labels.shape[0]
        rows = [f"<div>Where each of {n}×{n} starts ends after {found.steps} steps of "
                f"{html.escape(optimizer_title(found.optimizer))}, η = "
                f"{fmt(float(lesson.learning_rate))}:</div>"]
        order = sorted(range(len(found.centres)), key=lambda j: -found.counts[j])
        shown = [j for j in order if found.counts[j]][:KEY_ROWS]
        for j in shown:
            x, y = found.centres[j]
            kind = "" if j < found.known else " (a basin found)"
            rows.append(row(j, f"→ ({fmt(x, 3)}, {fmt(y, 3)}){kind}", found.counts[j]))
        rest = [j for j in order if found.counts[j] and j not in shown]
        if rest:
            count = sum(found.counts[j] for j in rest)
            rows.append(f"<div>… and {len(rest)} more basins: {share(count)}</div>")
        if found.counts[basins.DIVERGED]:
            rows.append(row(basins.DIVERGED, "diverged", found.counts[basins.DIVERGED]))
        if found.counts[basins.NOT_CONVERGED]:
            rows.append(row(basins.NOT_CONVERGED, "not converged",
                            found.counts[basins.NOT_CONVERGED]))
        return f"<div class='downhill-basin-key'>{''.join(rows)}</div>"

    # ------------------------------------------------------------------ the critical η

    def critical_lr(self):
        """2/λmax at the first known minimum, or None (no minimum, or no positive curvature
        there, or a loss or curvature that is not finite). Computed once per surface: a tap
        moves only the start, not the minimum."""
        lesson = self.lesson
        key = (lesson.landscape, *(repr(getattr(lesson, name)) for name in ("function", "domain")
                                   if name in lesson.param))
        if self._critical_for[0] != key:
            self._critical_for = (key, self._critical_lr_of(lesson.surface))
        return self._critical_for[1]

    @staticmethod
    def _critical_lr_of(surface):
        if not len(surface.minima):
            return None
        try:
            return basins.critical_lr(surface)
        except ValueError:
            return None

    def mark_position(self, critical):
        """Where η* sits on the η slider, in percent of its track (None: off the slider)."""
        slider = self.lesson.lr_slider
        if critical is None or not math.isfinite(critical) or critical <= 0:
            return None
        where = (math.log10(critical) - slider.start) / (slider.end - slider.start)
        return 100 * where if 0 <= where <= 1 else None

    def mark_css(self, percent):
        """The η* tick on the slider: a line on noUiSlider's track at `percent` of it, so it
        lines up with the slider's own scale at every width (the handle's centre sits at the
        same percentage)."""
        return (f".noUi-base::after {{ content: ''; position: absolute; left: {percent:.4f}%; "
                f"top: -7px; bottom: -7px; width: 3px; margin-left: -1.5px; "
                f"background: {CRITICAL_COLOR}; pointer-events: none; }}")

    def update_critical(self):
        lesson = self.lesson
        critical = self.critical_lr()
        percent = self.mark_position(critical)
        if percent != self._mark_at:
            # Only when the mark moves (a new surface): on a server the page's stylesheets are
            # rewritten to served files (upstream_patches.serve_stylesheets_locally), so a
            # comparison with the slider's list always differed, and each tap re-sent the
            # slider's stylesheets: new models and a reference walk of the whole document
            # (py-spy: 80 % of a tap's CPU at 200 students; tap p95 38 ms -> 3.3 s).
            self._mark_at = percent
            slider = lesson.lr_slider
            css = [s for s in slider.stylesheets if "noUi-base::after" not in str(s)]
            if percent is not None:
                css.append(self.mark_css(percent))
            slider.stylesheets = css
        if critical is None:
            line = NO_CRITICAL
            if len(lesson.surface.minima):
                line = "No critical η here (no positive curvature at the minimum)."
            text = html.escape(line)
        else:
            x, y = lesson.surface.minima[0]
            where = " (red tick)" if percent is not None else " (beyond the slider's range)"
            text = (f"<span class='tick'></span><b>η* = 2/λmax = {critical:.4f}</b>{where} at "
                    f"the minimum ({fmt(x, 3)}, {fmt(y, 3)}): above it, descent from near the "
                    f"minimum oscillates outward and diverges.")
        text += " " + self.curvature_here()
        self.critical.object = f"<div class='downhill-critical'>{text}</div>"

    def current_point(self):
        """The point on screen: the chosen optimizer's path at the step shown (the start
        before the path is computed)."""
        runs = getattr(self.lesson, "runs", None)
        if runs:
            points = runs[0].points
            return tuple(float(v) for v in points[min(int(self.lesson.shown), len(points) - 1)])
        return tuple(float(v) for v in self.lesson.start)

    def curvature_here(self):
        """λmax at the current point (the step on screen), in words."""
        x, y = self.current_point()
        if not (math.isfinite(x) and math.isfinite(y)):
            return "The path has diverged: there is no current point to measure λmax at."
        here = "the start" if int(self.lesson.shown) == 0 else f"step {int(self.lesson.shown)}"
        where = f"λmax at {here} ({fmt(x, 3)}, {fmt(y, 3)})"
        try:
            curvature = basins.max_curvature(self.lesson.surface, (x, y))
        except ValueError:
            return f"{where} is not finite."
        if curvature > 0:
            return f"{where}: {fmt(curvature)} (2/λmax = {fmt(2 / curvature)})."
        return f"{where}: {fmt(curvature)}, no curvature limit there."

    # ------------------------------------------------------------------ the sweep

    def _on_sweep_toggle(self, _event):
        if self.show_sweep:
            with pn.io.hold():
                self.build_sweep()
                self._draw_sweep()
        elif self.sweep_built:
            self.sweep_box.visible = False
            self.sweep_note.object = ""

    def _sweep_again(self):
        if self.show_sweep:
            self._draw_sweep()

    def _build_sweep_figures(self, count):
        while len(self._sweep_figures) < count:
            i = len(self._sweep_figures)
            fig = theme.make_figure(
                f"sweep-figure-{i}", width=SWEEP_FIGURE_SIZE, height=SWEEP_FIGURE_SIZE + 30,
                tools="", toolbar_location=None, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                min_border_left=6, min_border_bottom=6, min_border_right=6,
            )
            fig.stylesheets = [SWEEP_PHONE_CSS]
            fig.title.text_font_size = "14px"
            verdict = Title(text="", text_font_size="14px", text_font_style="bold")
            fig.add_layout(verdict, "above")
            fig.grid.visible = False
            fig.axis.visible = False   # the same window as the map's: no need to read it again
            contours = ColumnDataSource({"xs": [], "ys": []})
            fig.multi_line("xs", "ys", source=contours, line_color="#8c8c8c", line_alpha=0.6)
            path = ColumnDataSource({"x": [], "y": []}, name=f"sweep-path-{i}")
            fig.line("x", "y", source=path, color=theme.RACE_COLORS[0], line_width=2)
            fig.scatter("x", "y", source=path, size=4, color=theme.RACE_COLORS[0])
            marks = ColumnDataSource({"x": [], "y": []})
            fig.scatter("x", "y", source=marks, marker="star", size=12, fill_color="white",
                        line_color="black")
            self._sweep_figures.append((fig, verdict, contours, path, marks))
        self.sweep_box.objects = [pn.pane.Bokeh(f[0]) for f in self._sweep_figures[:count]]

    def sweep_runs(self):
        """basins.lr_sweep of plain gradient descent from the lesson's start, around η* at the
        known minimum nearest that start, or None (no minimum, or no curvature there).

        Plain descent (sgd, no momentum) because η* = 2/λmax is its limit: with momentum or an
        adaptive optimizer the same factors of η* mean nothing in particular. The nearest
        minimum because the verdict measures the run against one minimum: from a start in
        another basin (Himmelblau) a good run would read as flying off."""
        lesson = self.lesson
        surface = lesson.surface
        if self.critical_lr() is None:
            return None
        minima = np.asarray(surface.minima, dtype=float).reshape(-1, 2)
        start = np.asarray(lesson.start, dtype=float)
        nearest = minima[int(np.argmin(np.hypot(*(minima - start).T)))]
        return basins.lr_sweep(surface, "sgd", start=start, steps=SWEEP_STEPS, point=nearest)

    def _draw_sweep(self):
        try:
            sweep = self.sweep_runs()
        except ValueError as error:
            sweep, problem = None, str(error)
        else:
            problem = NO_CRITICAL
        self.sweep = sweep
        if sweep is None:
            self.sweep_box.visible = False
            self.sweep_note.object = f"<div class='downhill-critical'>{html.escape(problem)}</div>"
            return
        lesson = self.lesson
        self._build_sweep_figures(len(sweep.runs))
        (x0, x1), (y0, y1) = lesson.surface.bounds
        try:
            lines = landscape_picture(lesson.landscape).contour_lines
            contour_data = {"xs": list(lines["xs"]), "ys": list(lines["ys"])}
        except (KeyError, ValueError):
            contour_data = {"xs": [], "ys": []}
        with pn.io.hold():
            for (fig, verdict, contours, path, marks), run in zip(
                    self._sweep_figures, sweep.runs, strict=False):
                fig.x_range.update(start=x0, end=x1)
                fig.y_range.update(start=y0, end=y1)
                fig.title.text = f"η = {fmt(run.lr)} ({run.factor:g} η*)"
                verdict.text = OUTCOME_WORDS[run.outcome]
                verdict.text_color = OUTCOME_COLORS[run.outcome]
                contours.data = contour_data
                points = sweep_points(run.run)
                path.data = {"x": points[:, 0], "y": points[:, 1]}
                marks.data = {"x": [sweep.minimum[0]], "y": [sweep.minimum[1]]}
            self.sweep_box.visible = True
            self.sweep_note.object = (
                f"<div class='downhill-critical'>The same start ({fmt(sweep.start[0], 3)}, "
                f"{fmt(sweep.start[1], 3)}), {sweep.steps} steps of plain gradient descent "
                f"(SGD) at η around η* = 2/λmax = {sweep.critical_lr:.4f} of the minimum "
                f"({fmt(sweep.minimum[0], 3)}, {fmt(sweep.minimum[1], 3)}) nearest the start."
                "</div>")


def sweep_points(run):
    """A sweep run's points up to its last finite one (a diverged path stops where it left)."""
    points = np.asarray(run.points, dtype=float)
    finite = np.isfinite(points).all(axis=-1)
    end = len(points) if finite.all() else int(np.argmin(finite))
    return points[:max(end, 1)] if finite[0] else points[:0]
