"""Business event throughput with the real queue_job runner.

Publishes N ``integration.ping`` events, each delivered to 2 subscriptions (the
core's no-op ping subscriber of two generic backends), on a server with 2
workers, and prints deliveries/s beside the same server's rate for trivial
queue_job jobs (``queue.job._test_job``) measured in the same run, and the ratio
per delivery (target >= 0.8).

The baseline and the bus alternate in ``--rounds`` rounds so that both see the
same drift of a shared machine's load.

Usage: .venv/bin/python bench/events.py [--count 2000] [--rounds 4] [--db NAME] [--keep-db]
"""

import argparse
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

SUBSCRIPTIONS = 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating baseline/bus rounds"
    )
    common.add_database_options(parser, "integration_core")
    args = parser.parse_args()

    registry = common.open_database(
        args, "integration_bench_events", "integration_core"
    )
    db = registry.db_name
    from odoo import SUPERUSER_ID, api

    run_id = uuid.uuid4().hex[:8]
    rounds = max(1, args.rounds)
    per_round = max(1, args.count // rounds)
    deliveries = per_round * SUBSCRIPTIONS * rounds
    jobs_seconds = bus_seconds = 0.0
    try:
        with common.odoo_server(db):
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                for n in range(SUBSCRIPTIONS):
                    env["integration.backend"].create(
                        {
                            "name": f"bench {run_id} {n}",
                            "event_topics": "integration.ping",
                        }
                    )
            # baseline and bus alternate, round after round: a shared machine's
            # load drifts, and both sides see the same drift
            for round_number in range(rounds):
                jobs_seconds += common.trivial_jobs(
                    registry,
                    f"root.bench{run_id}r{round_number}",
                    per_round * SUBSCRIPTIONS,
                )
                bus_seconds += event_deliveries(
                    registry, f"{run_id}r{round_number}", per_round
                )
    finally:
        common.close_database(args, registry)

    jobs_rate = deliveries / jobs_seconds
    delivery_rate = deliveries / bus_seconds
    events = per_round * rounds
    print(
        f"trivial queue_job jobs: {deliveries} in {jobs_seconds:.1f} s "
        f"= {jobs_rate:.1f}/s"
    )
    print(
        f"event deliveries:       {deliveries} ({events} events x "
        f"{SUBSCRIPTIONS}) in {bus_seconds:.1f} s = {delivery_rate:.1f}/s "
        f"({events / bus_seconds:.1f} events/s)"
    )
    print(f"ratio per delivery:     {delivery_rate / jobs_rate:.2f} (target >= 0.8)")


def event_deliveries(registry, run, count):
    """Seconds for ``count`` published ping events to be delivered to every
    subscription, from the publishing transaction to the last delivery done."""
    from odoo import SUPERUSER_ID, api

    start = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        for n in range(count):
            env["integration.event"]._publish("integration.ping", {"run": run, "n": n})
    common.wait_until(
        lambda: common.count(
            registry,
            """SELECT count(*) FROM integration_event_delivery d
               JOIN integration_event e ON e.id = d.event_id
               WHERE e.payload->>'run' = %s AND d.state = 'done'""",
            (run,),
        ),
        count * SUBSCRIPTIONS,
    )
    return time.monotonic() - start


if __name__ == "__main__":
    main()
