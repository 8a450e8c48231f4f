"""The Bokeh-protocol websocket client against a real server: one session, one η change."""

import numpy as np

from benchmarks.wsclient import (
    BokehSession,
    ProtocolError,
    cookie_header,
    keep_cookies,
    session_token,
)
from tests.reliability.conftest import run


def trajectory_first_step(session):
    data = session.get(session.find(name="landscape-trajectory"))["data"]
    return float(np.asarray(data["x0"])[1]), float(np.asarray(data["y0"])[1])


def test_session_token_is_read_from_the_page():
    assert session_token('<script>{"token":"abc.DEF-12_x"}</script>') == "abc.DEF-12_x"


def test_a_page_without_a_token_is_a_protocol_error():
    try:
        session_token("<html></html>")
    except ProtocolError:
        return
    raise AssertionError("no ProtocolError")


def test_the_cookie_jar_keeps_what_the_replies_set_as_a_browser_does():
    jar = {}
    keep_cookies(jar, ["downhill_route=0123abcd; Path=/; HttpOnly; SameSite=Lax",
                       "theme=dark; Max-Age=3600"])
    assert jar == {"downhill_route": "0123abcd", "theme": "dark"}
    assert cookie_header(jar) == "downhill_route=0123abcd; theme=dark"
    # A later reply replaces a value; Max-Age=0 deletes; a line that is no cookie is ignored.
    keep_cookies(jar, ["downhill_route=ffff; Path=/", "theme=; Max-Age=0", "\x00 not a cookie"])
    assert jar == {"downhill_route": "ffff"}
    assert cookie_header({}) == cookie_header(None) == ""


def test_one_client_changes_learning_rate_and_receives_the_new_path(server):
    url, _proc = server

    async def scenario():
        async with await BokehSession.open(url) as session:
            await session.open_tab("Gradient descent", names=["landscape-trajectory"])
            slider = session.find(title="Learning rate", type="Slider")
            # The default lesson: bowl x² + 3y² from (4, 3) with η = 0.1 → first step (3.2, 1.2).
            assert session.get(slider)["value"] == -1.0
            np.testing.assert_allclose(trajectory_first_step(session), (3.2, 1.2), rtol=1e-12)
            # η = 10**-0.5: x₁ = 4 − 2·4·η, y₁ = 3 − 6·3·η.
            eta = 10**-0.5
            await session.set_value(slider, -0.5)
            await session.wait_for(
                lambda: abs(trajectory_first_step(session)[0] - (4 - 8 * eta)) < 1e-9
            )
            np.testing.assert_allclose(
                trajectory_first_step(session), (4 - 8 * eta, 3 - 18 * eta), rtol=1e-12
            )
            typed = session.find(title="Type η")
            await session.wait_for(lambda: session.get(typed)["value"] == eta)
            assert not session.errors
        assert session.closed

    run(scenario())
