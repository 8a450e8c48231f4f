"""Lesson 1's predict-then-reveal quiz (issue 16, part 3) on the 1-D descent of (w − 3)²:
which way and how far does w move in one step?

`DescentQuiz(lesson)` is built with the lesson and holds only its toggle button ("1-D quiz:
predict the next step") until the student presses it; then it builds its text (the
`quiz1-score` pane and the "Restart at w₀" button) and its drawing on `descent1d-figure`
(`quiz1-path`, `quiz1-now`, `quiz1-guess`, `quiz1-step`) once and keeps them. While the quiz is
off nothing here runs: the figure does not even send its taps to the server (its subscription
to Tap and DoubleTap is taken back), and the lesson's sliders do not reach the quiz.

A round: the lesson shows the current iterate w_k (a ring on the curve) with its slope and η;
the student taps the chart at the w they predict for w_{k+1} (only x counts; mouse or finger,
Tap and DoubleTap alike); the quiz then reveals the true w_{k+1} (from
`optimizers.trace`: the lesson's own run from w₀, bit for bit the iterates of its table), draws
the true step and the guess as two arrows under the curve, scores the guess with
`optimizers.score_guess` (the miss in step lengths; max(0, 1 − miss) points; which way; how far
along the true step) and keeps the session's score (`optimizers.running_score`). The next tap
is the next round, from w_{k+1}. "Restart at w₀" (or a new η or w₀) starts again from w₀ and
keeps the score: it belongs to the session.

The quiz stops, saying why, when w leaves the chart (η too large: the run diverges), when w sits
at the bottom (a step of length zero: nothing to guess), when the next step is shorter than
`MIN_STEP_SHARE` of the chart's width (too small to tap apart), or after `MAX_ROUNDS` steps.
"""

import html

import numpy as np
import panel as pn
from bokeh.core.properties import field
from bokeh.events import DoubleTap, Tap
from bokeh.models import Scatter, Segment

import optimizers
from app import theme
from app.derivative_figures import DESCENT_Y_RANGE, fmt
from app.descent_view import NamedHTML
from app.narration import narrate

QUIZ_LABEL = "1-D quiz: predict the next step"
"""The toggle's label (lesson 2's quiz is "Quiz: predict the next step": labels are unique in
the page's one document)."""
RESTART_LABEL = "Restart at w₀"
MIN_STEP_SHARE = 0.01
"""A step shorter than this share of the chart's width (0.1 in w on −2 … 8, ~5 px on a laptop)
cannot be told apart by a tap: the quiz ends there (w has nearly reached the bottom)."""
MAX_ROUNDS = 50
GUESS_REACH = 10
"""A guess may lie this many chart widths beyond the chart (the student may pan or zoom out
to guess a diverging step); farther, or not a number, it is refused."""
QUIZ_Y_START = -5.0
"""While the quiz is on the chart shows w's steps as arrows under the curve (y < 0)."""
TRUE_STEP_Y, GUESS_STEP_Y = -1.6, -3.6
TRUE_STEP_COLOR = "#0072b2"   # Okabe–Ito blue
GUESS_COLOR = "#cc79a7"       # Okabe–Ito reddish purple
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

QUIZ_CSS = f"""
.downhill-quiz {{ font-size: 15px; line-height: 1.5; color: {theme.TEXT_COLOR}; }}
.downhill-quiz p {{ margin: 0 0 6px 0; }}
.downhill-quiz .score {{ font-weight: 600; }}
.downhill-quiz .why {{ font-style: italic; color: {theme.MUTED_TEXT}; }}
.downhill-quiz .problem {{ color: #b3261e; font-weight: 600; }}
.downhill-quiz .key {{ display: inline-block; width: 16px; height: 4px; margin: 0 4px 3px 0;
  vertical-align: middle; }}
"""
EMPTY_STEP = {"x0": [], "y0": [], "x1": [], "y1": [], "color": [], "label": [], "angle": []}
POINTS_RIGHT, POINTS_LEFT = -np.pi / 2, np.pi / 2  # a triangle marker turned to a step's way


def w_(k):
    """w with the subscript k: w₀, w₁, …, w₁₂."""
    return "w" + str(k).translate(SUBSCRIPTS)


def number(value):
    """A number in a sentence: up to 6 significant digits, a real minus sign."""
    return fmt(value, 6).replace("-", "−")


def factor(value):
    """A number in a product: negative ones in parentheses, "0.1 × (−6)"."""
    return f"({number(value)})" if value < 0 else number(value)


def way(delta):
    return "right" if delta > 0 else "left"


class DescentQuiz:
    """The quiz of lesson 1's 1-D descent (see the module doc). `lesson.quiz` turns it on."""

    def __init__(self, lesson):
        self.lesson = lesson
        self.rounds = []          # each round's points, this session (Restart keeps them)
        self.k = 0                # the question: where does w go from w_k?
        self.trail = None         # optimizers.trace of the lesson's run from w₀, k + 1 steps
        self.report = None        # the StepReport of the step to guess (None: stopped)
        self.stopped = ""         # why no more rounds (HTML), or ""
        self.last = None          # the revealed round: (report, guess, GuessScore)
        self.message = ""         # the pane's HTML
        self.panes_built = self.glyphs_built = False
        self.listening = False    # the figure sends its taps to the server
        # a button, not a checkbox: a Bokeh checkbox's label is not part of its target, and
        # a finger needs one bigger than the box
        self.toggle = pn.widgets.Toggle.from_param(lesson.param.quiz, label=QUIZ_LABEL,
                                                   color="primary", variant="outline",
                                                   margin=(10, 10, 6, 10))
        self.controls = pn.Column(self.toggle, margin=0, sizing_mode="stretch_width")
        lesson.param.watch(self._on_toggle, "quiz")
        if lesson.quiz:
            self.restart()

    # ------------------------------------------------------------------ rounds

    def restart(self, why=""):
        """Start again at w₀ with the lesson's η (the score carries on)."""
        self.k, self.last = 0, None
        self._trace()
        self._ask(why)

    def guess(self, w):
        """Score a guess of w_{k+1} and reveal it. Returns the GuessScore, or None when there
        is nothing to guess or the guess is refused (the pane says why; nothing else moves)."""
        if not self.lesson.quiz:
            return None
        lo, hi = self.lesson.descent_curve.bounds
        reach = GUESS_REACH * (hi - lo)
        try:
            w = float(w)
        except (TypeError, ValueError):
            w = float("nan")
        if self.stopped:
            self._show_state(problem="The quiz has stopped (see below).")
            return None
        if not (lo - reach <= w <= hi + reach):  # also refuses NaN
            self._show_state(problem=f"Tap on the chart: a guess is a w between {number(lo)} "
                                     f"and {number(hi)}.")
            return None
        report = self.report
        score = optimizers.score_guess(report.point, report.next_point, [w])
        self.rounds.append(score.points)
        self.last = (report, w, score)
        self.k += 1
        self._trace()
        self._ask()
        return score

    def _trace(self):
        lesson = self.lesson
        opt = optimizers.get("sgd", lr=float(lesson.descent_lr))
        self.trail = optimizers.trace(lesson.descent_curve, opt, [float(lesson.descent_start)],
                                      steps=self.k + 1)

    def _ask(self, why=""):
        """Prepare the question from w_k (or stop, saying why) and show it."""
        k, trail = self.k, self.trail
        lo, hi = self.lesson.descent_curve.bounds
        w = float(trail.points[k, 0])
        self.report, self.stopped = None, ""
        if not (np.isfinite(w) and lo <= w <= hi):
            self.stopped = (
                f"{w_(k)} = {number(w)} is off the chart (w from {number(lo)} to "
                f"{number(hi)}): η = {number(self.lesson.descent_lr)} is too large, each step "
                f"overshoots the bottom (w = {number(self._bottom())}) by more than the last — "
                "the run diverges. "
                f"Lower η, or press <b>{RESTART_LABEL}</b>.")
        else:
            report = trail.report(k)
            if report.step_length == 0:
                self.stopped = (f"{w_(k)} = {number(w)} is the bottom: the slope is 0 and w "
                                "does not move — nothing to guess. Move <b>Start w₀</b>.")
            elif report.step_length < MIN_STEP_SHARE * (hi - lo):
                self.stopped = (
                    f"{w_(k)} = {number(w)} is nearly at the bottom: the next step is shorter "
                    f"than {number(MIN_STEP_SHARE * (hi - lo))}, too small to tap. Press "
                    f"<b>{RESTART_LABEL}</b>, or try a larger η.")
            elif k >= MAX_ROUNDS:
                self.stopped = (f"That was step {k}, the last one: press "
                                f"<b>{RESTART_LABEL}</b> to play again.")
            else:
                self.report = report
        self._show_state(note=why)

    def _show_state(self, note="", problem=""):
        """The pane: a note or a refused tap, the revealed round, the score, the question."""
        parts = [self._problem(problem)] if problem else []
        if note:
            parts.append(f"<p>{note}</p>")
        if self.last is not None:
            parts.append(self._revealed())
        if self.rounds:
            total = optimizers.running_score(self.rounds)
            parts.append(f"<p class='score'>Score {number(round(total.total, 2))} / "
                         f"{total.rounds} round{'s' if total.rounds > 1 else ''} "
                         f"({round(100 * total.mean)} %)</p>")
        parts.append(self._problem(self.stopped) if self.stopped else self._question())
        self._say("".join(parts))

    def _bottom(self):
        return float(np.asarray(self.lesson.descent_curve.minima).ravel()[0])

    def _question(self):
        report, k = self.report, self.k
        return (f"<p><b>{w_(k)} = {number(report.point[0])}</b> (ring); slope "
                f"L′({w_(k)}) = {number(report.full_grad[0])}, η = {number(report.lr)}. "
                f"Where does w land after one step? <b>Tap the chart</b> at your "
                f"{w_(k + 1)}.</p>")

    def _revealed(self):
        report, guess, score = self.last
        k = report.step
        before, after = float(report.point[0]), float(report.next_point[0])
        truth = (f"<p><span class='key' style='background:{TRUE_STEP_COLOR}'></span>"
                 f"{w_(k + 1)} = {w_(k)} − η·L′({w_(k)}) = {number(before)} − "
                 f"{factor(report.lr)} × {factor(report.full_grad[0])} = "
                 f"<b>{number(after)}</b>.</p>")
        if score.reach == 0:
            verdict = f"you said w stays, but it moves {way(after - before)}"
        elif score.same_direction:
            verdict = f"right direction, {number(round(score.reach, 2))}× the true step"
        else:
            verdict = (f"wrong direction: w moves {way(after - before)}, your guess went "
                       f"{way(guess - before)}")
        points = number(round(score.points, 2))  # a tap is not finer than 1 %
        miss = number(round(score.error, 2))
        mine = (f"<p><span class='key' style='background:{GUESS_COLOR}'></span>You guessed "
                f"<b>{number(round(guess, 2))}</b>: {verdict}; miss {miss} step lengths "
                f"→ <b>{points}</b> point{'' if points == '1' else 's'}.</p>")
        why = f"<p class='why'>{html.escape(narrate(report, self.lesson.descent_curve))}</p>"
        return truth + mine + why

    @staticmethod
    def _problem(text):
        return f"<p class='problem'>{text}</p>"

    def _say(self, body):
        self.message = f"<div class='downhill-quiz'>{body}</div>"
        with pn.io.hold():
            if self.panes_built:
                self.score.object = self.message
            self.draw()

    # ------------------------------------------------------------------ showing it

    def _on_toggle(self, *_events):
        lesson = self.lesson
        with pn.io.hold():
            if lesson.quiz:
                self.restart()
                self.build()
            self.show()

    def lesson_changed(self):
        """η or w₀ changed: the quiz starts again from w₀ (only while it is on)."""
        if self.lesson.quiz:
            self.restart(f"New settings: the quiz starts again from {w_(0)} (your score "
                         "carries on).")

    def build(self):
        """Build the quiz's panes and drawing (once), as far as the lesson is built."""
        lesson = self.lesson
        new = []
        if not self.panes_built:
            self.panes_built = True
            self.score = NamedHTML(self.message, model_name="quiz1-score",
                                   stylesheets=[QUIZ_CSS], sizing_mode="stretch_width",
                                   margin=(0, 10))
            self.restart_button = pn.widgets.Button(label=RESTART_LABEL, margin=(0, 10, 8, 10))
            self.restart_button.on_click(lambda _event: self.restart(
                f"Back to {w_(0)} (your score carries on)."))
            new = [self.score, self.restart_button]
            theme.responsive(pn.Column(*new), part=True)
        fig = lesson.descent_figure
        if fig is not None and not self.glyphs_built:
            self.glyphs_built = True
            self._build_glyphs(fig)
            new.append(fig)  # presentation mode scales the new glyphs too
        if new:  # the lecture gives them presentation mode first (Derivative.new_part)
            lesson.new_part = new
        if len(self.controls) == 1:
            self.controls.objects = [self.toggle, self.score, self.restart_button]

    def _build_glyphs(self, fig):
        lesson = self.lesson
        self.path_source = lesson._source({"w": [], "loss": []}, "quiz1-path")
        self.now_source = lesson._source({"w": [], "loss": []}, "quiz1-now")
        self.guess_source = lesson._source({"w": [], "loss": []}, "quiz1-guess")
        self.step_source = lesson._source(dict(EMPTY_STEP), "quiz1-step")
        self.renderers = [
            *lesson._draw_iterates(fig, self.path_source),
            lesson._draw(fig, self.now_source, Scatter(
                x="w", y="loss", size=20, fill_color=None, line_color=theme.POINT_COLOR,
                line_width=3)),
            lesson._draw(fig, self.guess_source, Scatter(
                x="w", y="loss", marker="x", size=16, line_color=GUESS_COLOR,
                line_width=4)),
        ]
        # The step arrows are glyphs (a segment and a triangle for the head), not Bokeh
        # Arrows: BokehJS 3.10 lays out a shown figure before it has built the views of
        # annotations added to it ("cannot find a view for Arrow"), and drops the rest of the
        # message. Their colours are keyed in the pane's text (a label would not fit a phone).
        color = field("color")
        self.renderers += [
            lesson._draw(fig, self.step_source, Segment(
                x0="x0", y0="y0", x1="x1", y1="y1", line_color=color, line_width=4)),
            lesson._draw(fig, self.step_source, Scatter(
                x="x1", y="y1", marker="triangle", angle="angle", size=13, fill_color=color,
                line_color=color)),
        ]
        fig.on_event(Tap, self._on_tap)
        # BokehJS turns a second tap within 300 ms into a DoubleTap: a guess too.
        fig.on_event(DoubleTap, self._on_tap)
        self.listening = True
        self.draw()

    def _on_tap(self, event):
        if self.lesson.quiz:
            self.guess(event.x)

    def show(self):
        """Show the quiz's parts while it is on, the lesson's iterates while it is off."""
        lesson = self.lesson
        on = bool(lesson.quiz)
        lesson.descent_readout.visible = not on  # the table would give the answers away
        if self.panes_built:
            self.score.visible = self.restart_button.visible = on
        fig = lesson.descent_figure
        if fig is None:
            return
        for renderer in lesson.descent_path_renderers:
            renderer.visible = not on
        y_start = QUIZ_Y_START if on else DESCENT_Y_RANGE[0]
        fig.y_range.update(start=y_start, reset_start=y_start)
        if self.glyphs_built:
            for renderer in self.renderers:
                renderer.visible = on
            if on != self.listening:  # no tap travels to the server while the quiz is off
                for event in (Tap.event_name, DoubleTap.event_name):
                    if on:
                        fig.subscribed_events.add(event)
                    else:
                        fig.subscribed_events.discard(event)
                self.listening = on

    def draw(self):
        """The revealed iterates, the ring at w_k, the last guess and the two step arrows."""
        if not self.glyphs_built:
            return
        curve = self.lesson.descent_curve
        points = self.trail.points[: self.k + 1, 0]
        losses = self.trail.losses[: self.k + 1]
        shown = np.isfinite(points) & np.isfinite(losses)
        w_k, loss_k = points[-1], losses[-1]
        self.path_source.data = {"w": points[shown], "loss": losses[shown]}
        self.now_source.data = ({"w": [w_k], "loss": [loss_k]} if shown[-1]
                                else {"w": [], "loss": []})
        if self.last is None:
            self.guess_source.data = {"w": [], "loss": []}
            self.step_source.data = dict(EMPTY_STEP)
            return
        report, guess, _score = self.last
        before, after = float(report.point[0]), float(report.next_point[0])
        self.guess_source.data = {"w": [guess], "loss": [float(curve.loss(guess))]}
        rows = {column: [] for column in EMPTY_STEP}
        arrows = [(after, TRUE_STEP_Y, TRUE_STEP_COLOR, "true step")]
        if guess != before:
            arrows.append((guess, GUESS_STEP_Y, GUESS_COLOR, "your guess"))
        for end, y, color, label in arrows:
            for column, value in (("x0", before), ("y0", y), ("x1", end), ("y1", y),
                                  ("color", color), ("label", label),
                                  ("angle", POINTS_RIGHT if end > before else POINTS_LEFT)):
                rows[column].append(value)
        self.step_source.data = rows
