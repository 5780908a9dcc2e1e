"""Screenshots of the main screens, written beside this file (docs/screenshots/*.png).

    PYTHONPATH=. .venv/bin/python docs/screenshots/take.py                 # starts its own `hotline up`
    PYTHONPATH=. .venv/bin/python docs/screenshots/take.py --url http://127.0.0.1:8000   # a running one

Uses Debian's chromium (never a downloaded browser) at a desktop size in Vietnamese. With its own
server it opens a ticket and takes it through dispatch and assignment over the API first, so
the lists, the inbox and the ticket page have something to show. Demo users' password:
Hotline@1022.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parent
ROOT = OUT.parents[1]
PASSWORD = "Hotline@1022"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def own_server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="hotline-shots-") as data:
        env = {k: v for k, v in os.environ.items() if k not in ("HOTLINE_DATABASE_URL", "HOTLINE_TEMPORAL_ADDRESS")}
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--port", str(port), "--data-dir", data],
                                cwd=ROOT, env={**env, "HOTLINE_LOG_LEVEL": "WARNING"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise SystemExit("hotline up exited; run it by hand to see why")
                time.sleep(0.5)
            else:
                raise SystemExit("hotline up did not become ready in 180 s")
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)


def token(client: httpx.Client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def complete(client: httpx.Client, headers: dict[str, str], code: str, bpmn_id: str, **data: object) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = client.get("/api/v1/inbox", headers=headers, params={"per_page": 200}).json()["items"]
        found = [i for i in items if i["ticket_code"] == code and i["bpmn_id"] == bpmn_id]
        if found:
            client.post(f"/api/v1/inbox/{found[0]['id']}/complete", headers=headers, json={"data": data}).raise_for_status()
            return
        time.sleep(0.2)
    raise SystemExit(f"task {bpmn_id} of {code} never reached the inbox")


def sample_tickets(url: str) -> str:
    """Two tickets: one waiting at the desk, one assigned to an officer. Returns the second's code."""
    with httpx.Client(base_url=url, timeout=30) as client:
        desk, manager = token(client, "dieuphoi"), token(client, "ld.tranbien")
        units = {u["code"]: u["path"] for u in client.get("/api/v1/org-units", headers=token(client, "admin")).json()}
        codes = []
        for key, text in (("shots-1", "Cây xanh ngã đổ chắn ngang đường Phạm Văn Thuận, phường Trấn Biên."),
                          ("shots-2", "Đèn tín hiệu giao thông tại ngã tư Tân Phong không hoạt động từ sáng.")):
            response = client.post("/api/v1/tickets", headers={**desk, "Idempotency-Key": f"{key}-{int(time.time())}"},
                                   json={"channel": "call", "description": text, "citizen_name": "Nguyễn Văn An",
                                         "citizen_phone": "0912345678", "address": "Phường Trấn Biên, Đồng Nai",
                                         "latitude": 10.9575, "longitude": 106.8427})
            response.raise_for_status()
            codes.append(response.json()["code"])
        complete(client, desk, codes[1], "dispatch", unit_path=units["P.TRANBIEN"], note="Chuyển phường xử lý")
        complete(client, manager, codes[1], "assign", decision="officer", officer="cv.tranbien")
        return codes[1]


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda address: "/login" not in address, timeout=30_000)


def shoot(page: Page, url: str, path: str, name: str) -> None:
    page.goto(f"{url}{path}")
    page.wait_for_load_state("networkidle")
    # caret="initial": Playwright hides the caret with an injected style, which our CSP refuses
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True, caret="initial")
    print(f"docs/screenshots/{name}.png  ({path})")


def take(url: str, code: str | None) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900})
        page = context.new_page()
        shoot(page, url, "/login", "01-login")
        sign_in(page, url, "dieuphoi")
        shoot(page, url, "/", "02-home-desk")
        shoot(page, url, "/desk/new", "03-desk-new-tickets")
        shoot(page, url, "/tickets", "04-ticket-list")
        if code:
            shoot(page, url, f"/tickets/{code}", "05-ticket-detail")
        shoot(page, url, "/desk/new/add", "07-desk-add-report")
        shoot(page, url, "/desk/dispatch-rules", "08-dispatch-rules")
        context.clear_cookies()
        sign_in(page, url, "cv.tranbien")
        shoot(page, url, "/inbox", "06-officer-inbox")
        context.clear_cookies()
        sign_in(page, url, "admin")
        shoot(page, url, "/admin/users", "09-admin-users")
        shoot(page, url, "/admin/units", "10-admin-units")
        shoot(page, url, "/admin/areas", "11-admin-areas")
        shoot(page, url, "/admin/fields", "12-admin-fields")
        shoot(page, url, "/admin/audit", "13-admin-audit")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server with demo data (default: start one)")
    args = parser.parse_args()
    if args.url:
        take(args.url.rstrip("/"), None)
        return
    with own_server() as url:
        take(url, sample_tickets(url))


if __name__ == "__main__":
    main()
