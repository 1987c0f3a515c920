"""Issue #16: order to cash across Shopify, Stripe and a carrier, end to end.

20 orders through a real Odoo server with its queue_job runner and the three
simulators on 127.0.0.1 (``tests/e2e/order_to_cash.py`` plays them and checks
every step; ``tests/e2e/books.py`` dumps what the run left). The template
database is installed once; each run plays on a fresh copy of it:

* straight: each webhook once, in order;
* the shuffled twin: every webhook twice, shuffled within its order (the
  payment before its order, a refund before its payment, ``delivered`` before
  ``in_transit``): its dump must equal the straight run's;
* drift: one Shopify order and one Stripe payment never delivered, found by
  the scheduled reconciliation runs: after healing, the books equal the
  straight run's.

All three run in ``setup/test`` (and so in CI's ``.ci/run``); each run's
timings are in the test output.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from .e2e import harness

# tests/ is collected through .build/addons/integration_suite, a symlink to the root
ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests" / "e2e" / "order_to_cash.py"
ORDERS = 20
MODES = ("straight", "shuffled", "drift")
_logger = logging.getLogger(__name__)


def _program(*args, timeout=600):
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(PROGRAM), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    _report(f"order_to_cash {args[0]}: {time.monotonic() - started:.1f} s")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]


def _report(text):
    """A figure of the run, in the test output and the log."""
    harness.report(text)


def _drop(db):
    subprocess.call([sys.executable, str(ROOT / "setup" / "dbtool.py"), "drop", db])


@pytest.fixture(scope="module")
def o2c():
    """The three runs of the scenario, played at once on copies of one
    template (they wait for their servers much of the time): ``{mode: dump}``,
    a run that failed as ``{"failure": its output}``."""
    tag = uuid.uuid4().hex[:8]
    work = tempfile.mkdtemp(prefix="o2c-")
    template = f"integration_o2c_{tag}"
    databases = [template]
    scenario = os.path.join(work, "scenario.json")
    try:
        _program(
            "template", "--db", template, "--log", os.path.join(work, "install.log")
        )
        _program("scenario", "--out", scenario, "--orders", str(ORDERS))
        started = time.monotonic()
        plays = {}
        for mode in MODES:
            db = f"{template}_{mode}"
            databases.append(db)
            out = os.path.join(work, f"{mode}.json")
            command = [sys.executable, str(PROGRAM), "run", "--template", template]
            command += ["--db", db, "--mode", mode, "--scenario", scenario]
            command += ["--out", out]
            log = open(os.path.join(work, f"{mode}.out"), "w+", encoding="utf-8")  # noqa: SIM115
            plays[mode] = (
                subprocess.Popen(command, stdout=log, stderr=log, cwd=ROOT),
                log,
                out,
            )
        dumps = {}
        for mode, (process, log, out) in plays.items():
            status = process.wait(timeout=900)
            log.seek(0)
            output = log.read()
            log.close()
            _logger.info("order_to_cash run %s:\n%s", mode, output[-3000:])
            if status:
                _report(f"order_to_cash run {mode}: FAILED (exit {status})")
                dumps[mode] = {"failure": output[-6000:]}
                continue
            with open(out, encoding="utf-8") as handle:
                dumps[mode] = json.load(handle)
            _report(f"order_to_cash run {mode}: {json.dumps(dumps[mode]['run'])}")
        _report(f"order_to_cash: 3 runs at once in {time.monotonic() - started:.1f} s")
        yield dumps
    finally:
        for db in databases:
            _drop(db)
        shutil.rmtree(work, ignore_errors=True)


def _dump(o2c, mode):
    dump = o2c[mode]
    assert "failure" not in dump, dump.get("failure")
    return dump


def _differences(left, right, path=""):
    """The paths where two dumps differ, for a readable failure."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right)):
            found += _differences(left.get(key), right.get(key), f"{path}/{key}")
        return found
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def test_order_to_cash_straight(o2c):
    dump = _dump(o2c, "straight")
    books = dump["books"]
    assert len(books["orders"]) == ORDERS
    assert all(order["state"] == "sale" for order in books["orders"].values())
    assert len(books["payouts"]) == ORDERS
    assert dump["run"]["errors"] == []


def test_order_to_cash_shuffled_twin_equals_straight(o2c):
    straight, twin = _dump(o2c, "straight"), _dump(o2c, "shuffled")
    differences = _differences(
        {"books": straight["books"], "calls": straight["calls"]},
        {"books": twin["books"], "calls": twin["calls"]},
    )
    assert not differences, "\n".join(differences[:40])


def test_reconciliation_heals_drift(o2c):
    straight, drift = _dump(o2c, "straight"), _dump(o2c, "drift")
    for system in ("shopify", "stripe"):
        healed = drift["run"]["drift"][system]
        _report(f"{system} reconciliation: {healed}")
        assert healed["missing"] == 1, healed
    differences = _differences(straight["books"], drift["books"])
    assert not differences, "\n".join(differences[:40])
