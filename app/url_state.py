"""The page's state as a link: encode it into a URL query and decode a query back, safely.

A link is untrusted input, like anything typed into a widget. `decode` checks every value the
way the widgets do (numbers must be finite and inside the parameter's bounds, choices must be
known ids, an expression must parse); whatever fails is left out, so that part of the page keeps
its default, and `LinkState.problems` says what was ignored (the page shows it as a notice).
Nothing from a link is ever echoed back into the page: problems name the URL parameter only.

URL parameters (all optional; a default is never written):

    page         tab, present, hide
    Derivative   w, h, lr1 (1-D η), w0 (start w₀), iters, quiz1 (1-D quiz on: 1)
    Gradient     landscape, optimizer, lr, hyper, race, start, steps, at, speed, fn, dom,
                 inspect, quiz (and `shown`, the older name of `at`)
    Backprop     expr, inputs, upstream
    Stochastic   batch, lr4, seed, step4, follow, schedule, clip, clip_norm, start4,
                 race_lr, race_steps

Complex values: `fn=x**2%2B3*y**2` (your function f(x, y), URL-encoded; it replaces
`landscape`); `dom=-5,5,-5,5` (its domain: x from, x to, y from, y to); `start=4,3` (x,y);
`race=adam,momentum`; `hyper=momentum:0.5,nesterov:1,betas:0.8/0.99`; `inputs=x:-2,y:5,z:-4`;
`hide=race,optimizer,backprop` (control and tab ids).

`at=k` is the step on screen (the history slider); beyond the step budget (`steps`, default
100) it is the last step. The older `shown=k` says the same but computes a longer path when k
is beyond the budget; a link with both uses `at`. `inspect=1` ticks "Inside the optimizer",
`quiz=1` "Quiz: predict the next step".
"""

import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode

import circuits
import landscapes
import optimizers
from app.backprop import DEFAULT_EXPRESSION, INPUT_LIMIT
from app.derivative import Derivative
from app.descent import (
    CUSTOM,
    DEFAULT_DOMAIN,
    LR_MAX,
    LR_MIN,
    MAX_RACERS,
    GradientDescent,
    check_domain,
    check_function,
    domain_bounds,
)
from app.lessons import LESSONS
from app.stochastic import LINE_FIT, PATH_TITLES, SCHEDULES, StochasticAdaptive

TABS = tuple(LESSONS)  # the lessons' keys, in teaching order
"""Tab ids in teaching order (`tab=descent`, `hide=backprop`)."""

# What a teacher can hide: control id -> (lesson, attributes of that lesson's widgets).
CONTROLS = {
    "w": ("derivative", ("w_slider",)),
    "h": ("derivative", ("h_slider",)),
    "descent1d": ("derivative", ("descent_lr_slider", "descent_start_slider",
                                 "descent_steps_slider")),
    "lr": ("descent", ("lr_slider", "lr_input")),
    "landscape": ("descent", ("landscape_select",)),
    "optimizer": ("descent", ("optimizer_select", "hyper_box")),
    "race": ("descent", ("race_choice",)),
    "steps": ("descent", ("steps_slider",)),
    "speed": ("descent", ("speed_slider",)),
    "function": ("descent", ("function_box",)),
    "preset": ("backprop", ("preset_select",)),
    "expression": ("backprop", ("expression_input", "draw_button")),
    "inputs": ("backprop", ("inputs_box", "upstream_slider")),
    "batch": ("stochastic", ("batch_slider",)),
    "lr4": ("stochastic", ("lr_slider",)),
    "seed": ("stochastic", ("seed_input",)),
    "schedule": ("stochastic", ("schedule_select", "clip_box", "clip_slider")),
    "race4": ("stochastic", ("race_lr_slider", "race_steps_slider")),
    "tools": ("page", ()),
}
"""Ids for `hide=`: a control id hides those widgets; a tab id hides the whole lesson; `tools`
hides the lecture toolbar (links, presets, export) for an exam-like page."""

SCHEDULE_IDS = {
    "constant": "Constant", "step-decay": "Step decay", "cosine": "Cosine",
    "warmup": "Warmup", "warmup-cosine": "Warmup + cosine",
}
FOLLOW_IDS = {key: title for key, title in PATH_TITLES.items()}
assert set(SCHEDULE_IDS.values()) == set(SCHEDULES)

MAX_QUERY_LENGTH = 2000
"""A longer query is not read at all (a link is typed or pasted by people, not generated)."""
MAX_VALUE_LENGTH = 400
"""Longest single value; an expression may have circuits.MAX_LENGTH = 300 characters."""
MAX_NUMBER_LENGTH = 40
MAX_INPUTS = 8
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?\Z")
INTEGER = re.compile(r"[+-]?\d{1,6}\Z")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,15}\Z")
TRUE, FALSE = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


class LinkError(ValueError):
    """Why one value of a link cannot be used (names the parameter, never echoes the value)."""


@dataclass
class LinkState:
    """What a link asks for. `lessons[key]` holds that lesson's settings, in lesson terms."""

    tab: str | None = None
    present: bool = False
    hide: tuple = ()
    lessons: dict = field(default_factory=lambda: {key: {} for key in TABS})
    problems: list = field(default_factory=list)


# ------------------------------------------------------------------------- single values


def parse_number(text, bounds=(None, None)):
    if len(text) > MAX_NUMBER_LENGTH or not NUMBER.match(text):
        raise LinkError("not a number")
    value = float(text)
    if not math.isfinite(value):
        raise LinkError("not a finite number")
    low, high = bounds
    if (low is not None and value < low) or (high is not None and value > high):
        raise LinkError(f"outside {format_number(low)} … {format_number(high)}")
    return value


def parse_integer(text, bounds=(None, None)):
    if not INTEGER.match(text):
        raise LinkError("not a whole number")
    value = int(text)
    low, high = bounds
    if (low is not None and value < low) or (high is not None and value > high):
        raise LinkError(f"outside {low} … {high}" if high is not None else f"below {low}")
    return value


def parse_bool(text):
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise LinkError("not on/off")


def parse_choice(text, choices):
    if text not in choices:
        raise LinkError("not a known choice")
    return text


def parse_point(text, bounds):
    """'x,y' inside the display bounds widened by one display width on every side."""
    parts = text.split(",")
    if len(parts) != 2:
        raise LinkError("not a point x,y")
    (xmin, xmax), (ymin, ymax) = bounds
    wide_x = (xmin - (xmax - xmin), xmax + (xmax - xmin))
    wide_y = (ymin - (ymax - ymin), ymax + (ymax - ymin))
    return (parse_number(parts[0], wide_x), parse_number(parts[1], wide_y))


def format_number(value):
    """The shortest text that reads back as exactly this float ("0.1", "4", "1e-05")."""
    if value is None:
        return ""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_point(point):
    return f"{format_number(point[0])},{format_number(point[1])}"


# ------------------------------------------------------------------------- complex values


def parse_hyper(text, optimizer):
    """'momentum:0.5,nesterov:1,betas:0.8/0.99' -> {"momentum": 0.5, ...}, checked by
    optimizers.get (the same check the hyperparameter widgets get)."""
    defaults = optimizers.get(optimizer).hyper
    hyper = {}
    for item in text.split(","):
        key, sep, value = item.partition(":")
        if not sep or key == "lr" or key not in defaults:
            raise LinkError(f"not a hyperparameter of {optimizer}")
        if key in hyper:
            raise LinkError("a hyperparameter given twice")
        default = defaults[key]
        if isinstance(default, bool):
            hyper[key] = parse_bool(value)
        elif isinstance(default, tuple):
            parts = value.split("/")
            if len(parts) != len(default):
                raise LinkError(f"{key} needs {len(default)} numbers")
            hyper[key] = tuple(parse_number(part, (0.0, 0.9999)) for part in parts)
        else:
            hyper[key] = parse_number(value, (0.0, 1e6))
    try:
        optimizers.get(optimizer, lr=0.1, **hyper)
    except (TypeError, ValueError) as error:
        raise LinkError("hyperparameters the optimizer refuses") from error
    return hyper


def format_hyper(hyper):
    items = []
    for key, value in hyper.items():
        if isinstance(value, bool):
            items.append(f"{key}:{int(value)}")
        elif isinstance(value, tuple | list):
            items.append(f"{key}:{'/'.join(format_number(v) for v in value)}")
        else:
            items.append(f"{key}:{format_number(value)}")
    return ",".join(items)


def parse_racers(text, optimizer):
    racers = text.split(",") if text else []
    if len(racers) > MAX_RACERS - 1:
        raise LinkError(f"at most {MAX_RACERS - 1} racers")
    for name in racers:
        parse_choice(name, optimizers.names())
    if len(set(racers)) != len(racers) or optimizer in racers:
        raise LinkError("racers must differ from each other and from the optimizer")
    return racers


def parse_inputs(text, variables):
    values = {}
    items = text.split(",")
    if len(items) > MAX_INPUTS:
        raise LinkError(f"at most {MAX_INPUTS} inputs")
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not NAME.match(name) or name not in variables or name in values:
            raise LinkError("not the expression's variables")
        values[name] = parse_number(value, (-INPUT_LIMIT, INPUT_LIMIT))
    return values


def format_inputs(values):
    return ",".join(f"{name}:{format_number(value)}" for name, value in values.items())


def parse_domain(text):
    """'xmin,xmax,ymin,ymax', checked as the domain boxes are."""
    parts = text.split(",")
    if len(parts) != 4:
        raise LinkError("not four numbers xmin,xmax,ymin,ymax")
    domain, problem = check_domain(tuple(parse_number(part) for part in parts))
    if problem:
        raise LinkError("not a domain with min < max inside −1000 … 1000")
    return domain


def parse_function(text, domain):
    """Your function f(x, y): it must parse and be finite over its domain, as when typed."""
    checked, problem = check_function(text, domain)
    if problem:
        raise LinkError("not a function of x and y that is finite over its domain")
    return checked[0]


def parse_expression(text):
    try:
        circuit = circuits.parse(text)
    except circuits.ExpressionError as error:
        raise LinkError("not a valid expression") from error
    return text, circuit.variables


# ------------------------------------------------------------------------- the fields


def _bounds(lesson_class, name):
    return lesson_class.param[name].bounds


# Simple fields: url name -> (lesson, parameter, kind, bounds or choices)
SIMPLE = {
    "w": ("derivative", "w", "number", _bounds(Derivative, "w")),
    "h": ("derivative", "h", "number", _bounds(Derivative, "h")),
    "lr1": ("derivative", "descent_lr", "number", _bounds(Derivative, "descent_lr")),
    "w0": ("derivative", "descent_start", "number", _bounds(Derivative, "descent_start")),
    "iters": ("derivative", "descent_steps", "integer", _bounds(Derivative, "descent_steps")),
    "lr": ("descent", "learning_rate", "number", (LR_MIN, LR_MAX)),
    "steps": ("descent", "steps", "integer", _bounds(GradientDescent, "steps")),
    "at": ("descent", "shown", "integer", (0, None)),  # clamped to the budget (decode)
    "speed": ("descent", "speed", "integer", _bounds(GradientDescent, "speed")),
    "upstream": ("backprop", "upstream", "number", (-INPUT_LIMIT, INPUT_LIMIT)),
    "batch": ("stochastic", "batch_size", "integer", _bounds(StochasticAdaptive, "batch_size")),
    "lr4": ("stochastic", "learning_rate", "number",
            _bounds(StochasticAdaptive, "learning_rate")),
    "seed": ("stochastic", "seed", "integer", _bounds(StochasticAdaptive, "seed")),
    "step4": ("stochastic", "step", "integer", _bounds(StochasticAdaptive, "step")),
    "clip_norm": ("stochastic", "clip_norm", "number", _bounds(StochasticAdaptive, "clip_norm")),
    "race_lr": ("stochastic", "race_learning_rate", "number",
                _bounds(StochasticAdaptive, "race_learning_rate")),
    "race_steps": ("stochastic", "race_steps", "integer",
                   _bounds(StochasticAdaptive, "race_steps")),
}
SPECIAL = ("tab", "present", "hide", "landscape", "optimizer", "hyper", "race", "start",
           "fn", "dom", "shown", "inspect", "quiz", "expr", "inputs", "follow", "schedule",
           "clip", "start4", "quiz1")
NAMES = (*SPECIAL[:3], *SIMPLE, *SPECIAL[3:])
"""Every URL parameter a link may carry."""


def _raw_pairs(query):
    """(name, text) pairs from a query string or a mapping name -> str/bytes/list thereof."""
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True)
    pairs = []
    for name, values in query.items():
        for value in values if isinstance(values, list | tuple) else [values]:
            if isinstance(value, bytes):
                value = value.decode("utf-8", errors="replace")
            pairs.append((str(name), str(value)))
    return pairs


def query_length(query):
    if isinstance(query, str):
        return len(query)
    return sum(len(name) + len(text) + 2 for name, text in _raw_pairs(query))


def decode(query):
    """Read a link's query (a string, or pn.state.session_args) into a checked LinkState."""
    state = LinkState()
    if query_length(query) > MAX_QUERY_LENGTH:
        state.problems.append(f"the link is longer than {MAX_QUERY_LENGTH} characters")
        return state
    raw = {}
    unknown = []
    for name, text in _raw_pairs(query):
        if name not in NAMES:
            unknown.append(name)
        elif name not in raw:
            raw[name] = text
    if unknown:
        shown = ", ".join(sorted({_safe_name(n) for n in unknown})[:5])
        state.problems.append(f"unknown parameters ignored ({shown})")

    def read(name, parse, *args):
        text = raw.get(name)
        if text is None:
            return None
        try:
            if len(text) > MAX_VALUE_LENGTH:
                raise LinkError("too long")
            return parse(text, *args)
        except LinkError as error:
            state.problems.append(f"{name}: {error}")
            return None

    lessons = state.lessons
    state.tab = read("tab", parse_choice, TABS)
    state.present = bool(read("present", parse_bool))
    hide = read("hide", _parse_hide)
    state.hide = tuple(hide or ())

    for name, (lesson, param_name, kind, limits) in SIMPLE.items():
        parse = parse_number if kind == "number" else parse_integer
        value = read(name, parse, limits)
        if value is not None:
            lessons[lesson][param_name] = value

    quiz1 = read("quiz1", parse_bool)
    if quiz1 is not None:
        lessons["derivative"]["quiz"] = quiz1

    descent = lessons["descent"]
    if "shown" in descent:  # `at`: the history's step, within the budget
        budget = descent.get("steps", GradientDescent.param.steps.default)
        descent["shown"] = min(descent["shown"], budget)
    shown = read("shown", parse_integer, (0, _bounds(GradientDescent, "steps")[1]))
    if shown is not None and "at" not in raw:  # the older name: beyond the budget extends it
        descent["shown"] = shown
    for flag in ("inspect", "quiz"):
        value = read(flag, parse_bool)
        if value is not None:
            descent[flag] = value
    landscape = read("landscape", parse_choice, landscapes.names())
    if landscape is not None:
        descent["landscape"] = landscape
    domain = read("dom", parse_domain)
    function = read("fn", parse_function, domain or DEFAULT_DOMAIN)
    if function is not None:
        if landscape is not None:
            state.problems.append("landscape: a link shows either a landscape or fn")
        descent.update(landscape=CUSTOM, function=function)
        if domain is not None:
            descent["domain"] = domain
    elif domain is not None and "fn" not in raw:
        state.problems.append("dom: only with fn")
    optimizer = read("optimizer", parse_choice, optimizers.names())
    if optimizer is not None:
        descent["optimizer"] = optimizer
    optimizer = optimizer or GradientDescent.param.optimizer.default
    hyper = read("hyper", parse_hyper, optimizer)
    if hyper is not None:
        descent["hyperparameters"] = hyper
    racers = read("race", parse_racers, optimizer)
    if racers is not None:
        descent["racers"] = racers
    if function is not None:
        bounds = domain_bounds(domain or DEFAULT_DOMAIN)
    else:
        bounds = landscapes.get(landscape or GradientDescent.param.landscape.default).bounds
    start = read("start", parse_point, bounds)
    if start is not None:
        descent["start"] = start

    backprop = lessons["backprop"]
    parsed = read("expr", parse_expression)
    if parsed is not None:
        backprop["expression"] = parsed[0]
    variables = parsed[1] if parsed else circuits.parse(DEFAULT_EXPRESSION).variables
    inputs = read("inputs", parse_inputs, variables)
    if inputs is not None:
        backprop["inputs"] = inputs

    stochastic = lessons["stochastic"]
    follow = read("follow", parse_choice, tuple(FOLLOW_IDS))
    if follow is not None:
        stochastic["follow"] = FOLLOW_IDS[follow]
    schedule = read("schedule", parse_choice, tuple(SCHEDULE_IDS))
    if schedule is not None:
        stochastic["schedule"] = SCHEDULE_IDS[schedule]
    clip = read("clip", parse_bool)
    if clip is not None:
        stochastic["clip"] = clip
    start4 = read("start4", parse_point, landscapes.get(LINE_FIT).bounds)
    if start4 is not None:
        stochastic["start"] = start4
    return state


def _parse_hide(text):
    ids = [item for item in text.split(",") if item]
    if len(ids) > len(CONTROLS) + len(TABS):
        raise LinkError("too many ids")
    for item in ids:
        if item not in CONTROLS and item not in TABS:
            raise LinkError("not a control or tab id")
    if all(tab in ids for tab in TABS):
        raise LinkError("cannot hide every tab")
    return list(dict.fromkeys(ids))


def _safe_name(name):
    """An unknown parameter's name, shortened and restricted to harmless characters."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "?", name)
    return cleaned[:20] + ("…" if len(cleaned) > 20 else "")


# ------------------------------------------------------------------------- encoding


def encode(state):
    """The query string (without '?') for a LinkState; only what is set is written."""
    pairs = []
    if state.tab is not None:
        pairs.append(("tab", state.tab))
    if state.present:
        pairs.append(("present", "1"))
    if state.hide:
        pairs.append(("hide", ",".join(state.hide)))
    lessons = state.lessons
    derivative = lessons.get("derivative", {})
    descent = lessons.get("descent", {})
    backprop = lessons.get("backprop", {})
    stochastic = lessons.get("stochastic", {})
    if derivative.get("quiz"):
        pairs.append(("quiz1", "1"))
    if descent.get("landscape") == CUSTOM:
        pairs.append(("fn", descent["function"]))
        if "domain" in descent:
            pairs.append(("dom", ",".join(format_number(v) for v in descent["domain"])))
    elif "landscape" in descent:
        pairs.append(("landscape", descent["landscape"]))
    if "optimizer" in descent:
        pairs.append(("optimizer", descent["optimizer"]))
    if "hyperparameters" in descent and descent["hyperparameters"]:
        pairs.append(("hyper", format_hyper(descent["hyperparameters"])))
    if descent.get("racers"):
        pairs.append(("race", ",".join(descent["racers"])))
    if "start" in descent:
        pairs.append(("start", format_point(descent["start"])))
    for flag in ("inspect", "quiz"):
        if descent.get(flag):
            pairs.append((flag, "1"))
    if "expression" in backprop:
        pairs.append(("expr", backprop["expression"]))
    if "inputs" in backprop:
        pairs.append(("inputs", format_inputs(backprop["inputs"])))
    if "follow" in stochastic:
        key = next(k for k, title in FOLLOW_IDS.items() if title == stochastic["follow"])
        pairs.append(("follow", key))
    if "schedule" in stochastic:
        key = next(k for k, title in SCHEDULE_IDS.items() if title == stochastic["schedule"])
        pairs.append(("schedule", key))
    if "clip" in stochastic:
        pairs.append(("clip", "on" if stochastic["clip"] else "off"))
    if "start" in stochastic:
        pairs.append(("start4", format_point(stochastic["start"])))
    by_lesson = {"derivative": derivative, "descent": descent, "backprop": backprop,
                 "stochastic": stochastic}
    for name, (lesson, param_name, kind, _limits) in SIMPLE.items():
        values = by_lesson[lesson]
        if param_name in values:
            value = values[param_name]
            pairs.append((name, format_number(value) if kind == "number" else str(int(value))))
    return urlencode(pairs, quote_via=quote, safe=",:/")
