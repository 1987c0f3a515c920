"""Smoke test of README command 1: ``setup/demo --orders 50 --rate 2 --exit``
on a database and port of its own, judged by its machine-readable summary:
orders, payments, shipments, deliveries and invoices, nothing lost or doubled
in any system's ledger, and the carrier's outage."""

import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from .e2e import harness

# tests/ is collected through .build/addons/integration_suite, a symlink to the root
ROOT = Path(__file__).resolve().parents[1]
_logger = logging.getLogger(__name__)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _png_size(path):
    """(width, height) of a PNG file; raises if it is not one."""
    with open(path, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert header[12:16] == b"IHDR", "PNG without its header chunk"
    return struct.unpack(">II", header[16:24])


def _drop(db):
    subprocess.call([sys.executable, str(ROOT / "setup" / "dbtool.py"), "drop", db])


def test_demo_runs_a_peak_and_loses_nothing():
    db = f"integration_demo_smoke_{uuid.uuid4().hex[:8]}"
    output = tempfile.mkdtemp(prefix="demo-smoke-")
    try:
        run = subprocess.run(
            [
                sys.executable,
                str(ROOT / "setup" / "demo.py"),
                "--orders",
                "50",
                "--rate",
                "2",
                # the demo gives up waiting (and stops what it started) before
                # the test's timeout would kill it
                "--settle",
                "600",
                "--exit",
                "--db",
                db,
                "--port",
                str(_free_port()),
                "--output",
                output,
            ],
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        # the summary the demo printed, in the test output
        _logger.info("setup/demo said:\n%s", run.stdout[-4000:])
        assert run.returncode == 0, run.stderr[-4000:] or run.stdout[-4000:]
        with open(os.path.join(output, "summary.json"), encoding="utf-8") as handle:
            summary = json.load(handle)
        harness.report(
            "demo --orders 50: "
            + ", ".join(
                f"{key} {summary.get(key)}"
                for key in (
                    "orders_sent",
                    "sale_orders",
                    "payments",
                    "deliveries",
                    "invoices",
                    "bad_requests_refused",
                    "lost",
                    "doubled",
                )
            )
        )
        assert summary["settled"], summary
        assert summary["lost"] == 0, summary
        assert summary["doubled"] == 0, summary
        for system in ("shopify", "stripe", "carrier", "invoices"):
            figures = summary["systems"][system]
            assert figures.get("lost", 0) == 0 == figures["doubled"], (system, figures)
        assert summary["orders_sent"] == 50
        assert summary["sale_orders"] == summary["orders_accepted"] == 50
        assert summary["sale_orders_confirmed"] == 50
        assert summary["bad_requests_sent"] >= 2
        assert summary["bad_requests_refused"] == summary["bad_requests_sent"], summary
        # Stripe: about 95% of the orders paid, every payment recorded once
        assert 40 <= summary["payments_sent"] <= 50, summary
        assert summary["payments"] == summary["payments_accepted"]
        assert summary["payments"] == summary["payments_sent"]
        # the warehouse shipped every order, each with one label, each delivered
        assert summary["pickings_shipped"] == 50, summary
        assert summary["labels_bought"] == 50, summary
        assert summary["deliveries"] == summary["deliveries_reported"] == 50, summary
        # invoiced on delivery, once per order
        assert summary["invoices"] == 50, summary
        assert summary["inventory_calls"] > 0, summary
        # the carrier's outage happened, and lasted its 30 s
        [(start, end)] = summary["outages"]
        assert 29 <= end - start <= 33, summary["outages"]
        width, height = _png_size(os.path.join(output, "peak.png"))
        assert width > 100 and height > 100
        assert os.path.exists(os.path.join(output, "peak.html"))
    finally:
        _drop(db)
        shutil.rmtree(output, ignore_errors=True)
