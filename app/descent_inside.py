"""Lesson 2, inside the optimizer (issue 16): the state inspector, the step and velocity
arrows, the narrated step and the predict-then-reveal quiz.

`InsidePanel(lesson)` is built with the lesson and holds only two checkboxes ("Inside the
optimizer", "Quiz: predict the next step") and two empty columns until one is ticked; then it
builds its models (the `state-inspector` table, the `step-arrow` / `velocity-arrow` arrows, the
`quiz-guess` marker, the `quiz-score` text) once and keeps them. Everything it computes comes
from `optimizers.trace(...)` (the chosen optimizer's run, racer 1, replayed bit for bit with
every optimizer state), computed on the first report after a change of the path and kept until
the next change; while both boxes are off nothing here runs on a tap or a step (the lecture
hall's cost rule: app/README.md).

Which step is explained: with the inspector alone, the step from the current point (step k of
the history) to the next one, which is what the arrows show; in the quiz, the step just
revealed (k − 1 → k), so nothing gives the next point away before the guess.

The quiz: a tap on the map is a guess of where the next point lands (mouse or finger); the
lesson then takes that step and scores the guess with `optimizers.score_guess` (the miss in
units of the step's length; max(0, 1 − miss) points), the session's score is
`optimizers.running_score`. Step downhill without a guess just steps and scores nothing. To
move the start while the quiz is on, tick "Next tap moves the start" (it unticks itself).
"""

import html

import numpy as np
import panel as pn
from bokeh.core.property.descriptors import UnsetValueError
from bokeh.models import (
    Arrow,
    ColumnDataSource,
    GlyphRenderer,
    NormalHead,
    Scatter,
    Segment,
    VeeHead,
)

import optimizers
from app import theme
from app.descent_figures import on_drawn_figure, present_later
from app.descent_view import NamedHTML, fmt
from app.inspector import StateInspector, step_arrow_data, velocity_arrow_data
from app.narration import narrate

TAP_TOLERANCE_PX = 12
"""A tap this close (screen pixels) to a dot of the path jumps the history to that step."""
ASSUMED_FRAME_PX = 500
"""The map frame's width and height before the browser has reported them (theme's nominal)."""
STEP_ARROW_COLOR = "#56b4e9"      # Okabe–Ito sky blue: the actual step Δ
VELOCITY_ARROW_COLOR = "#cc79a7"  # Okabe–Ito reddish purple: the velocity's carry-over
GUESS_COLOR = "#f0e442"           # Okabe–Ito yellow: the student's guess

INSIDE_CSS = f"""
.downhill-inside {{ font-size: 15px; line-height: 1.45; color: {theme.TEXT_COLOR}; }}
.downhill-inside .key {{ display: inline-block; width: 18px; height: 4px; margin: 0 5px 3px 0;
  vertical-align: middle; border: 1px solid #333; }}
.downhill-inside .narration {{ font-style: italic; }}
.downhill-inside .score {{ font-weight: 600; }}
.downhill-inside .hint {{ color: {theme.MUTED_TEXT}; }}
.downhill-inside .problem {{ color: #b3261e; font-weight: 600; }}
"""
# Lesson 2's side column is ~390 px beside the map on a laptop: the table's four columns fit
# it at 13 px with narrow padding and the quantity's name wrapping (a projector and a phone
# give the table the whole width, where it stays at the inspector's own size).
COMPACT_TABLE_CSS = """
@container downhill-lesson (min-width: 1180px) {
  :host { font-size: 13px; }
  .downhill-inspector td, .downhill-inspector th { padding: 2px 4px; }
  .downhill-inspector td:first-child { max-width: 88px; }
  .downhill-inspector .katex { font-size: 1em; }
}
"""
ARROW_KEY = (
    "<div class='downhill-inside'>"
    f"<span class='key' style='background:{theme.ARROW_COLOR}'></span>−∇L: straight downhill "
    f"&nbsp; <span class='key' style='background:{STEP_ARROW_COLOR}'></span>the step Δ it took"
    f" &nbsp; <span class='key' style='background:{VELOCITY_ARROW_COLOR}'></span>velocity "
    "(momentum's carry-over)</div>"
)
QUIZ_HINT = ("Tap the map where you think the next point lands. <b>Step downhill</b> skips a "
             "round (no score). To move the start, tick “Next tap moves the start”.")


def _reported(fig, name):
    """The frame's size in px as the browser reported it (Bokeh's readonly inner_width,
    inner_height), or ASSUMED_FRAME_PX before any browser laid the figure out."""
    try:
        value = getattr(fig, name)
    except UnsetValueError:
        return ASSUMED_FRAME_PX
    return value if value and value > 0 else ASSUMED_FRAME_PX


def _div(body, kind=""):
    return f"<div class='downhill-inside'><span class='{kind}'>{body}</span></div>"


class InsidePanel:
    """The inspector, arrows, narration and quiz of lesson 2 (see the module doc)."""

    def __init__(self, lesson):
        self.lesson = lesson
        self._trace = None      # optimizers.trace of racer 1 for the current path (lazy)
        self.report = None      # the StepReport on screen (None: none / off)
        self.sentence = ""      # its narration (also in the lesson's status_text)
        self.rounds = []        # the quiz's points per round, this session
        self.built = False
        self.quiz_built = False
        self._in_guess = False  # a guess is taking its step (its marker stays)
        self.inspect_toggle = pn.widgets.Checkbox.from_param(
            lesson.param.inspect, label="Inside the optimizer", margin=(5, 10, 0, 10))
        self.quiz_toggle = pn.widgets.Checkbox.from_param(
            lesson.param.quiz, label="Quiz: predict the next step", margin=(5, 10, 0, 10))
        self.controls = pn.Column(self.inspect_toggle, self.quiz_toggle, margin=0,
                                  sizing_mode="stretch_width")
        self.view = pn.Column(margin=0, sizing_mode="stretch_width")  # the table, when on
        lesson.param.watch(self._on_toggle, ["inspect", "quiz"])

    # ------------------------------------------------------------------ state

    @property
    def active(self):
        return bool(self.lesson.inspect or self.lesson.quiz)

    def invalidate(self):
        """The path changed (start, η, optimizer, ...): the kept trace is stale."""
        self._trace = None

    def trace(self):
        """optimizers.trace of the chosen optimizer's run (racer 1), computed once per path."""
        lesson = self.lesson
        if self._trace is None or self._trace.steps != int(lesson.steps):
            opt = optimizers.get(lesson.optimizer, lr=float(lesson.learning_rate),
                                 **lesson.hyperparameters)
            self._trace = optimizers.trace(lesson.surface, opt,
                                           np.array(lesson.start, dtype=float),
                                           steps=int(lesson.steps))
        return self._trace

    def explained_step(self):
        """The k of the update k → k + 1 on screen, or None (quiz: the step just revealed)."""
        k = int(self.lesson.shown) - (1 if self.lesson.quiz else 0)
        if k < 0 or k >= int(self.lesson.steps):
            return None
        return k

    # ------------------------------------------------------------------ building

    def _build(self):
        if self.built:
            return
        self.built = True
        fig = self.lesson.landscape_figure
        self.step_source = ColumnDataSource({c: [] for c in ("x0", "y0", "x1", "y1")},
                                            name="step-arrow")
        self.velocity_source = ColumnDataSource({c: [] for c in ("x0", "y0", "x1", "y1")},
                                                name="velocity-arrow")
        self.velocity_arrow = Arrow(
            end=NormalHead(size=11, fill_color=VELOCITY_ARROW_COLOR, line_color="black",
                           line_width=1),
            x_start="x0", y_start="y0", x_end="x1", y_end="y1", source=self.velocity_source,
            line_color=VELOCITY_ARROW_COLOR, line_width=3, line_dash="dashed",
            name="velocity-arrow-annotation")
        self.step_arrow = Arrow(
            end=VeeHead(size=14, fill_color=STEP_ARROW_COLOR, line_color="black",
                        line_width=1),
            x_start="x0", y_start="y0", x_end="x1", y_end="y1", source=self.step_source,
            line_color=STEP_ARROW_COLOR, line_width=3, name="step-arrow-annotation")
        self._on_the_figure(fig, "center", self.velocity_arrow, self.step_arrow)
        self.inspector = StateInspector(None, self.lesson.surface)
        table = self.inspector.table
        table.stylesheets = [*table.stylesheets, COMPACT_TABLE_CSS]
        self.key = pn.pane.HTML(ARROW_KEY, margin=(0, 10), sizing_mode="stretch_width",
                                stylesheets=[INSIDE_CSS])
        self.narration = NamedHTML("", model_name="step-narration", stylesheets=[INSIDE_CSS],
                                   sizing_mode="stretch_width", margin=(0, 10))
        self._present_like_the_lesson(self.key, self.narration, self.inspector.table)
        self.controls.append(self.narration)
        self.view.objects = [self.key, self.inspector]

    def _build_quiz(self):
        if self.quiz_built:
            return
        self.quiz_built = True
        self._build()
        self.guess_source = ColumnDataSource({"x": [], "y": [], "tx": [], "ty": []},
                                             name="quiz-guess")
        fig = self.lesson.landscape_figure
        self.miss_renderer = GlyphRenderer(
            data_source=self.guess_source,
            glyph=Segment(x0="x", y0="y", x1="tx", y1="ty", line_color="white", line_width=2,
                          line_dash="dotted"))
        self.guess_renderer = GlyphRenderer(
            data_source=self.guess_source,
            glyph=Scatter(x="x", y="y", marker="x", size=18, line_width=4,
                          line_color=GUESS_COLOR))
        self._on_the_figure(fig, "renderers", self.miss_renderer, self.guess_renderer)
        self.move_start = pn.widgets.Checkbox(label="Next tap moves the start",
                                              margin=(0, 10, 0, 10))
        self.score = NamedHTML(_div(QUIZ_HINT, "hint"), model_name="quiz-score",
                               stylesheets=[INSIDE_CSS], sizing_mode="stretch_width",
                               margin=(0, 10))
        self._present_like_the_lesson(self.move_start, self.score)
        self.controls.objects = [self.inspect_toggle, self.quiz_toggle, self.move_start,
                                 self.score, self.narration]

    @staticmethod
    def _on_the_figure(fig, where, *renderers):
        """Add renderers to the landscape figure in a message of their own
        (descent_figures.on_drawn_figure: BokehJS 3.10's "cannot find a view for Arrow")."""
        on_drawn_figure(lambda: setattr(fig, where, [*getattr(fig, where), *renderers]))

    def _present_like_the_lesson(self, *items):
        """Later-built panes get presentation mode as the lesson's (descent_figures)."""
        present_later(self.lesson, items)

    # ------------------------------------------------------------------ events

    def _on_toggle(self, *_events):
        lesson = self.lesson
        with pn.io.hold():
            if lesson.quiz:
                self._build_quiz()
                self.score.visible = self.move_start.visible = True
                self.guess_renderer.visible = self.miss_renderer.visible = True
            elif self.quiz_built:
                self.score.visible = self.move_start.visible = False
                self.guess_renderer.visible = self.miss_renderer.visible = False
                self._clear_guess()
            if self.active:
                self._build()
            if self.built:
                self.view.visible = bool(lesson.inspect)
                self.narration.visible = self.active
                self.step_arrow.visible = self.active
                self.velocity_arrow.visible = bool(lesson.inspect)
            self.refresh()

    def refresh(self):
        """Show the explained step: arrows, table and sentence (nothing while both are off)."""
        if not self.active:
            self.report, self.sentence = None, ""
            return
        if self.lesson.quiz:
            self._build_quiz()
        self._build()
        k = self.explained_step()
        trail = self.trace()
        self.report = trail.report(k) if k is not None else None
        with pn.io.hold():
            if self.report is None:
                self.sentence = ""
                self.step_source.data = step_arrow_data(None)
                self.velocity_source.data = velocity_arrow_data(None)
                self.narration.object = ""
            else:
                self.sentence = narrate(self.report, self.lesson.surface)
                self.step_source.data = step_arrow_data(self.report)
                self.velocity_source.data = (velocity_arrow_data(self.report)
                                             if self.lesson.inspect else velocity_arrow_data(None))
                self.narration.object = _div(html.escape(self.sentence), "narration")
            if self.lesson.inspect:
                self.inspector.update(self.report, self.lesson.surface)

    def on_tap(self, x, y):
        """A tap on the map at (x, y) that the panel takes (a guess, a dot of the path):
        True when it took it, False to let the lesson place the start."""
        lesson = self.lesson
        if lesson.quiz:
            if self.move_start.value:
                self.move_start.value = False
                return False
            self.guess(x, y)
            return True
        k = self.dot_at(x, y)
        if k is None:
            return False
        if k != lesson.shown:
            lesson.shown = k
        return True

    def dot_at(self, x, y):
        """The step of racer 1's dot within TAP_TOLERANCE_PX of the tap, or None."""
        lesson = self.lesson
        if not lesson.runs:
            return None
        dots = lesson.runs[0].points[: int(lesson.shown) + 1]
        fig = lesson.landscape_figure
        x_span = fig.x_range.end - fig.x_range.start
        y_span = fig.y_range.end - fig.y_range.start
        if not (x_span > 0 and y_span > 0):
            return None
        # px per data unit from the frame's size, which the browser reports after its layout
        px_x = _reported(fig, "inner_width") / x_span
        px_y = _reported(fig, "inner_height") / y_span
        with np.errstate(invalid="ignore"):
            distance = np.hypot((dots[:, 0] - x) * px_x, (dots[:, 1] - y) * px_y)
        distance = np.where(np.isfinite(distance), distance, np.inf)
        k = int(np.argmin(distance))
        return k if distance[k] <= TAP_TOLERANCE_PX else None

    # ------------------------------------------------------------------ quiz

    def guess(self, x, y):
        """Score a guess (x, y) of the next point, then reveal that step. Returns the
        GuessScore, or None when there was nothing to guess (the message says why)."""
        lesson = self.lesson
        self._build_quiz()
        run = lesson.runs[0]
        k = int(lesson.shown)
        if 0 <= run.diverged_at <= k:
            self._say("The run diverged: nothing to guess. Reset, or lower η.", "problem")
            return None
        if k >= lesson.param.steps.bounds[1]:
            self._say("This is the last step there is: Reset to guess again.", "problem")
            return None
        before = run.points[k].copy()
        with pn.io.hold():
            self._in_guess = True
            try:
                lesson.step()  # computes a longer path when the budget is used up
            finally:
                self._in_guess = False
            truth = lesson.runs[0].points[int(lesson.shown)]
            try:
                score = optimizers.score_guess(before, truth, (x, y))
            except ValueError as error:
                self._clear_guess()
                self._say(f"Nothing to score: {html.escape(str(error))}.", "problem")
                return None
            self.rounds.append(score.points)
            total = optimizers.running_score(self.rounds)
            self.guess_source.data = {"x": [float(x)], "y": [float(y)],
                                      "tx": [float(truth[0])], "ty": [float(truth[1])]}
            way = "" if score.same_direction else " (the other way!)"
            self._say(
                f"Step {k} → {k + 1}: your guess missed by {fmt(score.error, 2)} step "
                f"lengths{way}: {fmt(score.points, 2)} points. <span class='score'>Score "
                f"{fmt(total.total, 3)} / {total.rounds} = {round(100 * total.mean)} %"
                "</span>. Tap again for the next step.")
        return score

    def _say(self, body, kind=""):
        self.score.object = _div(body, kind)

    def _clear_guess(self):
        if self.quiz_built and len(self.guess_source.data["x"]):
            self.guess_source.data = {"x": [], "y": [], "tx": [], "ty": []}

    def on_shown(self):
        """The step shown changed (scrub, Step, Reset): a guess marker belongs to its round."""
        if self.quiz_built and not self._in_guess:
            self._clear_guess()
