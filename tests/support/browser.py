"""Playwright helpers: Debian's chromium with a fake camera and a WAV file as microphone.

Playwright never downloads a browser here: every launch names /usr/bin/chromium.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"


def launch(
    playwright: Playwright,
    wav: Path | None,
    *,
    allow_media: bool = True,
    extra: tuple[str, ...] = (),
) -> Browser:
    """Chromium with fake devices; without `allow_media` the permission prompt is refused."""
    args = [*QUIET, *extra, "--use-fake-device-for-media-stream"]
    if allow_media:
        args.append("--use-fake-ui-for-media-stream")
    else:
        args.append("--deny-permission-prompts")
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav}")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


def sign_in(page: Page, base: str, email: str, next_path: str = "/record") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation(timeout=10_000):
        page.click("button[type=submit]")


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
        + [str(path)],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return json.loads(out)


def is_png(path: Path) -> bool:
    return (
        path.is_file()
        and path.stat().st_size > 100
        and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    )


AXE = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page, within: str | None = None) -> list[str]:
    """Serious and critical WCAG 2.x A/AA findings of axe-core in the page, or in the element
    `within` selects (injected: the page's context must bypass its CSP, for the test only)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "within => axe.run(within ? document.querySelector(within) : document, "
        "{runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})",
        within,
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
