"""One plain-English sentence per step, from a step report and its landscape (issue 16).

`narrate(report, landscape)` says where the slope points, what the optimizer does with it and
how the step behaves, e.g. "The slope points up-right (|∇L| = 6.3); Adam divides by √v̂, so
both coordinates move ~η; the step overshoots along y." The numbers all come from
`optimizers.StepReport` (optimizers/inspection.py); this module only compares them and picks
words, so the same report always gives the same sentence. Plain text (no HTML): it also goes
into the page's aria-live status.

What each phrase means (the thresholds are the constants below):
* slope direction: the gradient's compass direction on the map (x right, y up), a diagonal
  unless one component is below tan 22.5° ≈ 0.414 times the other; 1-D: the slope's sign,
  and plain SGD says how far and which way w moves ("so w moves 0.6 to the right").
* "overshoots along y": the gradient's y component has opposite signs at w_k and w_{k+1}
  (the step went past the lowest point along y); 1-D: "overshoots the bottom".
* "zig-zags along y": this step's Δy and the last step's have opposite signs.
* "slows down" / "speeds up": |Δ_k| below SLOWER or above FASTER times |Δ_{k−1}|;
  "carried by momentum" when a velocity carried part of the step.
* "diverged at step j": the run left the finite numbers (or 1e6 display widths) at point j.
* "at the bottom" / "on a saddle" / "on flat ground": |∇L| < 10⁻⁶ there, told apart by the
  curvature (the report's `stationary`).
"""

import math

DIAGONAL = 0.414  # tan 22.5°: below this ratio of its components a direction is not diagonal
SLOWER = 0.5      # a step shorter than this times the last one "slows down"
FASTER = 1.5      # longer than this times the last one "speeds up"
ABOUT_ETA = (0.5, 1.5)  # |Δᵢ|/η inside this range: the coordinate "moves ~η"
VISIBLE = 1e-3    # a step longer than this times the display width is visible (~½ px at 500 px)

TITLES = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad",
          "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "lion": "Lion"}
FLAT_TEXT = "|∇L| < 10⁻⁶"


def number(value):
    """A number for a sentence: three significant digits, a real minus sign."""
    if value != value:  # NaN
        return "—"
    text = f"{value:.3g}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    return text.replace("-", "−")


def _and(words):
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _compass(gx, gy):
    """The map direction of the vector (gx, gy): right, up-right, up, ..."""
    horizontal = "right" if gx > 0 else "left"
    vertical = "up" if gy > 0 else "down"
    if abs(gy) <= DIAGONAL * abs(gx):
        return horizontal
    if abs(gx) <= DIAGONAL * abs(gy):
        return vertical
    return f"{vertical}-{horizontal}"


def _slope(report, names):
    g = report.full_grad
    if report.dimensions == 1:
        w = names[0]
        side = "left" if g[0] > 0 else "right"
        sign = "positive" if g[0] > 0 else "negative"
        return f"The slope is {sign} (dL/d{w} = {number(g[0])}), so downhill is to the {side}"
    return (f"The slope points {_compass(g[0], g[1])} "
            f"(|∇L| = {number(report.grad_norm)})")


def _coordinates_move(report, names):
    """ "both coordinates move ~η" or "x moves 0.31η and y 0.98η" (from Δ/η)."""
    moved = [abs(v) for v in report.delta_over_lr]
    if all(ABOUT_ETA[0] <= m <= ABOUT_ETA[1] for m in moved):
        if report.dimensions == 1:
            return f"{names[0]} moves ~η"
        return "both coordinates move ~η"
    parts = [f"{name} {number(m)}η" for name, m in zip(names, moved, strict=True)]
    return f"{parts[0].replace(' ', ' moves ', 1)}" + (
        f" and {parts[1]}" if len(parts) > 1 else "")


def _optimizer(report, names, mini_batch=False):
    name = report.optimizer
    title = TITLES.get(name, name)
    if report.has("velocity") and name != "rmsprop":  # SGD with (Nesterov) momentum
        look = " (Nesterov looks ahead by μb)" if report.has("direction") else ""
        if not report.coast_length == report.coast_length:  # NaN: no velocity yet
            return f"{title} has no velocity yet, so its first step is η·g{look}"
        if report.coast_length > report.gradient_step_length:
            return (f"{title}'s velocity from earlier steps outweighs this slope and carries "
                    f"it on{look}")
        return f"{title} adds the velocity from earlier steps to η·g{look}"
    if report.has("sum"):
        return (f"{title} divides by √(Σg²), which only grows, so "
                f"{_coordinates_move(report, names)}")
    if report.has("square_avg"):
        return f"{title} divides by √v, a running RMS of g, so {_coordinates_move(report, names)}"
    if report.has("v_hat"):
        return f"{title} divides by √v̂, so {_coordinates_move(report, names)}"
    if report.has("sign"):
        still = [n for n, s in zip(names, report.quantity("sign").value, strict=True) if s == 0]
        rest = f" ({_and(still)} stays: c = 0)" if still else ""
        which = "w" if report.dimensions == 1 else "each coordinate"
        return f"{title} moves {which} by exactly η = {number(report.lr)}, the sign of c{rest}"
    decay = ", plus weight decay" if report.has("g_decayed") else ""
    if mini_batch:
        return f"{title} steps η = {number(report.lr)} times g{decay}, against g's direction"
    delta = float(report.delta[0])
    if report.dimensions == 1 and not decay and math.isfinite(delta):
        # lesson 1's quiz: which way and how far w moves
        side = "right" if delta > 0 else "left"
        return (f"{title} takes η = {number(report.lr)} times the slope, so {names[0]} moves "
                f"{number(abs(delta))} to the {side}")
    return f"{title} steps η = {number(report.lr)} times the gradient{decay}, straight downhill"


def _batch(report):
    """Where the mini-batch's gradient g points, beside the slope on all the data."""
    g, full = report.raw_grad, report.full_grad
    if report.dimensions == 1:
        same = (g[0] > 0) == (full[0] > 0)
        return ("this mini-batch's slope has the same sign" if same else
                "this mini-batch's slope has the opposite sign: its step goes uphill")
    where, downhill = _compass(g[0], g[1]), _compass(full[0], full[1])
    if where == downhill:
        return f"this mini-batch's gradient g points {where} too"
    return f"this mini-batch's gradient g points {where}, so its step is not straight downhill"


def _flips(before, after, names):
    """The names of the coordinates where the two vectors have opposite signs."""
    return [n for n, a, b in zip(names, before, after, strict=True) if a * b < 0]


def _behaviour(report, names):
    phrases = []
    overshoot = _flips(report.full_grad, report.next_grad, names)
    zigzag = _flips(report.previous_delta, report.delta, names)
    if report.dimensions == 1:
        if overshoot:
            phrases.append("the step overshoots the bottom (the slope flips sign)")
        if zigzag:
            phrases.append("it zig-zags back and forth")
    elif overshoot and overshoot == zigzag:
        phrases.append(f"the step overshoots along {_and(overshoot)} and zig-zags back")
    else:
        if overshoot:
            phrases.append(f"the step overshoots along {_and(overshoot)}")
        if zigzag:
            phrases.append(f"it zig-zags along {_and(zigzag)}")
    ratio = report.step_ratio
    if ratio < SLOWER:
        phrases.append(f"it slows down (this step is {number(ratio)}× the last)")
    elif ratio > FASTER:
        carried = ", carried by momentum" if report.coast_length > 0 else ""
        phrases.append(f"it speeds up{carried} (this step is {number(ratio)}× the last)")
    return phrases


def _flat(report):
    kind = report.stationary
    if kind == "minimum":
        where = f"At the bottom ({FLAT_TEXT})"
    elif kind == "saddle":
        where = f"On a saddle point ({FLAT_TEXT}): flat here, yet downhill lies to the sides"
    else:
        where = f"On flat ground ({FLAT_TEXT})"
    if report.step_length > VISIBLE * report.display_width:
        return f"{where}; the velocity from earlier steps still carries it on"
    return f"{where}; the gradient is ~0, so it barely moves"


def narrate(report, landscape, mini_batch=False):
    """The sentence for `report` (an optimizers.StepReport) on `landscape` (axis names).

    `mini_batch`: the step used a mini-batch's gradient g (lesson 4), which the sentence then
    sets beside the slope on all the data instead of calling the step "straight downhill"."""
    names = tuple(getattr(landscape, "variables", ("x", "y")))[:report.dimensions]
    if 0 <= report.diverged_at <= report.step:
        return (f"The run diverged at step {report.diverged_at}: its numbers ran off to "
                f"infinity, so there is no step to explain; lower η (by 10×) and try again.")
    if report.stationary:
        return _flat(report) + "."
    clauses = [_slope(report, names)]
    if mini_batch:
        clauses.append(_batch(report))
    clauses.append(_optimizer(report, names, mini_batch))
    if report.diverged_at == report.step + 1:
        clauses.append(f"this step throws the run off: it diverged at step "
                       f"{report.diverged_at}")
    else:
        behaviour = _behaviour(report, names)
        if behaviour:
            clauses.append(", ".join(behaviour))
    return "; ".join(clauses) + "."

