"""The workbench in a real browser: Debian's Chromium driven by Playwright, against keepdown
served by uvicorn on loopback, with benign synthetic pictures served by a loopback site.

An analyst signs in, reviews three items with the keyboard only (confirm, not a match,
escalate), and the test checks what the browser received: the blurred, grayscale preview
until the reveal, the reveal in the audit log before the sharp picture arrives, the notice
drafted from the confirmed item and its page; a platform person cannot reach the queue.

Set ``KEEPDOWN_SCREENSHOTS=<folder>`` to save screenshots of the main pages there
(``scripts/screenshots.py`` does, into docs/screenshots/). Only blurred previews of the
synthetic pictures are ever captured.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from keepdown.auth import Role
from keepdown.auth.passwords import Passwords
from keepdown.events import ReviewDecided
from tests.web.conftest import PASSWORD, web_context_of, web_settings
from tests.web.seed import draft_notices, image_site, seed

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """keepdown's app on uvicorn in a thread (the ``keepdown serve`` server)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("keepdown did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def workbench(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    from keepdown.app import build_app

    app, services = build_app(web_settings(tmp_path), refresh_in_background=False)
    ctx = web_context_of(app)
    ctx.signin.passwords = Passwords(time_cost=1, memory_cost=1024)
    services.auth.ensure_organisation("acme")
    people = {
        Role.ANALYST: "ana",
        Role.ADMIN: "ada",
        Role.PLATFORM: "pat",
    }
    for role, name in people.items():
        ctx.signin.add_user(
            name,
            PASSWORD,
            organisation="acme",
            role=role,
            display_name=name.title(),
            senior=role is Role.ADMIN,
        )
    with image_site() as site, Served(app) as base:
        seeded = seed(services, ctx, site)
        yield {"base": base, "services": services, "ctx": ctx, "seeded": seeded}


def _grey_and_soft(data: bytes) -> tuple[bool, float]:
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)
    grey = float(np.abs(pixels[..., 0] - pixels[..., 2]).max()) <= 1.0
    g = pixels.mean(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return grey, float(lap.var())


class Shots:
    """Screenshots into KEEPDOWN_SCREENSHOTS (nothing when it is unset)."""

    def __init__(self) -> None:
        folder = os.environ.get("KEEPDOWN_SCREENSHOTS")
        self.folder = Path(folder) if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, name: str) -> None:
        if self.folder is not None:
            # caret="initial": hiding the caret would inject a style the CSP refuses.
            page.screenshot(path=str(self.folder / f"{name}.png"), caret="initial")


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/web/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/web/", page.locator("main").inner_text()


def _item(page: Any) -> int:
    return int(page.locator("#review-item").get_attribute("data-sighting"))


def _next_item(page: Any, previous: int) -> None:
    page.wait_for_function(
        "prev => { const el = document.querySelector('#review-item');"
        " return !el || el.dataset.sighting !== String(prev); }",
        arg=previous,
    )


def test_an_analyst_reviews_three_items_with_the_keyboard(workbench: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    base, services, ctx = workbench["base"], workbench["services"], workbench["ctx"]
    shots = Shots()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
            page = context.new_page()
            console_errors: list[str] = []
            page.on(
                "console", lambda m: console_errors.append(m.text) if m.type == "error" else None
            )
            shots.take(page.goto(f"{base}/web/login") and page, "login")
            _sign_in(page, base, "ana")
            page.goto(f"{base}/web/review")
            decided = []

            # 1. Blurred until revealed: the browser got a small grey soft picture.
            first = _item(page)
            img = page.locator("img.review-media")
            assert img.get_attribute("src") == f"/web/review/{first}/media"
            img.wait_for(state="visible")
            page.wait_for_function("() => document.querySelector('img.review-media').complete")
            blurred = page.request.get(f"{base}/web/review/{first}/media")
            assert blurred.headers["cache-control"] == "no-store"
            grey, soft = _grey_and_soft(blurred.body())
            assert grey
            assert page.request.get(f"{base}/web/review/{first}/media/revealed").status == 403
            shots.take(page, "review")
            reveals_before = services.auth.audit_log.list_records(limit=50, action="review.reveal")
            page.keyboard.press("r")
            page.wait_for_selector(f'img[src="/web/review/{first}/media/revealed"]')
            reveals = services.auth.audit_log.list_records(limit=50, action="review.reveal")
            assert len(reveals) == len(reveals_before) + 1
            assert (reveals[0].actor, reveals[0].target) == ("user:ana", f"sighting:{first}")
            sharp = page.request.get(f"{base}/web/review/{first}/media/revealed")
            assert _grey_and_soft(sharp.body())[1] > 5 * soft
            page.keyboard.press("r")  # blur again before the screenshot-free part ends
            page.wait_for_selector(f'img[src="/web/review/{first}/media"]')

            # 2. Confirm with C (the category is preselected from the entry).
            page.keyboard.press("c")
            _next_item(page, first)
            decided.append(first)

            # 3. Not a match, allow-listed: A then N.
            second = _item(page)
            page.keyboard.press("a")
            assert page.locator("#allow-list").is_checked()
            page.keyboard.press("n")
            _next_item(page, second)
            decided.append(second)

            # 4. Escalate with a note: keys typed in the note are text, not shortcuts.
            third = _item(page)
            page.get_by_label("Note (optional; shown to a senior analyst on escalation)").fill(
                "mirrored copy: second opinion please (c n e s)"
            )
            assert _item(page) == third
            page.locator("#note").blur()
            page.keyboard.press("e")
            _next_item(page, third)
            decided.append(third)
            assert not console_errors, console_errors

            events = [e for e in services.storage.events.read("review_decided")]
            assert [
                (e.sighting_id, e.decision) for e in events if isinstance(e, ReviewDecided)
            ] == [
                (str(first), "confirm"),
                (str(second), "not_a_match"),
                (str(third), "escalate"),
            ]
            assert ctx.review_store.get(first).state == "confirmed"
            assert ctx.review_store.get(second).state == "rejected"
            assert ctx.review_store.get(third).escalation_note.startswith("mirrored copy")

            # 5. The confirmed item becomes a notice; follow it to its page.
            (notice,) = draft_notices(ctx.notices, ctx.clock.now())
            page.goto(f"{base}/web/sightings")
            shots.take(page, "sightings")
            page.get_by_role("link", name="Notices").click()
            page.get_by_role("link", name=notice.reference).click()
            page.wait_for_url(f"{base}/web/notices/{notice.reference}")
            assert ctx.review_store.get(first).media_url in page.locator("main").inner_text()
            shots.take(page, "notice")
            page.goto(f"{base}/web/account")
            shots.take(page, "account")
            context.close()

            # 6. The admin reads the reveal in the audit log; a platform person has no queue.
            admin = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            _sign_in(admin, base, "ada")
            admin.goto(f"{base}/web/audit?action=review.reveal")
            assert f"sighting:{first}" in admin.locator("#audit").inner_text()
            admin.goto(f"{base}/web/audit")
            assert "review.decide" in admin.locator("#audit").inner_text()
            shots.take(admin, "audit")
            admin.goto(f"{base}/web/banks/hotline-a")
            shots.take(admin, "bank")
            admin.goto(f"{base}/web/providers")
            shots.take(admin, "providers")
            platform = browser.new_context().new_page()
            _sign_in(platform, base, "pat")
            assert platform.get_by_role("link", name="Review").count() == 0
            answer = platform.goto(f"{base}/web/review")
            assert answer.status == 403
            assert "Not allowed" in platform.locator("h1").inner_text()
        finally:
            browser.close()
    if shots.folder is not None:
        shutil.rmtree(shots.folder / "tmp", ignore_errors=True)
