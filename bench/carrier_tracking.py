"""Carrier tracking throughput with the real job runner.

Posts 2,000 signed EasyPost tracker webhooks for 500 delivery orders (journeys
of 2 to 4 events, some parcels returned to sender after their delivery, a
quarter with their last two events swapped, the rest of the 2,000 duplicates) from 4 concurrent
senders to a server with 2 HTTP workers and the queue_job runner, waits until
every event is applied, checks that every picking ends in the state of its
latest event, and prints events/s beside the same server's rate for trivial
queue_job jobs (``queue.job._test_job``) measured in the same run.

Usage: .venv/bin/python bench/carrier_tracking.py [--pickings 500] [--events 2000]
       [--db NAME] [--keep-db]
"""

import argparse
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

SECRET = "bench-carrier-secret"
JOURNEYS = (
    ("pre_transit", "in_transit"),
    ("pre_transit", "in_transit", "out_for_delivery"),
    ("pre_transit", "in_transit", "out_for_delivery", "delivered"),
    ("in_transit", "out_for_delivery", "delivered"),
    ("pre_transit", "in_transit", "delivered", "return_to_sender"),
)


def plan(sim, count, events, run_id, seed=11):
    """``(payloads in sending order, unique event count, {tracking code: raw
    status of its latest event})``.

    The pickings' journeys are interleaved; a quarter of them get their last
    two events swapped (reordered), and duplicates of random events are sent
    again later until ``events`` deliveries.
    """
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=3)
    journeys, latest = [], {}
    for index in range(count):
        code = f"BENCH{run_id}{index:05d}"
        steps = rng.choice(JOURNEYS)
        journeys.append(
            [
                sim.easypost_tracker_event(
                    f"trk_{run_id}_{index}",
                    code,
                    status,
                    start + timedelta(hours=5 * n, minutes=index % 60),
                )
                for n, status in enumerate(steps)
            ]
        )
        latest[code] = steps[-1]
    for journey in rng.sample(journeys, count // 4):
        journey[-1], journey[-2] = journey[-2], journey[-1]
    deliveries = []
    for step in range(max(len(journey) for journey in journeys)):
        deliveries.extend(journey[step] for journey in journeys if step < len(journey))
    unique = len(deliveries)
    for _n in range(max(events - unique, 0)):
        position = rng.randrange(len(deliveries))
        deliveries.insert(
            rng.randrange(position, len(deliveries) + 1), deliveries[position]
        )
    return deliveries, unique, latest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pickings", type=int, default=500)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=4)
    common.add_database_options(parser, "integration_carrier")
    args = parser.parse_args()

    registry = common.open_database(
        args, "integration_bench_carrier", "integration_carrier"
    )
    db = registry.db_name
    from odoo import SUPERUSER_ID, api

    from odoo.addons.integration_carrier import mapping
    from odoo.addons.integration_carrier.tests import carrier_simulator as sim

    run_id = uuid.uuid4().hex[:6]
    deliveries, unique_count, latest = plan(sim, args.pickings, args.events, run_id)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        backend = env["integration.backend"].create(
            {
                "name": f"Bench carrier {run_id}",
                "backend_type": "carrier",
                "carrier_dialect": "easypost",
                "webhook_secret": SECRET,
            }
        )
        warehouse = env["stock.warehouse"].search([], limit=1)
        partner = env["res.partner"].create({"name": f"Bench customer {run_id}"})
        env["stock.picking"].create(
            [
                {
                    "picking_type_id": warehouse.out_type_id.id,
                    "partner_id": partner.id,
                    "carrier_tracking_ref": code,
                }
                for code in latest
            ]
        )
        token, backend_id = backend.webhook_token, backend.id

    run_channel = f"root.bench{run_id}"
    try:
        with common.odoo_server(db) as base_url:
            # baseline: as many trivial queue_job jobs as events to apply
            start = time.monotonic()
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                for _ in range(unique_count):
                    env["queue.job"].with_delay(channel=run_channel)._test_job()
            common.wait_until(
                lambda: common.count(
                    registry,
                    "SELECT count(*) FROM queue_job WHERE channel = %s "
                    "AND state = 'done'",
                    (run_channel,),
                ),
                unique_count,
            )
            jobs_seconds = time.monotonic() - start

            url = f"{base_url}/integration/webhook/{token}"
            senders = [
                sim.WebhookSender(url, SECRET, "easypost") for _i in range(args.senders)
            ]
            start = time.monotonic()

            def post(index):
                response = senders[index % len(senders)].send(deliveries[index])
                if response.status_code != 200:
                    raise RuntimeError(
                        f"webhook refused: {response.status_code} {response.text}"
                    )
                return response.json()["status"]

            with ThreadPoolExecutor(args.senders) as pool:
                statuses = list(pool.map(post, range(len(deliveries))))
            intake_seconds = time.monotonic() - start
            applied_during_intake = common.count(
                registry,
                "SELECT count(*) FROM integration_inbox_message "
                "WHERE backend_id = %s AND state = 'done'",
                (backend_id,),
            )

            def done():
                with registry.cursor() as cr:
                    cr.execute(
                        "SELECT state, count(*) FROM integration_inbox_message "
                        "WHERE backend_id = %s GROUP BY state",
                        (backend_id,),
                    )
                    states = dict(cr.fetchall())
                    if states.get("dead"):
                        raise RuntimeError(f"dead messages: {states}")
                    return states.get("done", 0)

            common.wait_until(done, unique_count, interval=0.25)
            pipeline_seconds = time.monotonic() - start
            after_intake_rate = (unique_count - applied_during_intake) / max(
                pipeline_seconds - intake_seconds, 1e-6
            )
        with registry.cursor() as cr:
            cr.execute(
                "SELECT carrier_tracking_ref, delivery_state FROM stock_picking "
                "WHERE carrier_tracking_ref = ANY(%s)",
                (list(latest),),
            )
            final = dict(cr.fetchall())
            cr.execute(
                "SELECT outcome, count(*) FROM integration_tracking_event e "
                "JOIN stock_picking p ON p.id = e.picking_id "
                "WHERE p.carrier_tracking_ref = ANY(%s) GROUP BY outcome",
                (list(latest),),
            )
            outcomes = dict(cr.fetchall())
    finally:
        common.close_database(args, registry)

    wrong = {
        code: (final.get(code), mapping.delivery_state("easypost", raw))
        for code, raw in latest.items()
        if final.get(code) != mapping.delivery_state("easypost", raw)
    }
    by_state = {}
    for state in final.values():
        by_state[state] = by_state.get(state, 0) + 1
    jobs_rate = unique_count / jobs_seconds
    rate = unique_count / pipeline_seconds
    print(
        f"deliveries: {len(deliveries)} signed webhooks ({unique_count} events, "
        f"{statuses.count('duplicate')} answered duplicate) for {len(latest)} pickings"
    )
    print(f"final states: {dict(sorted(by_state.items()))}")
    print(f"history outcomes: {dict(sorted(outcomes.items()))}")
    print(
        f"trivial queue_job jobs:    {unique_count} in {jobs_seconds:.1f} s "
        f"= {jobs_rate:.1f}/s"
    )
    print(
        f"webhooks -> applied events: {unique_count} in {pipeline_seconds:.1f} s "
        f"= {rate:.1f} events/s (intake {len(deliveries) / intake_seconds:.0f} "
        f"webhooks/s)"
    )
    print(
        f"  once the intake is over (workers free): {after_intake_rate:.1f} events/s "
        f"(ratio {after_intake_rate / jobs_rate:.2f})"
    )
    print(f"ratio events / trivial jobs: {rate / jobs_rate:.2f}")
    if wrong:
        sample = dict(list(wrong.items())[:5])
        raise SystemExit(f"{len(wrong)} pickings not in their latest state: {sample}")
    print(f"every picking is in the state of its latest event ({len(latest)} checked)")


if __name__ == "__main__":
    main()
