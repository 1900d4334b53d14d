"""The main flows in Safari's engine: WebKitGTK's MiniBrowser over WebDriver (selenium), with
a mock microphone. Run by infra/webkit.sh (not part of the suite: it needs Xvfb and WebKitGTK).

Against a real `relay serve` (embedded, default model): a spoken message's transcript appears
on the open thread page without a reload; the inbox's search opens a hit at its moment; the
recorder records a voice message (Safari records audio/mp4) that becomes ready; a reaction
goes through the thread page's picker. Prints one
JSON document and exits 1 when a flow fails."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.server import add_user, serve, stack_env, upload
from tests.support.speech import make_passage

MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
# An unknown argument makes the session hang (FACTS): only these.
ARGS = ("--automation", "--enable-mock-capture-devices=true", "--enable-media-stream=true")
PASSWORD = "correct horse battery"
SENTENCES = ["Good morning everyone, this is the weekly update.", "Please review the budget."]


def browser() -> WebDriver:
    options = webdriver.WebKitGTKOptions()
    options.binary_location = MINIBROWSER
    for argument in ARGS:
        options.add_argument(argument)
    driver = webdriver.WebKitGTK(options=options)
    driver.set_window_size(1280, 900)
    return driver


def sign_in(driver: WebDriver, base: str, next_path: str) -> None:
    driver.get(f"{base}/login?next={next_path}")
    driver.find_element(By.NAME, "email").send_keys("ann@example.org")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def run(base: str, token: str, speech: Path, driver: WebDriver) -> dict[str, object]:
    wait = WebDriverWait(driver, 120)
    headers = {"Authorization": f"Bearer {token}"}
    made = httpx.post(f"{base}/api/messages", json={"kind": "audio"}, headers=headers).json()

    async def send() -> None:
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            await upload(client, made["upload_url"], speech.read_bytes())

    sign_in(driver, base, f"/t/{made['thread_id']}")
    wait.until(lambda d: f"/t/{made['thread_id']}" in d.current_url)
    started = time.monotonic()
    asyncio.run(send())
    card = f"document.querySelector('#m-{made['id']} .tm-transcript')?.textContent || ''"
    wait.until(lambda d: "budget" in d.execute_script(f"return {card}"))
    result: dict[str, object] = {
        "user_agent": driver.execute_script("return navigator.userAgent"),
        "transcript_live_seconds": round(time.monotonic() - started, 1),
    }

    driver.get(f"{base}/")
    driver.find_element(By.ID, "search-q").send_keys("budget")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".hit-link"))
    hit = driver.find_elements(By.CSS_SELECTOR, ".hit-link")[0]
    moment = float(parse_qs(urlsplit(hit.get_attribute("href") or "").query)["t"][0])
    hit.click()
    media = "document.getElementById('tp-media')"
    wait.until(lambda d: d.execute_script(f"return {media}?.currentTime > 0"))
    position = driver.execute_script(f"return {media}.currentTime")
    assert abs(position - moment) <= 1, (position, moment)
    # Safari may refuse to start sound without a tap on the new page: then it waits there.
    result["search_hit"] = {"moment": moment, "position": round(position, 2)}

    # A reaction through the one "add a reaction" button and its picker.
    bubble = f"#m-{made['id']}"
    driver.find_element(By.CSS_SELECTOR, f"{bubble} [data-focus=picker]").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{bubble} [data-focus=picker-emoji]"))
    driver.find_elements(By.CSS_SELECTOR, f"{bubble} [data-focus=picker-emoji]")[0].click()
    chip = f"{bubble} .tm-chip[aria-pressed=true]"
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, chip))
    result["reaction"] = driver.find_element(By.CSS_SELECTOR, chip).text

    driver.get(f"{base}/record")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-recorder][data-ready]"))
    driver.find_element(By.CSS_SELECTOR, "[data-action=start]").click()
    time.sleep(4)
    driver.find_element(By.CSS_SELECTOR, "[data-action=stop]").click()
    # Stopped, the recording is heard back from a local Blob; Send finishes the upload.
    listen = "return document.querySelector('[data-recorder]').dataset.listen"
    wait.until(lambda d: d.execute_script(listen) == "ready")
    driver.find_element(By.CSS_SELECTOR, "[data-action=send]").click()
    share = driver.find_element(By.CSS_SELECTOR, "[data-share-input]").get_attribute("value")
    assert (share or "").startswith(f"{base}/s/"), share
    stopped = time.monotonic()

    def recorded(_: WebDriver) -> dict | None:
        listed = httpx.get(f"{base}/api/messages", headers=headers).json()["messages"]
        mine = [m for m in listed if m["id"] != made["id"]]
        return mine[0] if mine and mine[0]["status"] in ("ready", "failed") else None

    message = wait.until(recorded)
    assert message["status"] == "ready", message
    result["recording"] = {
        "ready_seconds_after_stop": round(time.monotonic() - stopped, 1),
        "duration": message["duration"],
        "renditions": sorted(r["mime"] for r in message["renditions"]),
    }
    return result


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="relay-webkit-"))
    env = stack_env(tmp / "var", f"sqlite+aiosqlite:///{tmp}/relay.db", None)
    token = add_user(env, "ann@example.org", PASSWORD)
    speech = make_passage(tmp / "speech.wav", SENTENCES, pause=1.5)
    process, base = serve(env, tmp / "serve.log")
    driver = browser()
    try:
        print(json.dumps({"webkit": run(base, token, speech, driver)}, indent=2))
        return 0
    except Exception as exc:  # a failed flow: say which, with the page it was on
        print(json.dumps({"webkit": {"failed": repr(exc), "url": driver.current_url}}))
        return 1
    finally:
        driver.quit()
        process.stop()


if __name__ == "__main__":
    sys.exit(main())
