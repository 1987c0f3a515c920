"""Inbound pipeline throughput with the real queue_job runner.

Pushes N trivial messages (topic ``integration.ping``) through
``_inbox_receive`` -> queue_job job -> ``done`` on a server with 2 workers, and
prints messages/s beside the same server's rate for N trivial queue_job jobs
(``queue.job._test_job``) measured in the same run, and the ratio.

Usage: .venv/bin/python bench/pipeline.py [--count 2000] [--db NAME] [--keep-db]
"""

import argparse
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    common.add_database_options(parser, "integration_core")
    args = parser.parse_args()

    registry = common.open_database(
        args, "integration_bench_pipeline", "integration_core"
    )
    db = registry.db_name
    from odoo import SUPERUSER_ID, api

    run_id = uuid.uuid4().hex[:8]
    channel = f"root.bench{run_id}"
    try:
        with common.odoo_server(db):
            # baseline: trivial queue_job jobs on the same server
            start = time.monotonic()
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                for _ in range(args.count):
                    env["queue.job"].with_delay(channel=channel)._test_job()

            common.wait_until(
                lambda: common.count(
                    registry,
                    "SELECT count(*) FROM queue_job WHERE channel = %s "
                    "AND state = 'done'",
                    (channel,),
                ),
                args.count,
            )
            jobs_seconds = time.monotonic() - start

            # the pipeline: receive -> job -> done
            start = time.monotonic()
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                backend = env["integration.backend"].create({"name": f"bench {run_id}"})
                backend_id = backend.id
                for n in range(args.count):
                    backend._inbox_receive(
                        "integration.ping", {"n": n}, f"{run_id}-{n}"
                    )

            common.wait_until(
                lambda: common.count(
                    registry,
                    "SELECT count(*) FROM integration_inbox_message "
                    "WHERE backend_id = %s AND state = 'done'",
                    (backend_id,),
                ),
                args.count,
            )
            pipeline_seconds = time.monotonic() - start
    finally:
        common.close_database(args, registry)

    jobs_rate = args.count / jobs_seconds
    messages_rate = args.count / pipeline_seconds
    print(
        f"trivial queue_job jobs: {args.count} in {jobs_seconds:.1f} s = {jobs_rate:.1f}/s"
    )
    print(
        f"inbox messages:         {args.count} in {pipeline_seconds:.1f} s "
        f"= {messages_rate:.1f}/s"
    )
    print(f"ratio messages/jobs:    {messages_rate / jobs_rate:.2f}")


if __name__ == "__main__":
    main()
