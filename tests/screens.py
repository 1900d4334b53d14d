"""Screenshots of the main screens, made from a real `relay serve` with a seeded team.

    ./infra/screenshots.sh            # the set shown in the README, into docs/
    ./infra/screenshots.sh --all DIR  # every whole page at phone and desktop, light and dark,
                                      # en and nl

The team: Anna de Vries starts a thread with a voice message, Sanne Jansen answers by voice,
Pieter Bakker in text, a guest through the link by voice; Sanne has a Dutch thread of her own.
Speech is espeak-ng, transcribed by the installed Whisper model like any recording.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from tests.bench.core import upload_file
from tests.support.browser import CHROMIUM, PASSWORD, QUIET
from tests.support.server import RELAY, ROOT, serve, stack_env
from tests.support.speech import make_passage

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
PEOPLE = {
    "anna": ("Anna de Vries", "anna@example.org"),
    "sanne": ("Sanne Jansen", "sanne@example.org"),
    "pieter": ("Pieter Bakker", "pieter@example.org"),
}


@dataclass
class Demo:
    base: str
    tokens: dict[str, str]
    thread_id: str
    share_url: str

    def http(self, who: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)


def add_people(env: dict[str, str]) -> dict[str, str]:
    tokens = {}
    for key, (name, email) in PEOPLE.items():
        argv = [*RELAY, "user", "add", "--name", name, "--email", email, "--password", PASSWORD]
        out = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        tokens[key] = out.stdout.strip().splitlines()[-1]
    return tokens


def voice(http: httpx.Client, tmp: Path, sentences: list[str], lang: str, **fields: object) -> dict:
    wav = make_passage(tmp / f"{time.monotonic_ns()}.wav", sentences, lang=lang, pause=0.4)
    message = http.post("/api/messages", json={"kind": "audio", **fields}).raise_for_status().json()
    upload_file(http, message["upload_url"], wav, patches=1)
    return message


def wait_ready(http: httpx.Client, ids: list[str], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    for message_id in ids:
        while time.monotonic() < deadline:
            body = http.get(f"/api/messages/{message_id}").json()
            transcript = (body.get("transcript") or {}).get("status")
            if body["status"] == "failed" or (
                body["status"] == "ready" and transcript not in ("pending", "running")
            ):
                break
            time.sleep(0.3)


def seed(base: str, env: dict[str, str], tmp: Path) -> Demo:
    tokens = add_people(env)
    demo = Demo(base, tokens, "", "")
    anna, sanne, pieter = demo.http("anna"), demo.http("sanne"), demo.http("pieter")
    first = voice(
        anna,
        tmp,
        [
            "Good morning team.",
            "The launch moves to Monday, so please review the budget before Friday.",
            "Tell me if anything blocks you.",
        ],
        "en",
    )
    wait_ready(anna, [first["id"]])
    demo.thread_id, demo.share_url = first["thread_id"], first["share_url"]
    token = demo.share_url.rsplit("/", 1)[1]
    for member in (sanne, pieter):
        member.put(f"/s/{token}/messages/{first['id']}/listen", json={"heard": True})
    answer = voice(
        sanne,
        tmp,
        ["Thanks Anna.", "The budget looks fine to me, I will send two small changes tonight."],
        "en",
        parent_id=first["id"],
    )
    pieter.post(
        "/api/messages",
        json={
            "kind": "text",
            "parent_id": first["id"],
            "body": "Works for me. I'll book the room.",
        },
    ).raise_for_status()
    anna.post(f"/api/messages/{first['id']}/reactions", json={"emoji": "👍"})
    guest = httpx.Client(base_url=base, timeout=60)
    csrf = guest.post(f"/s/{token}/guest", json={"name": "Joost (agency)"}).json()["csrf"]
    guest.headers["X-CSRF-Token"] = csrf
    reply = guest.post(f"/s/{token}/messages", json={"kind": "audio"}).raise_for_status().json()
    wav = make_passage(tmp / "guest.wav", ["Monday works for us too.", "See you then."], pause=0.4)
    upload_file(guest, reply["upload_url"], wav, patches=1)
    dutch = voice(
        sanne,
        tmp,
        ["Hoi allemaal.", "Kunnen we donderdag de planning voor het volgende kwartaal bespreken?"],
        "nl",
        language="nl",
    )
    wait_ready(anna, [answer["id"]])
    wait_ready(sanne, [dutch["id"]])
    return demo


# Screens ----------------------------------------------------------------------------------


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def shoot(
    demo: Demo, out: Path, device: str, scheme: str, lang: str, only: set[str], *, full: bool
) -> list[Path]:
    """The screens in `only`; `full`: whole pages rather than the first screen."""
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=QUIET, headless=True)
        options = PHONE if device == "phone" else DESKTOP
        locale = "nl-NL" if lang == "nl" else "en-GB"
        context = browser.new_context(**options, color_scheme=scheme, locale=locale)

        def snap(name: str, page: Page) -> None:
            if name not in only:
                return
            page.wait_for_timeout(600)
            path = out / f"{name}-{device}-{scheme}-{lang}.png"
            page.screenshot(path=str(path), full_page=full)
            shots.append(path)

        guest = context.new_page()
        guest.goto(demo.share_url)
        snap("link", guest)
        guest.close()
        page = context.new_page()
        sign_in(page, demo.base, PEOPLE["anna"][1])
        snap("inbox", page)
        page.goto(f"{demo.base}/t/{demo.thread_id}")
        snap("thread", page)
        share = (
            page.get_by_role("button", name="Share")
            if lang == "en"
            else page.get_by_role("button", name="Delen")
        )
        if "share" in only and share.count():
            share.first.click()
            snap("share", page)
        page.goto(f"{demo.base}/record")
        snap("record", page)
        page.goto(f"{demo.base}/me")
        snap("profile", page)
        page.goto(f"{demo.base}/nowhere")
        snap("missing", page)
        browser.close()
    return shots


README_SET = [
    ("phone", "light", "en", {"link", "thread", "record", "inbox"}),
    ("desktop", "dark", "nl", {"thread", "inbox"}),
]
SCREENS = {"link", "inbox", "thread", "share", "record", "profile", "missing"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", metavar="DIR", help="every screen and variant into DIR")
    args = parser.parse_args()
    out = Path(args.all) if args.all else ROOT / "docs"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = stack_env(tmp / "data", f"sqlite+aiosqlite:///{tmp}/relay.db", None)
        env.pop("RELAY_JOB_POLL_SECONDS")
        process, base = serve(env, tmp / "serve.log")
        try:
            demo = seed(base, env, tmp)
            if args.all:
                variants = [
                    (d, s, lang, SCREENS)
                    for d in ("phone", "desktop")
                    for s in ("light", "dark")
                    for lang in ("en", "nl")
                ]
            else:
                variants = README_SET
            for device, scheme, lang, only in variants:
                for path in shoot(demo, out, device, scheme, lang, only, full=bool(args.all)):
                    print(path.relative_to(out.parent) if not args.all else path)
        finally:
            process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
