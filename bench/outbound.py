"""Outbound coalescing: HTTP calls and wall time for a burst of inventory updates.

A producer commits 10,000 stock-level updates over 100 SKUs (transactions of 100
updates, ``coalesce_key`` = SKU) while 2 worker threads send what is pending to
a local HTTP provider on 127.0.0.1, each send in its own transaction as a
queue_job worker would. The baseline, measured in the same run, is the naive
delivery: the same updates without coalescing, one call per update. Prints the
calls made, wall times and ratios, and checks the provider ends with the last
value of every SKU.

Usage: .venv/bin/python bench/outbound.py [--updates 10000] [--keys 100]
       [--db NAME] [--keep-db]
"""

import argparse
import os
import random
import sys
import threading
import time
import uuid

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

BATCH = 100
WORKERS = 2
# With a fixed window a key goes out once per COALESCE_DELAY (plus its send), so
# the calls grew with the production time: keys x production time / window, under
# 1,000 only while the producer enqueued the 10,000 updates in about 20 s (732
# calls on a quiet machine, 1,770-3,104 on a loaded one, where the producer is
# slower). A key that keeps changing now waits twice as long each burst, up to
# COALESCE_MAX_DELAY (backend field coalesce_max_delay): about
# log2(max / delay) + production time / max calls a key, whatever the load. A
# waiting message takes each newer value in place (one UPDATE, no new row, job or
# supersede): 4.1 queries an update instead of 13.4 for create + supersede + job
# cancel.
COALESCE_DELAY = 2
COALESCE_MAX_DELAY = 16


def run_scenario(registry, updates, keys, coalesce, seed):
    from odoo import SUPERUSER_ID, api

    from odoo.addons.integration_core.flow_control import FlowStore
    from odoo.addons.integration_core.tests.http_server import LocalHttpServer

    server = LocalHttpServer().start()
    rng = random.Random(seed)
    plan = [(f"SKU-{rng.randrange(keys):04d}", n) for n in range(updates)]
    expected = {}
    for sku, qty in plan:
        expected[sku] = qty
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        backend_id = (
            env["integration.backend"]
            .create(
                {
                    "name": f"bench outbound {uuid.uuid4().hex[:6]}",
                    "api_base_url": server.url,
                    # a SKU's updates within 2 s leave in one call
                    "coalesce_delay": COALESCE_DELAY if coalesce else 0,
                    # a SKU that keeps changing waits up to 16 s
                    "coalesce_max_delay": COALESCE_MAX_DELAY if coalesce else 0,
                    # a job per message is created as in production; the workers
                    # below play queue_job, so keep the real runner off this channel
                    "outbound_channel": f"root.bench_outbound_{uuid.uuid4().hex[:6]}",
                }
            )
            .id
        )
    producing = threading.Event()
    producing.set()
    errors = []

    def producer():
        try:
            for start in range(0, updates, BATCH):
                with registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    backend = env["integration.backend"].browse(backend_id)
                    for sku, qty in plan[start : start + BATCH]:
                        backend._outbox_enqueue(
                            "inventory/set",
                            {"sku": sku, "available": qty},
                            coalesce_key=sku if coalesce else None,
                        )
        except Exception as err:  # noqa: BLE001
            errors.append(err)
        finally:
            producing.clear()

    def worker():
        try:
            while True:
                try:
                    sent, left = pick_and_send()
                except psycopg2.errors.SerializationFailure:
                    # the producer superseded it meanwhile; queue_job retries too
                    continue
                if sent:
                    continue
                if not producing.is_set() and not left:
                    return
                time.sleep(0.05)
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    def pick_and_send():
        """Send one due message: ``(sent, waiting)``."""
        with registry.cursor() as cr:
            cr.execute(
                """SELECT id FROM integration_outbox_message
                   WHERE backend_id = %s AND state IN ('pending', 'failed')
                     AND (next_attempt_at IS NULL
                          OR next_attempt_at <= now() at time zone 'utc')
                   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED""",
                (backend_id,),
            )
            row = cr.fetchone()
            if row:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["integration.outbox.message"].browse(row[0])._job_send()
                return True, None
            cr.execute(
                "SELECT count(*) FROM integration_outbox_message "
                "WHERE backend_id = %s AND state IN ('pending', 'failed')",
                (backend_id,),
            )
            return False, cr.fetchone()[0]

    start = time.monotonic()
    threads = [threading.Thread(target=producer)] + [
        threading.Thread(target=worker) for _ in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    server.stop()
    last_seen = {}
    for request in server.requests:
        last_seen[request.json["sku"]] = request.json["available"]
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        messages = env["integration.outbox.message"].search(
            [("backend_id", "=", backend_id)]
        )
        states = {}
        for state in messages.mapped("state"):
            states[state] = states.get(state, 0) + 1
        identities = [m._job_identity() for m in messages]
        env["queue.job"].search([("identity_key", "in", identities)]).unlink()
        env["integration.backend"].browse(backend_id).unlink()
        FlowStore(cr).forget([backend_id])
    if errors:
        raise errors[0]
    return {
        "calls": len(server.requests),
        "elapsed": elapsed,
        "states": states,
        "last_value_ok": last_seen == expected,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument(
        "--naive-sample",
        type=int,
        help="measure the naive baseline on this many updates and scale its wall "
        "time linearly (one call per update); default: all updates",
    )
    common.add_database_options(parser, "integration_core")
    args = parser.parse_args()

    registry = common.open_database(
        args, "integration_bench_outbound", "integration_core"
    )
    import logging

    logging.getLogger("odoo.models.unlink").setLevel(logging.WARNING)
    try:
        print(
            f"{args.updates} updates over {args.keys} keys, {WORKERS} workers",
            flush=True,
        )
        coalesced = run_scenario(registry, args.updates, args.keys, True, 1)
        print(f"coalesced: {coalesced}", flush=True)
        sample = min(args.naive_sample or args.updates, args.updates)
        naive = run_scenario(registry, sample, args.keys, False, 1)
        if sample < args.updates:
            scale = args.updates / sample
            print(f"naive measured on {sample} updates, scaled x{scale:g}")
            naive["calls"] = round(naive["calls"] * scale)
            naive["elapsed"] *= scale
        print(f"naive:     {naive}", flush=True)
    finally:
        common.close_database(args, registry)
    print()
    print(f"{'':12}{'HTTP calls':>12}{'wall time':>12}{'last value ok':>15}")
    for name, result in (("naive", naive), ("coalesced", coalesced)):
        print(
            f"{name:12}{result['calls']:>12}{result['elapsed']:>11.1f}s"
            f"{str(result['last_value_ok']):>15}"
        )
    print(
        f"calls: {coalesced['calls']} vs {naive['calls']} naive "
        f"({naive['calls'] / max(coalesced['calls'], 1):.0f}x fewer; target <= "
        f"{args.updates // 10}); "
        f"wall time: {coalesced['elapsed']:.1f} s vs {naive['elapsed']:.1f} s "
        f"({naive['elapsed'] / coalesced['elapsed']:.1f}x faster)"
    )


if __name__ == "__main__":
    main()
