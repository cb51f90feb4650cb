"""The web UI in Debian's Chromium (Playwright, headless) against a real ``critica serve`` with stored runs.

Clicks runs → run → item and asserts what is shown; saves a screenshot of the item page under ``artifacts/`` (or
``$CRITICA_ARTIFACTS``). The results explorer's views (gold labels, compare, narrow screens) are in test_ui_explorer.py.
Skips when Chromium is absent, except in CI (``CI=true``), where ``.ci/run`` installs it and a skip would hide a gap.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ui_support import ARGS, CHROMIUM, artifacts, serve

from critica.loops.revise import Round, StopReason, Trajectory
from critica.store import Store
from critica.types import Critique, Item, ParseStatus, StepJudgment, StepVerdict, Verdict

REPO = Path(__file__).resolve().parents[1]

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else __import__(
    "playwright.sync_api", fromlist=["sync_playwright"])


def _seed(db: Path) -> None:
    store = Store.open(db)
    store.create_run("pb", {"critic": "processbench"}, model="local:smollm2", protocol="processbench", source="set")
    store.create_run("vf", protocol="verifier", source="set")
    store.create_run("rf", model="local:smollm2", protocol="refine", source="set")
    items = [
        Item(id="q0", question="Tom has 3 apples and buys 4 more. How many apples?",
             steps=["Tom starts with 3 apples.", "3 + 4 = 8", "So Tom has 8 apples."], reference_answer="7"),
        Item(id="q1", question="What is 10 / 2?", steps=["10 / 2 = 5", "The answer is 5."], reference_answer="5"),
        Item(id="q2", question="What is 6 * 7?", steps=["6 * 7 = 42"], reference_answer="42"),
    ]
    pb = [("incorrect", 1), ("incorrect", 0), ("unscored", None)]
    vf = [("incorrect", 1), ("correct", None), ("correct", None)]
    for item, (v1, e1), (v2, e2) in zip(items, pb, vf, strict=True):
        sample = Critique(item_id=item.id, critic="processbench", verdict=Verdict(v1), first_error_step=e1,
                          parse_status=ParseStatus.FAILED if v1 == "unscored" else ParseStatus.OK)
        own = sample.model_copy(update={"explanation": f"critique of {item.id}: the addition is wrong" if e1 == 1 else "",
                                        "samples": [sample, sample] if item.id == "q0" else [],
                                        "model": "local:smollm2", "latency_s": 0.4})
        store.add_critique("pb", own, item)
        findings = [{"kind": "arithmetic", "verdict": "incorrect", "message": "3 + 4 = 7, not 8", "step": 1}] if e2 == 1 else []
        store.add_critique("vf", Critique(item_id=item.id, critic="verifier", verdict=Verdict(v2), first_error_step=e2,
                                          steps=[StepJudgment(index=1, verdict=StepVerdict.INCORRECT, explanation="3 + 4 = 7")] if e2 == 1 else [],
                                          metadata={"findings": findings}), item)
    wrong = Critique(item_id="q0", critic="processbench", verdict=Verdict.INCORRECT, first_error_step=1, explanation="3 + 4 is 7")
    right = Critique(item_id="q0", critic="processbench", verdict=Verdict.CORRECT, explanation="all steps hold")
    traj = Trajectory(item_id="q0", question=items[0].question, initial_answer="3 + 4 = 8", final_answer="3 + 4 = 7",
                      final_round=1, stop_reason=StopReason.ACCEPTED, critic="processbench", generator="local:smollm2",
                      rounds=[Round(index=0, answer="3 + 4 = 8", critique=wrong, verdict=wrong.verdict, accepted=False),
                              Round(index=1, answer="3 + 4 = 7", critique=right, verdict=right.verdict, accepted=True)])
    store.add_critique("rf", right.model_copy(update={"critic": "refine", "metadata": {"trajectory": traj.model_dump(mode="json")}}), items[0])
    store.finish_run("pb", {"items": 3, "f1": 0.5})
    store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    db = tmp / "critica.db"
    _seed(db)
    with serve(db, tmp / "server.log", "ui-key") as base:
        yield base


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.set_default_timeout(15_000)
        yield pg
        browser.close()


def _ready(page, prefix: str) -> None:
    page.wait_for_function("p => (document.body.dataset.ready || '').startsWith(p)", arg=prefix)


def test_click_through_runs_item_and_critiques(server, page):
    page.goto(server + "/ui/")
    _ready(page, "/")
    assert "401" in page.locator("#view").inner_text() and "API key" in page.locator("#view").inner_text()
    page.fill("#key", "ui-key")
    page.click("#keyform button")
    page.wait_for_selector("table#runs")
    assert sorted(page.locator("table#runs tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)")) == ["pb", "rf", "vf"]

    page.click("table#runs a:text-is('pb')")
    _ready(page, "/runs/pb")
    figures = page.locator("#figures").inner_text()
    assert "3\ncritiques" in figures and "2\nincorrect" in figures and "66.7%" in figures
    assert page.locator("#itemlist tbody tr").count() == 3
    page.wait_for_function("() => document.querySelector('img[data-plot=verdicts]')?.naturalWidth > 0")

    page.select_option("select[name=verdict]", "incorrect")
    _ready(page, "/runs/pb?verdict=incorrect")
    assert sorted(page.locator("#itemlist tbody tr").evaluate_all("rows => rows.map(r => r.dataset.item)")) == ["q0", "q1"]
    page.select_option("select[name=disagreement]", "true")
    _ready(page, "/runs/pb?verdict=incorrect&disagreement=true")
    assert page.locator("#itemlist tbody tr").evaluate_all("rows => rows.map(r => r.dataset.item)") == ["q1"]
    page.select_option("select[name=verdict]", "")
    _ready(page, "/runs/pb?disagreement=true")
    page.select_option("select[name=disagreement]", "")
    _ready(page, "/runs/pb?")
    page.select_option("select[name=parse_status]", "failed")
    _ready(page, "/runs/pb?parse_status=failed")
    assert page.locator("#itemlist tbody tr").evaluate_all("rows => rows.map(r => r.dataset.item)") == ["q2"]

    page.goto(server + "/ui/#/runs/pb")
    _ready(page, "/runs/pb")
    page.click("#itemlist a:text-is('q0')")
    _ready(page, "/runs/pb/items/q0")
    assert "Tom has 3 apples" in page.locator("#question").inner_text()
    steps = page.locator("#steps li")
    assert steps.count() == 3
    assert "first-error" in steps.nth(1).get_attribute("class")
    assert "first-error" not in (steps.nth(0).get_attribute("class") or "")
    assert "3 + 4 = 7, not 8" in steps.nth(1).inner_text()  # the verifier's finding sits on its step
    cards = page.locator("#critiques article")
    # processbench + its 2 samples, the verifier's (peer run) and the refinement run's
    assert cards.count() == 5
    assert cards.nth(0).locator("[data-first-error]").inner_text() == "step 2"
    assert "critique of q0" in cards.nth(0).inner_text()
    critics = [cards.nth(i).get_attribute("data-critic") for i in range(5)]
    assert critics[:3] == ["processbench"] * 3 and sorted(critics[3:]) == ["refine", "verifier"]
    rounds = page.locator("#rounds .round")
    assert rounds.count() == 2 and "3 + 4 = 8" in rounds.nth(0).inner_text() and "correct" in rounds.nth(1).inner_text()
    assert "stopped: accepted" in page.locator(".trajectory").inner_text()

    out = artifacts()
    page.screenshot(path=str(out / "ui-item-page.png"), full_page=True)
    assert (out / "ui-item-page.png").stat().st_size > 10_000


def test_an_unknown_item_shows_the_api_error(server, page):
    page.goto(server + "/ui/#/runs/pb/items/nope")
    _ready(page, "/runs/pb/items/nope")
    assert "404" in page.locator("#view").inner_text() and "no item 'nope'" in page.locator("#view").inner_text()
