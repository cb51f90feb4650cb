"""The item page shows an item's images (issue 17): data URLs as pictures with their captions, placed with the
question or the response; a remote URL as a link that the page never loads. Debian's Chromium through Playwright,
against a real ``critica serve``, in the style of tests/test_ui.py (skips where Chromium is absent, outside CI)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from ui_support import ARGS, CHROMIUM, serve

from critica.store import Store
from critica.types import Critique, ImageInput, Item, Verdict

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else __import__(
    "playwright.sync_api", fromlist=["sync_playwright"])

from test_images import png  # noqa: E402 - after the skip: the helper module imports the engine

WIDE = "data:image/png;base64," + base64.b64encode(png(60, 20, (10, 120, 200))).decode()
SQUARE = "data:image/png;base64," + base64.b64encode(png(8, 8, (250, 250, 0))).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui-images")
    db = tmp / "critica.db"
    store = Store.open(db)
    store.create_run("design", protocol="design", source="shots")
    item = Item(id="shot", question="A sign-up page for a bank.", response="", images=[
        ImageInput(url=WIDE, caption="the page at 1280 px", part="response", source="shots/signup.png"),
        ImageInput(url=SQUARE, caption="the brand colour"),
        ImageInput(url="https://example.invalid/never-loaded.png", part="response")])
    store.add_critique("design", Critique(item_id="shot", critic="design", verdict=Verdict.INCORRECT,
                                          explanation="the grey caption is hard to read"), item)
    store.close()
    with serve(db, tmp / "server.log", "ui-key") as base:
        yield base


def test_item_page_shows_images_with_the_question_and_the_response(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(server + "/ui/")
            page.fill("#key", "ui-key")
            page.click("#keyform button")
            page.goto(server + "/ui/#/runs/design/items/shot")
            page.wait_for_function("p => (document.body.dataset.ready || '').startsWith(p)", arg="/runs/design/items/shot")
            question = page.locator(".images[data-part=question] figure")
            response = page.locator(".images[data-part=response] figure")
            assert question.count() == 1 and response.count() == 2
            assert "image 2 — the brand colour" in question.nth(0).inner_text()
            assert "image 1 — the page at 1280 px (shots/signup.png)" in response.nth(0).inner_text()
            page.wait_for_function("() => [...document.querySelectorAll('.images img')].every(i => i.naturalWidth > 0)")
            widths = page.locator(".images img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
            assert sorted(widths) == [8, 60]
            link = response.nth(1).locator("a")
            assert link.get_attribute("href") == "https://example.invalid/never-loaded.png"
            assert response.nth(1).locator("img").count() == 0
            assert not any("example.invalid" in u for u in requested)  # a remote image is never fetched by the page
        finally:
            browser.close()
