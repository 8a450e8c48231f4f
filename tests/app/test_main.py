"""The page and the `downhill` command, without a browser."""

import panel as pn
import pytest

from app import cli, server
from app.lessons import Backpropagation, Derivative, GradientDescent, StochasticAdaptive
from app.main import LESSONS, build_lessons, build_page


def test_the_page_has_a_header_and_four_tabs_in_teaching_order():
    page = build_page()
    header, _lecture_tools, tabs = page.objects
    assert "Downhill" in header.object.text and "How models learn" in header.object.text
    assert isinstance(tabs, pn.Tabs)
    assert [title for title, _lesson in LESSONS] == [
        "Derivative", "Gradient descent", "Backpropagation", "Stochastic & adaptive"]
    assert tabs._names == ["Derivative", "Gradient descent", "Backpropagation",
                           "Stochastic & adaptive"]
    kinds = [type(lesson) for _title, lesson in build_lessons()]
    assert kinds == [Derivative, GradientDescent, Backpropagation, StochasticAdaptive]


def test_every_page_builds_its_own_lessons_figures_and_sources():
    first, second = build_lessons(), build_lessons()
    build_page(first), build_page(second)
    first_descent, second_descent = first[1][1], second[1][1]
    assert first_descent is not second_descent
    assert first_descent.landscape_figure is not second_descent.landscape_figure
    assert first_descent.path_sources[0] is not second_descent.path_sources[0]
    first_descent.step()
    assert len(second_descent.path_sources[0].data["x"]) == 1


def test_cli_defaults_serve_localhost_5006_and_open_a_browser():
    options = cli.server_options(cli.parse_args([]))
    assert options["port"] == 5006
    assert options["address"] == "localhost"
    assert options["show"] is True
    assert options["liveness"] is True
    assert options["compress_response"] is True
    assert options["admin"] is False
    assert options["num_procs"] == 1
    assert "websocket_origin" not in options


def test_cli_options():
    args = cli.parse_args([
        "--port", "8080", "--address", "0.0.0.0", "--allow-websocket-origin", "a.example:80",
        "--allow-websocket-origin", "b.example", "--num-procs", "2", "--no-browser",
    ])
    options = cli.server_options(args)
    assert (options["port"], options["address"], options["show"]) == (8080, "0.0.0.0", False)
    assert options["websocket_origin"] == ["a.example:80", "b.example"]
    assert options["num_procs"] == 2


@pytest.mark.parametrize("argv", [["--port", "70000"], ["--num-procs", "-1"], ["--port", "x"]])
def test_cli_rejects_bad_options(argv):
    with pytest.raises(SystemExit):
        cli.parse_args(argv)


def test_cli_serves_app_main_py(monkeypatch):
    calls = []
    monkeypatch.setattr(server, "serve", lambda panels, **options: calls.append((panels, options)))
    cli.main(["--no-browser", "--port", "5099"])
    (panels, options), = calls
    assert panels == {"/": str(cli.MAIN)}
    assert cli.MAIN.name == "main.py" and cli.MAIN.exists()
    assert options["port"] == 5099 and options["show"] is False


def test_cli_takes_websocket_origins_from_the_environment_when_not_given(monkeypatch):
    monkeypatch.setenv("DOWNHILL_ALLOW_WEBSOCKET_ORIGIN", "192.168.1.20:5006, lecture.example.org")
    options = cli.server_options(cli.parse_args(["--no-browser"]))
    assert options["websocket_origin"] == ["192.168.1.20:5006", "lecture.example.org"]
    argv = ["--allow-websocket-origin", "a.example", "--no-browser"]
    options = cli.server_options(cli.parse_args(argv))
    assert options["websocket_origin"] == ["a.example"]


def test_cli_default_origin_is_not_a_wildcard(monkeypatch):
    monkeypatch.delenv("DOWNHILL_ALLOW_WEBSOCKET_ORIGIN", raising=False)
    assert "websocket_origin" not in cli.server_options(cli.parse_args(["--no-browser"]))
