"""The page loads in real Chromium, offline-clean."""

from tests.ui.conftest import wait_for_models  # noqa: F401


def test_page_loads_without_console_errors_or_external_requests(page, server_url):
    page.goto(server_url)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    page.get_by_text("Downhill").first.wait_for()
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []
