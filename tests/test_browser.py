"""The Space in a real browser (Debian's Chromium driven by Playwright): pick a task, run it,
see the step messages and the verdict appear, open the diff, replay a stored run. Screenshots
go to $AICODER_SCREENSHOTS (default: the test's tmp dir). Assertions are on visible text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from aicoder.tasks import load_tasks
from aicoder.ui.studio import StudioConfig
from sandbox import Limits
from tests.conftest import in_ci
from tests.server_double import ServerDouble, reference_responder
from tests.ui_helpers import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if in_ci():
            pytest.fail("CI must run the browser test: install chromium (apt)")
        pytest.skip("no /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run"])
        yield browser
        browser.close()


def test_run_a_task_then_replay_it(browser, bwrap, tmp_path):
    from eval.cli import main as eval_main

    shots = Path(os.environ.get("AICODER_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    tasks = load_tasks("builtin")
    runs = tmp_path / "runs"
    with ServerDouble(reference_responder(tasks, wrong=frozenset({"b002_box_iou"}))) as srv:
        assert eval_main(["run", "--tasks", "builtin", "--ids", "b002_box_iou", "--model",
                          f"openai:{srv.url}", "--max-rounds", "1",
                          "--out", str(runs / "stored")]) == 0
        config = StudioConfig(tasks={"Builtin suite": tasks}, models={"double":
                              f"openai:{srv.url}"}, sandbox=bwrap, runs_dir=runs,
                              limits=Limits(wall_s=30))
        with serve(config) as url:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            try:
                page.goto(url, wait_until="domcontentloaded")
                page.get_by_text("A model writes the function").wait_for()
                # the footer names the sandbox the code runs in
                page.get_by_text(f"Code runs in the {config.sandbox.name} sandbox").wait_for()
                page.screenshot(path=shots / "1-start.png", full_page=True)

                # pick b002 (the double answers it wrongly: the loop has something to repair)
                page.get_by_label("Task", exact=True).click()
                page.get_by_role("option", name="b002_box_iou · python").click()
                page.get_by_text("def box_iou").first.wait_for()
                page.get_by_role("button", name="Run").click()
                page.get_by_text("Writing the function · round 0").first.wait_for(timeout=30_000)
                page.get_by_text("Not passed").first.wait_for(timeout=60_000)
                page.get_by_text("Running the checks · round 1").first.wait_for()
                page.get_by_role("tab", name="Checks").click()
                page.get_by_text("✗ failed").first.wait_for()
                page.screenshot(path=shots / "2-run.png", full_page=True)

                page.get_by_role("tab", name="Diff").click()
                page.get_by_text("Same code as the previous attempt").wait_for()
                page.screenshot(path=shots / "3-diff.png", full_page=True)

                page.get_by_role("tab", name="Replay").click()
                page.get_by_label("or a run of the server").click()
                page.get_by_role("option", name="stored").click()
                page.get_by_text("1 samples loaded").wait_for(timeout=30_000)
                # the Try tab's chat holds the same titles, hidden now: look at what is visible
                visible = page.locator("text=Analysing the failure · round 1 >> visible=true")
                visible.first.wait_for(timeout=30_000)
                assert page.locator("text=Not passed >> visible=true").count() >= 1
                page.get_by_role("button", name="◀ Back").click()  # one step back: before the end
                from playwright.sync_api import expect

                expect(page.locator("text=Not passed >> visible=true")).to_have_count(0)
                expect(visible.first).to_be_visible()
                page.screenshot(path=shots / "4-replay.png", full_page=True)
            except Exception:
                page.screenshot(path=shots / "failure.png", full_page=True)
                raise
    assert sorted(p.name for p in shots.iterdir())[:4] == ["1-start.png", "2-run.png",
                                                           "3-diff.png", "4-replay.png"]


def test_a_visitor_behind_another_sees_their_place_in_the_queue(browser, bwrap, tmp_path):
    import time

    tasks = load_tasks("builtin")
    respond = reference_responder(tasks)

    def slow(body):
        time.sleep(3)
        return respond(body)

    with ServerDouble(slow) as srv:
        config = StudioConfig(tasks={"Builtin suite": tasks}, models={"double":
                              f"openai:{srv.url}"}, sandbox=bwrap, concurrency=1)
        with serve(config) as url:
            first, second = (browser.new_page(viewport={"width": 1400, "height": 1000})
                             for _ in range(2))
            for page in (first, second):
                page.goto(url, wait_until="domcontentloaded")
                page.get_by_text("A model writes the function").wait_for()
            first.get_by_role("button", name="Run").click()
            first.get_by_text("Writing the function · round 0").first.wait_for()
            second.get_by_role("button", name="Run").click()
            second.get_by_text("queue").first.wait_for(timeout=10_000)
            second.screenshot(path=tmp_path / "queued.png")
            second.get_by_text("Passed").first.wait_for(timeout=60_000)  # its turn came
