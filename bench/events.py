"""Business event throughput with the real queue_job runner.

Publishes N ``integration.ping`` events, each delivered to 2 subscriptions (the
core's no-op ping subscriber of two generic backends), on a server with 2
workers, and prints deliveries/s beside the same server's rate for trivial
queue_job jobs (``queue.job._test_job``) measured in the same run, and the ratio
per delivery (target >= 0.8).

Usage: .venv/bin/python bench/events.py [--count 2000] [--db NAME] [--keep-db]
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
    common.add_database_options(parser, "integration_core")
    args = parser.parse_args()

    registry = common.open_database(
        args, "integration_bench_events", "integration_core"
    )
    db = registry.db_name
    from odoo import SUPERUSER_ID, api

    run_id = uuid.uuid4().hex[:8]
    channel = f"root.bench{run_id}"
    deliveries = args.count * SUBSCRIPTIONS
    try:
        with common.odoo_server(db):
            # baseline: as many trivial queue_job jobs as deliveries
            start = time.monotonic()
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                for _ in range(deliveries):
                    env["queue.job"].with_delay(channel=channel)._test_job()
            common.wait_until(
                lambda: common.count(
                    registry,
                    "SELECT count(*) FROM queue_job WHERE channel = %s "
                    "AND state = 'done'",
                    (channel,),
                ),
                deliveries,
            )
            jobs_seconds = time.monotonic() - start

            # the bus: publish -> one delivery job per subscription -> done
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                Backend = env["integration.backend"]
                for n in range(SUBSCRIPTIONS):
                    Backend.create(
                        {
                            "name": f"bench {run_id} {n}",
                            "event_topics": "integration.ping",
                        }
                    )
            start = time.monotonic()
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                for n in range(args.count):
                    env["integration.event"]._publish(
                        "integration.ping", {"run": run_id, "n": n}
                    )
            common.wait_until(
                lambda: common.count(
                    registry,
                    """SELECT count(*) FROM integration_event_delivery d
                       JOIN integration_event e ON e.id = d.event_id
                       WHERE e.payload->>'run' = %s AND d.state = 'done'""",
                    (run_id,),
                ),
                deliveries,
            )
            bus_seconds = time.monotonic() - start
    finally:
        common.close_database(args, registry)

    jobs_rate = deliveries / jobs_seconds
    delivery_rate = deliveries / bus_seconds
    print(
        f"trivial queue_job jobs: {deliveries} in {jobs_seconds:.1f} s "
        f"= {jobs_rate:.1f}/s"
    )
    print(
        f"event deliveries:       {deliveries} ({args.count} events x "
        f"{SUBSCRIPTIONS}) in {bus_seconds:.1f} s = {delivery_rate:.1f}/s "
        f"({args.count / bus_seconds:.1f} events/s)"
    )
    print(f"ratio per delivery:     {delivery_rate / jobs_rate:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
