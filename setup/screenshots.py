"""Take the Apps page screenshots of the addons from a real headless Chromium.

Drives chromedriver through its W3C HTTP API against a running demo database
(``setup/demo`` serves one on 127.0.0.1:8069) and writes PNGs into each addon's
``static/description/``.

Usage: .venv/bin/python setup/screenshots.py [--url http://127.0.0.1:8069]
"""

import argparse
import base64
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 30
# the inbox opens on "Needs attention", empty after a peak that lost nothing
DROP_FILTER = "document.querySelector('.o_searchview_facet .o_facet_remove')?.click()"
SHOTS = [
    (
        "integration_core",
        "screenshot_dashboard.png",
        "/odoo/action-integration_core.action_integration_dashboard",
        ".o_kanban_record .fa-inbox",
        None,
    ),
    (
        "integration_core",
        "screenshot_inbox.png",
        "/odoo/action-integration_core.action_integration_inbox_message",
        ".o_list_view",
        # the full picture: drop the default "Needs attention" filter
        DROP_FILTER,
    ),
    (
        "integration_core",
        "screenshot_message_form.png",
        "/odoo/action-integration_core.action_integration_inbox_message",
        ".o_list_view",
        DROP_FILTER + ";setTimeout(() => document.querySelector("
        "'.o_data_row .o_data_cell[name=topic]').click(), 1500);",
    ),
    (
        "integration_shopify",
        "screenshot_shopify_backend.png",
        "/odoo/action-integration_core.action_integration_backend",
        ".o_list_view .o_data_row",
        "[...document.querySelectorAll('.o_data_row')]"
        ".find((row) => row.textContent.includes('Shopify'))"
        ".querySelector('.o_data_cell').click();"
        # then the connector's own tab, once the form is there
        "setTimeout(() => [...document.querySelectorAll('.o_notebook .nav-link')]"
        ".find((tab) => tab.textContent.trim() === 'Shopify').click(), 1500);",
    ),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Driver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.profile = tempfile.mkdtemp(prefix="integration-shots-")
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": shutil.which("chromium"),
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--hide-scrollbars",
                            f"--user-data-dir={self.profile}",
                            "--window-size=1400,900",
                        ],
                    },
                }
            }
        }
        answer = requests.post(
            f"{self.base}/session", json=caps, timeout=TIMEOUT
        ).json()
        self.session = f"{self.base}/session/{answer['value']['sessionId']}"

    def call(self, method, path, payload=None):
        response = requests.request(
            method, f"{self.session}{path}", json=payload, timeout=TIMEOUT
        )
        response.raise_for_status()
        return response.json()["value"]

    def get(self, url):
        self.call("POST", "/url", {"url": url})

    def run(self, script):
        return self.call("POST", "/execute/sync", {"script": script, "args": []})

    def wait_for(self, selector, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.run(f"return !!document.querySelector({selector!r})"):
                return
            time.sleep(0.3)
        raise TimeoutError(selector)

    def screenshot(self, path):
        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))

    def quit(self):
        requests.delete(self.session, timeout=TIMEOUT)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    args = parser.parse_args()
    port = free_port()
    chromedriver = subprocess.Popen(
        [shutil.which("chromedriver"), f"--port={port}"], stdout=subprocess.DEVNULL
    )
    try:
        for _ in range(50):
            try:
                requests.get(f"http://127.0.0.1:{port}/status", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        driver = Driver(port)
        try:
            driver.get(f"{args.url}/web/login")
            driver.wait_for("input[name=login]")
            driver.run(
                f"document.querySelector('input[name=login]').value = {args.login!r};"
                "document.querySelector('input[name=password]').value = "
                f"{args.password!r};"
                "document.querySelector('form.oe_login_form').submit();"
            )
            driver.wait_for(".o_main_navbar")
            for addon, name, path, selector, action in SHOTS:
                out = ROOT / addon / "static" / "description" / name
                driver.get(f"{args.url}{path}")
                driver.wait_for(selector)
                if action:
                    driver.run(action)
                    time.sleep(1.5)
                    driver.wait_for(".o_form_view, .o_list_view .o_data_row")
                time.sleep(1.5)
                driver.screenshot(out)
                sys.stdout.write(f"wrote {out}\n")
        finally:
            driver.quit()
    finally:
        chromedriver.terminate()
        chromedriver.wait(timeout=10)


if __name__ == "__main__":
    main()
