"""The state inspector in a real browser: KaTeX typesets every rule from the server's own files
(no request leaves localhost, none fails), the numbers are the report's, and on a phone the
table neither scrolls the page sideways nor drops below 14 px text."""

import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

import landscapes
import optimizers
from app.inspector import value_text
from tests.ui.conftest import PHONE, free_port, start_server, stop_server, wait_for_models


@pytest.fixture(scope="module")
def inspector_url():
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("panel")), "serve", "tests/ui/inspector_page.py",
        "--port", str(port), "--address", "127.0.0.1", "--liveness",
        "--allow-websocket-origin", f"127.0.0.1:{port}",
    ]
    proc = start_server(command, port)
    yield f"http://127.0.0.1:{port}/inspector_page"
    stop_server(proc)


def _report(name, k):
    bowl = landscapes.get("bowl")
    return optimizers.inspect_step(bowl, optimizers.get(name, lr=0.1), bowl.start, k)


def _open(page, url):
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.goto(url)
    wait_for_models(page, ["state-inspector"])
    return failed


@pytest.mark.parametrize("name", ["adam", "momentum", "lion"])
def test_every_rule_is_typeset_by_katex_offline(page, inspector_url, name):
    report = _report(name, 3)
    failed = _open(page, f"{inspector_url}?optimizer={name}&k=3")
    rows = page.locator("tr[data-key]")
    expect(rows).to_have_count(len(report.quantities))
    expect(page.locator("td.rule .katex")).to_have_count(len(report.quantities))
    expect(page.locator("td.rule .katex-error")).to_have_count(0)
    for row in report.quantities:
        cells = page.locator(f"tr[data-key='{row.key}'] td.number")
        values = row.value.reshape(-1)
        expect(cells).to_have_text([value_text(v) for v in values])
    # Panel's KaTeX pane shows KaTeX's MathML (its CSS hides the HTML version; Panel ships no
    # KaTeX fonts), which Chromium typesets natively
    expect(page.locator("td.rule .katex math")).to_have_count(len(report.quantities))
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []
    assert failed == []


def test_on_a_phone_the_table_fits_and_reads(browser, inspector_url):
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        _open(page, f"{inspector_url}?optimizer=adam&k=3")
        expect(page.locator("td.rule .katex").first).to_be_visible()
        sideways = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert sideways <= 0
        assert _smallest_table_text(page) >= 14
    finally:
        context.close()


def _smallest_table_text(page):
    return page.evaluate("""() => {
        const cells = [];
        const walk = root => root.querySelectorAll('*').forEach(el => {
            if (el.shadowRoot) walk(el.shadowRoot);
            if (el.matches('td.number, th, .inspector-head')) cells.push(el);
        });
        walk(document);
        return Math.min(...cells.map(el => parseFloat(getComputedStyle(el).fontSize)));
    }""")


def test_presentation_mode_enlarges_the_table(browser, inspector_url):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    try:
        page = context.new_page()
        _open(page, f"{inspector_url}?optimizer=momentum&k=4&present=1")
        expect(page.locator("td.rule .katex").first).to_be_visible()
        assert _smallest_table_text(page) >= 24
        assert page.evaluate("document.documentElement.scrollWidth "
                             "- document.documentElement.clientWidth") <= 0
    finally:
        context.close()
