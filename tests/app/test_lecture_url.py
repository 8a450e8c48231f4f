"""Links: encoding and decoding the page's state, and what a bad or hostile link does."""

import math

import pytest

pytest.importorskip("panel")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from app.url_state import (  # noqa: E402
    MAX_QUERY_LENGTH,
    NAMES,
    LinkState,
    decode,
    encode,
    format_number,
)


def full_state():
    return LinkState(
        tab="descent", present=True, hide=("race", "backprop"),
        lessons={
            "derivative": {"w": -1.25, "h": 1e-05, "descent_lr": 2.0, "descent_start": 0.0,
                           "descent_steps": 6},
            "descent": {"landscape": "rosenbrock", "optimizer": "adam", "learning_rate": 0.02,
                        "hyperparameters": {"betas": (0.8, 0.99), "amsgrad": True,
                                            "eps": 1e-07},
                        "racers": ["momentum", "rmsprop"], "start": (-1.5, 2.25),
                        "steps": 300, "shown": 17, "speed": 30},
            "backprop": {"expression": "(x+y)*z", "inputs": {"x": -2.0, "y": 5.0, "z": -4.0},
                         "upstream": 2.0},
            "stochastic": {"batch_size": 4, "learning_rate": 0.1, "seed": 7, "step": 33,
                           "follow": "SGD", "schedule": "Warmup + cosine", "clip": True,
                           "clip_norm": 0.5, "start": (0.25, -1.0),
                           "race_learning_rate": 0.02, "race_steps": 200},
        },
    )


def test_every_setting_survives_encode_then_decode():
    state = full_state()
    query = encode(state)
    back = decode(query)
    assert back.problems == []
    assert (back.tab, back.present, back.hide) == ("descent", True, ("race", "backprop"))
    assert back.lessons == state.lessons


def test_encoded_link_is_readable():
    query = encode(full_state())
    assert "start=-1.5,2.25" in query
    assert "race=momentum,rmsprop" in query
    assert "hyper=betas:0.8/0.99,amsgrad:1,eps:1e-07" in query
    assert "expr=%28x%2By%29%2Az" in query
    assert "inputs=x:-2,y:5,z:-4" in query


def test_a_fresh_page_has_an_empty_link_and_an_empty_link_is_a_fresh_page():
    assert encode(LinkState()) == ""
    state = decode("")
    assert state.problems == [] and state.tab is None and not state.present
    assert all(settings == {} for settings in state.lessons.values())


@given(st.floats(min_value=1e-6, max_value=10.0, allow_nan=False))
def test_any_learning_rate_reads_back_exactly(lr):
    state = LinkState(lessons={"derivative": {}, "descent": {"learning_rate": lr},
                               "backprop": {}, "stochastic": {}})
    assert decode(encode(state)).lessons["descent"]["learning_rate"] == lr


@given(st.floats(min_value=-15, max_value=15, allow_nan=False),
       st.floats(min_value=-15, max_value=15, allow_nan=False))
def test_any_start_on_the_bowl_reads_back_exactly(x, y):
    state = LinkState(lessons={"derivative": {}, "descent": {"start": (x, y)},
                               "backprop": {}, "stochastic": {}})
    assert decode(encode(state)).lessons["descent"]["start"] == (x, y)


def test_format_number_is_short_and_exact():
    assert [format_number(v) for v in (4.0, 0.1, 1e-05, -2.5)] == ["4", "0.1", "1e-05", "-2.5"]
    assert float(format_number(0.1 + 0.2)) == 0.1 + 0.2


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("lr=abc", "lr: not a number"),
        ("lr=nan", "lr: not a number"),
        ("lr=inf", "lr: not a number"),
        ("lr=1e308", "lr: outside"),
        ("lr=1e999", "lr: not a finite number"),
        ("lr=-0.1", "lr: outside"),
        ("lr=0x10", "lr: not a number"),
        ("lr=1_0", "lr: not a number"),
        ("steps=99999999", "steps: not a whole number"),
        ("steps=0", "steps: outside"),
        ("steps=2.5", "steps: not a whole number"),
        ("start=nan,1", "start: not a number"),
        ("start=1", "start: not a point"),
        ("start=1,2,3", "start: not a point"),
        ("start=1e6,0", "start: outside"),
        ("landscape=<script>alert(1)</script>", "landscape: not a known choice"),
        ("optimizer=__import__('os')", "optimizer: not a known choice"),
        ("race=adam,adam", "race: racers must differ"),
        ("race=sgd", "race: racers must differ"),
        ("race=adam,lion,rmsprop,nesterov", "race: at most 3 racers"),
        ("hyper=lr:5", "hyper: not a hyperparameter"),
        ("hyper=momentum:-1", "hyper: outside"),
        ("optimizer=adam&hyper=betas:0.9", "hyper: betas needs 2 numbers"),
        ("optimizer=adam&hyper=betas:0.9/2", "hyper: outside"),
        ("hyper=momentum:0.5,momentum:0.6", "hyper: a hyperparameter given twice"),
        ("expr=__import__('os').system('x')", "expr: not a valid expression"),
        ("expr=" + "x%2B" * 250, "expr: too long"),
        ("inputs=x:1,q:2", "inputs: not the expression's variables"),
        ("inputs=x:1e9", "inputs: outside"),
        ("tab=<script>", "tab: not a known choice"),
        ("hide=derivative,descent,backprop,stochastic", "hide: cannot hide every tab"),
        ("hide=nothing", "hide: not a control or tab id"),
        ("present=maybe", "present: not on/off"),
        ("follow=everyone", "follow: not a known choice"),
        ("batch=1000", "batch: outside"),
        ("seed=-1", "seed: outside"),
    ],
)
def test_a_bad_value_is_dropped_and_named_in_a_problem(query, problem):
    state = decode(query)
    assert any(p.startswith(problem) for p in state.problems), state.problems
    kept = [{k: v for k, v in settings.items() if k != "optimizer"}
            for settings in state.lessons.values()]
    assert kept == [{}, {}, {}, {}]
    assert state.tab is None


def test_problems_never_echo_the_hostile_value():
    state = decode("lr=<img src=x onerror=alert(1)>&<b>bold</b>=1&tab=javascript:alert(1)")
    text = " ".join(state.problems)
    assert "<" not in text and ">" not in text and "alert" not in text
    assert "unknown parameters ignored" in text


def test_good_values_survive_next_to_bad_ones():
    state = decode("lr=0.3&steps=zzz&landscape=booth&start=nope")
    assert state.lessons["descent"] == {"learning_rate": 0.3, "landscape": "booth"}
    assert [p.split(":")[0] for p in state.problems] == ["steps", "start"]


def test_an_overlong_link_is_not_read_at_all():
    state = decode("lr=0.3&expr=" + "x" * MAX_QUERY_LENGTH)
    assert state.lessons["descent"] == {}
    assert state.problems == [f"the link is longer than {MAX_QUERY_LENGTH} characters"]


def test_session_args_bytes_are_read_like_a_query_string():
    state = decode({"lr": [b"0.3"], "start": [b"1,2"], "tab": [b"descent"]})
    assert state.problems == []
    assert state.lessons["descent"] == {"learning_rate": 0.3, "start": (1.0, 2.0)}
    assert state.tab == "descent"


def test_start_bounds_follow_the_landscape():
    # Rosenbrock shows x in [-2, 2]: (-5, 0) lies within one display width, (-7, 0) does not.
    assert decode("landscape=rosenbrock&start=-5,0").lessons["descent"]["start"] == (-5.0, 0.0)
    assert "start" not in decode("landscape=rosenbrock&start=-7,0").lessons["descent"]


def test_inputs_are_checked_against_the_link_expression():
    state = decode("expr=relu(a*b)&inputs=a:2,b:-3")
    assert state.lessons["backprop"] == {"expression": "relu(a*b)",
                                         "inputs": {"a": 2.0, "b": -3.0}}
    assert decode("expr=relu(a*b)&inputs=x:1").problems


def test_every_documented_parameter_name_is_decoded():
    assert len(NAMES) == len(set(NAMES))
    assert {"tab", "present", "hide", "lr", "start", "race", "hyper", "expr", "inputs",
            "batch", "seed", "step4", "start4"} <= set(NAMES)
    assert math.isfinite(decode("w=0.5").lessons["derivative"]["w"])
