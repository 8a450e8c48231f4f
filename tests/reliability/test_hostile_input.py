"""Hostile browser input over the websocket (what a modified page or a script can send):
out-of-range and non-numeric widget values, NaN/inf learning rates, 10,000 taps outside the
map, expressions from the circuits' hostile list. The session stays alive and usable, the
error is shown, nothing else changes."""

import numpy as np

from benchmarks.wsclient import BokehSession, ProtocolError
from tests.circuits.test_safety import HOSTILE
from tests.reliability.conftest import run

NAN = {"type": "number", "value": "nan"}
INF = {"type": "number", "value": "inf"}
MINUS_INF = {"type": "number", "value": "-inf"}
NOT_NUMBERS = ["abc", "", None, [], {}, True, "1e3; drop", "<script>alert(1)</script>"]
NON_FINITE = [NAN, INF, MINUS_INF]
HUGE = [1e308, -1e308, 10**30, -5.0, 50.0]


async def send_tolerated(session, model, value):
    """Send a value; the server may refuse it (an ERROR reply) but must not drop the
    session."""
    try:
        await session.set_value(model, value)
    except ProtocolError:
        pass
    assert not session.closed


def first_step(session):
    data = session.get(session.find(name="landscape-trajectory"))["data"]
    return float(np.asarray(data["x0"])[1]), float(np.asarray(data["y0"])[1])


def start_point(session):
    data = session.get(session.find(name="landscape-start"))["data"]
    return float(np.asarray(data["x"])[0]), float(np.asarray(data["y"])[0])


def message_shown(session):
    return any("downhill-message" in str(session.get(m).get("text", ""))
               for m in session.find_all(type="HTML"))


async def still_usable(session, log10_eta):
    """A real interaction still gets its answer: the new path for η = 10**log10_eta."""
    eta = 10.0**log10_eta
    await session.set_value(session.find(title="Learning rate", type="Slider"), log10_eta)
    await session.wait_for(lambda: abs(first_step(session)[0] - (4 - 8 * eta)) < 1e-9)


def test_hostile_learning_rates_change_nothing_and_the_typed_one_says_why(server):
    url, proc = server

    async def scenario():
        async with await BokehSession.open(url) as session:
            await session.open_tab("Gradient descent", names=["landscape-trajectory"])
            slider = session.find(title="Learning rate", type="Slider")
            typed = session.find(title="Type η")
            for value in NOT_NUMBERS + NON_FINITE + HUGE:
                await send_tolerated(session, slider, value)
            # The slider cannot show what it cannot reach: the server puts it back.
            await session.wait_for(lambda: session.get(slider)["value"] == -1.0, timeout=15)
            for value in NOT_NUMBERS + NON_FINITE + [-1.0, 0.0, 1e308, -1e-300]:
                await send_tolerated(session, typed, value)
            # Panel handles the typed box 50 ms after its last change (a slider round trip
            # can come back sooner): wait until the server has put the box back and said why.
            await session.wait_for(lambda: session.get(typed)["value"] == 0.1, timeout=15)
            await session.wait_for(lambda: message_shown(session), timeout=15)
            await still_usable(session, -1.0)
            assert first_step(session) == (3.2, 1.2)
            assert start_point(session) == (4.0, 3.0)
            await still_usable(session, -0.5)
        assert proc.poll() is None

    run(scenario())


def test_ten_thousand_taps_outside_the_map_leave_the_start_where_it_was(server):
    url, proc = server

    async def scenario():
        async with await BokehSession.open(url) as session:
            await session.open_tab("Gradient descent", names=["landscape-trajectory"])
            figure = session.find(name="landscape-figure")
            taps = [(1e6, 0.0), (0.0, -1e6), (-7.0, 0.0), (0.0, 9.5), (1e308, -1e308)]
            for batch in range(100):
                events = []
                for i in range(100):
                    x, y = taps[(batch * 100 + i) % len(taps)]
                    events.append({
                        "kind": "MessageSent", "msg_type": "bokeh_event",
                        "msg_data": {"type": "event", "name": "tap" if i % 2 else "doubletap",
                                     "values": {"model": {"id": figure["id"]},
                                                "sx": 10.0, "sy": 10.0, "x": x, "y": y}},
                    })
                await session.send_events(events)
            assert not session.closed and not session.errors
            await still_usable(session, -1.0)
            assert start_point(session) == (4.0, 3.0)
            assert first_step(session) == (3.2, 1.2)
        assert proc.poll() is None

    run(scenario())


def test_hostile_expressions_show_the_error_and_keep_the_circuit(server):
    url, proc = server

    async def scenario():
        async with await BokehSession.open(url) as session:
            await session.open_tab("Backpropagation", names=["circuit-nodes"])
            expression = session.find(title="Expression")
            nodes = session.find(name="circuit-nodes")
            before = {k: list(np.asarray(v)) for k, v in session.get(nodes)["data"].items()}
            for text in HOSTILE:
                await send_tolerated(session, expression, text)
            await send_tolerated(session, expression, "x" * 100_000)
            # Every value above was refused: the circuit is the one from before, and the red
            # alert says why (once Panel has handled the box's last change, 50 ms on).
            def alert_shown():
                alerts = [m for m in session.find_all()
                          if "alert-danger" in (session.get(m).get("css_classes") or [])]
                return any(session.get(a).get("visible") is not False
                           and session.get(a).get("text") for a in alerts)

            await session.wait_for(alert_shown, timeout=15)
            await session.open_tab("Gradient descent", names=["landscape-trajectory"])
            await still_usable(session, -0.5)
            after = {k: list(np.asarray(v)) for k, v in session.get(nodes)["data"].items()}
            assert after == before
        assert proc.poll() is None

    run(scenario())
