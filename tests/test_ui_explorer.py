"""The results explorer in Debian's Chromium (Playwright, headless) against a real ``critica serve``: gold labels and
marks, figures against gold, sortable columns, the critic dropdown, plots that follow the filters, input errors,
prev/next items, the verifier's bound on the steps, transcripts, the compare view, offline ``/docs``, and pages that
fit a 1280 px screen and a 390 px phone without scrolling sideways.

Each view is saved as a screenshot under ``$CRITICA_ARTIFACTS`` (default ``artifacts/``). Skips when Chromium is
absent, except in CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from explorer_seed import seed
from ui_support import ARGS, CHROMIUM, artifacts, overflow, ready, serve

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else __import__(
    "playwright.sync_api", fromlist=["sync_playwright"])

WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explorer")
    seed(tmp / "critica.db")
    with serve(tmp / "critica.db", tmp / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    pg = browser.new_page(viewport=WIDE)
    pg.set_default_timeout(15_000)
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.requests = requests
    yield pg
    pg.close()


def _ids(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("rows => rows.map(r => r.dataset.item)")


def _shot(page, name: str) -> Path:
    path = artifacts() / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def test_the_empty_state_names_commands_that_exist(server, page):
    page.route("**/v1/runs", lambda route: route.fulfill(status=200, content_type="application/json", body="[]"))
    page.goto(server + "/ui/")
    ready(page, "/")
    text = page.locator("#empty").inner_text()
    assert "critica critique FILE" in text and "critica batch FILE --run NAME" in text
    assert "critique --run NAME" not in text  # `critique` needs no --run to be stored
    _shot(page, "ui-empty.png")


def test_runs_list_sorts_fits_and_starts_a_comparison(server, page):
    for viewport, name in ((PHONE, "ui-runs-phone.png"), (WIDE, "ui-runs.png")):
        page.set_viewport_size(viewport)
        page.goto(server + "/ui/")
        ready(page, "/")
        page.wait_for_selector("table#runs")
        assert overflow(page) <= 0, f"runs list scrolls sideways at {viewport['width']} px"
        _shot(page, name)
    runs = lambda: page.locator("table#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)")  # noqa: E731
    page.click("table#runs th[data-col=run]")
    assert runs() == sorted(runs())
    page.click("table#runs th[data-col=run]")
    assert runs() == sorted(runs(), reverse=True)
    page.click("table#runs th[data-col=items]")
    counts = page.locator("table#runs tbody td[data-label=items]").evaluate_all("cs => cs.map(c => +c.textContent)")
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert page.locator("#compare-selected").is_disabled()
    page.check("input[data-pick='pb-a']")
    page.check("input[data-pick='vf-b']")
    page.click("#compare-selected")
    ready(page, "/compare?runs=pb-a,vf-b")
    assert "3 shared item(s)" in page.locator("#shared").inner_text()


def test_run_page_shows_gold_figures_filters_sorts_and_lists_input_errors(server, page):
    page.goto(server + "/ui/#/runs/pb-a")
    ready(page, "/runs/pb-a")
    gold = page.locator("#gold-figures").inner_text()
    assert "66.7%" in gold and "F1 (ProcessBench)" in gold and "2 / 3" in gold  # the bench's F1: 2/3
    assert "50.0%" in gold and "100.0%" in gold  # accuracy on erroneous / correct items
    assert _ids(page, "#itemlist tbody tr") == ["q0", "q1", "q2"]
    row = page.locator("#itemlist tbody tr[data-item=q2]")
    assert "incorrect, first error step 1" in row.inner_text()
    assert row.locator("[data-mark=wrong]").count() == 1 and row.locator("[data-mark=right]").count() == 1
    # the critic filter is a dropdown of the critics present
    options = page.locator("select[name=critic] option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", "processbench", "verifier"]
    errors = page.locator("#input-errors").inner_text()
    assert "index 3" in errors and "must be an integer" in errors
    page.wait_for_function("() => [...document.querySelectorAll('#plots img')].every(i => i.naturalWidth > 0)"
                           " && document.querySelectorAll('#plots img').length === 4")
    _shot(page, "ui-run.png")

    # sortable columns (server-side: the list is paged)
    page.click("#itemlist th[data-sort=item] a")
    ready(page, "/runs/pb-a?sort=item")
    page.click("#itemlist th[data-sort=item] a")
    ready(page, "/runs/pb-a?sort=-item")
    assert _ids(page, "#itemlist tbody tr") == ["q2", "q1", "q0"]
    assert page.locator("#itemlist th[data-sort=item]").get_attribute("aria-sort") == "descending"

    # filters: on gold, and the plots and figures follow them
    page.requests.clear()
    page.select_option("select[name=outcome]", "wrong")
    ready(page, "/runs/pb-a?sort=-item&outcome=wrong")
    assert _ids(page, "#itemlist tbody tr") == ["q2"]
    assert "0 / 1" in page.locator("#gold-figures").inner_text()
    page.wait_for_function("() => document.querySelectorAll('#plots img').length === 4")
    plot_urls = [u for u in page.requests if "/plots/" in u]
    assert len(plot_urls) == 4 and all("outcome=wrong" in u for u in plot_urls)
    page.select_option("select[name=critic]", "verifier")
    ready(page, "/runs/pb-a?sort=-item&outcome=wrong&critic=verifier")
    assert _ids(page, "#itemlist tbody tr") == ["q1", "q0"]  # the verifier's wrong items (q0: no step named)
    assert page.locator("select[name=critic]").input_value() == "verifier"

    for viewport in (PHONE, WIDE):
        page.set_viewport_size(viewport)
        page.goto(server + "/ui/#/runs/pb-a")
        ready(page, "/runs/pb-a")
        page.wait_for_function("() => document.querySelectorAll('#plots img').length === 4")
        assert overflow(page) <= 0, f"run page scrolls sideways at {viewport['width']} px"
        if viewport is PHONE:
            _shot(page, "ui-run-phone.png")


def test_item_page_shows_gold_marks_bound_transcript_and_moves_between_items(server, page):
    page.goto(server + "/ui/#/runs/pb-a/items/q0")
    ready(page, "/runs/pb-a/items/q0")
    assert page.locator("#gold").inner_text().startswith("incorrect, first error step 2")
    cards = page.locator("#critiques article")
    own, verifier = cards.nth(0), page.locator("#critiques article[data-critic=verifier]")
    assert own.locator("[data-mark=right]").count() == 1
    # the verifier named no step but bounds the first error: shown as such, on the step too
    assert verifier.locator("[data-first-error]").inner_text() == "at or before step 2"
    assert verifier.locator("[data-mark=wrong]").count() == 1
    steps = page.locator("#steps li")
    assert steps.nth(1).locator("[data-bound]").count() == 1 and "at or before" in steps.nth(1).inner_text()
    assert steps.nth(1).locator("[data-gold-step]").count() == 1
    # the prompt sent and the whole exchange
    tr = own.locator("details.transcript")
    assert tr.get_attribute("data-calls") == "1"
    tr.locator("summary").click()
    roles = tr.locator(".msg").evaluate_all("ms => ms.map(m => m.dataset.role)")
    assert roles == ["system", "user", "reply"]
    assert "careful grader" in tr.inner_text() and "\\boxed{1}" in tr.inner_text()
    assert page.locator("[data-nav=prev]").evaluate("e => e.tagName") == "SPAN"  # first item: no previous
    _shot(page, "ui-item.png")
    page.click("a[data-nav=next]")
    ready(page, "/runs/pb-a/items/q1")
    assert "1 of" not in page.locator("#itemnav").inner_text() and "2 of 3" in page.locator("#itemnav").inner_text()
    # prev/next follow the filters the item was opened with
    page.goto(server + "/ui/#/runs/pb-a/items/q0?verdict=incorrect")
    ready(page, "/runs/pb-a/items/q0?verdict=incorrect")
    page.click("a[data-nav=next]")
    ready(page, "/runs/pb-a/items/q2?verdict=incorrect")
    assert "2 of 2" in page.locator("#itemnav").inner_text()
    page.set_viewport_size(PHONE)
    page.goto(server + "/ui/#/runs/pb-a/items/q0")
    ready(page, "/runs/pb-a/items/q0")
    assert overflow(page) <= 0
    _shot(page, "ui-item-phone.png")


def test_compare_view(server, page):
    page.goto(server + "/ui/#/compare?runs=pb-a,vf-b")
    ready(page, "/compare?runs=pb-a,vf-b")
    assert "3 shared item(s), matched by id and content" in page.locator("#shared").inner_text()
    cell = page.locator("#agreement tbody tr").nth(0).locator("td").nth(1)
    assert "66.7%" in cell.inner_text() and "of 3" in cell.inner_text()
    f1 = page.locator("#compare-metrics tr[data-metric=f1]").inner_text()
    assert "66.7%" in f1 and "0.0%" in f1
    assert _ids(page, "#compare-items tbody tr") == ["q0", "q1", "q2"]
    page.select_option("select[name=disagreement]", "true")
    ready(page, "/compare?runs=pb-a,vf-b&disagreement=true")
    assert _ids(page, "#compare-items tbody tr") == ["q1", "q2"]
    assert page.locator("#compare-items tbody tr[data-item=q2] [data-mark=wrong]").count() == 1
    assert overflow(page) <= 0
    _shot(page, "ui-compare.png")
    # from the comparison to the item: the compared run's critique is on the page
    page.click("#compare-items a:text-is('q2')")
    ready(page, "/runs/pb-a/items/q2?also=vf-b")
    assert "pb-a" in page.locator("#critiques").inner_text() and "(vf-b)" in page.locator("#critiques").inner_text()
    # same id, other content: left out and said so
    page.goto(server + "/ui/#/compare?runs=pb-a,pb-changed")
    ready(page, "/compare?runs=pb-a,pb-changed")
    assert "1 shared item(s)" in page.locator("#shared").inner_text() and "1 with the same id but other content" in page.locator("#shared").inner_text()
    # a run page's filters carry over into the comparison
    page.goto(server + "/ui/#/runs/pb-a?disagreement=true")
    ready(page, "/runs/pb-a?disagreement=true")
    page.select_option("#compare-with select", "vf-b")
    page.click("#compare-with button")
    ready(page, "/compare?")
    assert page.locator("select[name=disagreement]").input_value() == "true"
    page.set_viewport_size(PHONE)
    page.goto(server + "/ui/#/compare?runs=pb-a,vf-b")
    ready(page, "/compare?runs=pb-a,vf-b")
    assert overflow(page) <= 0
    _shot(page, "ui-compare-phone.png")


def test_docs_render_offline(server, page):
    # Swagger UI from local assets (fastapi-offline installed, as in CI) or the plain server-side reference; never a
    # blank page waiting on a CDN that Chromium here cannot reach
    page.goto(server + "/docs")
    page.wait_for_function("() => document.querySelectorAll('.opblock').length > 5 || document.querySelector('h1')")
    text = page.locator("body").inner_text()
    assert "critica" in text and "/v1/comparison" in text
    assert all(u.startswith(server) for u in page.requests if u.startswith("http")), page.requests
    _shot(page, "ui-docs.png")
