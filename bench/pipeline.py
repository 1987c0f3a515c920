"""Inbound pipeline throughput with the real queue_job runner.

Pushes N trivial messages (topic ``integration.ping``) through
``_inbox_receive`` -> queue_job job -> ``done`` on a server with 2 workers, and
prints messages/s beside the same server's rate for N trivial queue_job jobs
(``queue.job._test_job``) measured in the same run, and the ratio. Both are
timed from the start of their enqueueing transaction to the last job done, and
alternate in ``--rounds`` rounds, taking turns to go first, each on vacuumed
tables, so that both see the machine alike.

Usage: .venv/bin/python bench/pipeline.py [--count 2000] [--rounds 4] [--db NAME]
       [--keep-db]
"""

import argparse
import functools
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

WARM_UP = 50
VACUUMED_TABLES = (
    "queue_job",
    "queue_job_lock",
    "integration_inbox_message",
    "integration_message_attempt",
)
# What is left between a message and a trivial job (target >= 1.0), measured
# on 2026-12-04 in process through queue_job's RunJobController (300 jobs a
# side, alternating, wall of each statement from the client): beyond queue_job's
# own statements (12 a trivial job), a message's job sends 2 of its own, each
# part of the contract: the SAVEPOINT around the handler with the row lock
# reading the message and the transaction's clock (0.42-0.53 ms), and the
# attempt's INSERT with the UPDATE of the outcome (0.58-0.76 ms), against the
# trivial job's read of its user (0.35-0.43 ms). 9.4-9.8 ms a job against
# 8.3-8.6. Before that day's changes the same job sent 5 statements of its own
# (the clock, the SAVEPOINT and the INSERT apart): 3.23 -> 2.69 ms a job
# through _job_process alone (600 jobs, 5 A/B runs). Receiving costs about 25%
# less than with_delay() (0.55-0.73 s against 0.57-0.83 s for 500), a small
# share of a round. The outcome's UPDATE is HOT since 18.0.1.6.0 (no index on
# the state, none reading it in its condition, fillfactor 80): paired runs on
# the same database, alternating, 0.90-0.99 (mean 0.93) before, 0.96-1.03
# (mean 0.99) after; fresh databases 0.94-0.97. An earlier try (no index on
# state, fillfactor 70) had left the sequence index's condition reading the
# state, so no update was HOT. Tried and not kept, their effect within the
# machine's noise: partial indexes on the attempt's links and on external_ref.
# On 2026-12-06, in the server (queue_job's exec_time, 2050 jobs a side):
# 5.20 ms a message against 3.06 ms a trivial job (p10 3.57 against 2.17);
# in process, one worker, alternating: 9.7-10.2 ms a job against 9.1-9.4, of
# which 1.65 ms in _job_process (its 2 statements about 0.8 ms, Python the
# rest: the lock's cache fill 0.24, the outcome's two write() 0.24, the
# attempt's INSERT built with the pending UPDATE 0.25, the backend's settings
# 0.14) while queue_job's part is 1 ms cheaper than the trivial job's. That
# is about the floor of a message: it reads its row and writes its outcome,
# one round trip more than a job that does nothing. The attempt's row no
# longer locks the user's row (access log columns gone since 18.0.1.7.0:
# MultiXacts 75 -> 2 for 500 messages) and its links are indexed without
# NULLs: fresh databases 0.94-0.96 after, 0.93 before, within the noise.
# Receiving, outside the webhook route, sent three statements a message (the
# savepoint catching a concurrent delivery's conflict had its own SAVEPOINT
# and RELEASE); the insert's statement now opens it and the next one's
# releases it: fresh databases, same hour, 0.96 and 0.99 before, 1.05, 1.02
# and 1.03 after.


def inbox_messages(registry, run, count):
    """Seconds for ``count`` trivial messages, received in one transaction, to
    be done."""
    from odoo import SUPERUSER_ID, api

    start = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        backend = env["integration.backend"].create({"name": f"bench {run}"})
        backend_id = backend.id
        for n in range(count):
            backend._inbox_receive("integration.ping", {"n": n}, f"{run}-{n}")
    common.wait_until(
        lambda: common.count(
            registry,
            "SELECT count(*) FROM integration_inbox_message "
            "WHERE backend_id = %s AND state = 'done'",
            (backend_id,),
        ),
        count,
    )
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating baseline/pipeline rounds"
    )
    common.add_database_options(parser, "integration_core")
    args = parser.parse_args()
    rounds = max(1, args.rounds)
    per_round = max(1, args.count // rounds)
    count = per_round * rounds

    registry = common.open_database(
        args, "integration_bench_pipeline", "integration_core"
    )
    run_id = uuid.uuid4().hex[:8]
    jobs_seconds = pipeline_seconds = 0.0
    per_round_ratios = []
    try:
        with common.odoo_server(registry.db_name):
            # both warm up first (workers' registries, the runner), unmeasured
            common.trivial_jobs(registry, f"root.bench{run_id}warm", WARM_UP)
            inbox_messages(registry, f"{run_id}warm", WARM_UP)
            # baseline and pipeline alternate, round after round, so that a
            # shared machine's drift slows both alike; which of them goes first
            # alternates too, and each starts on vacuumed tables, so that
            # neither always runs on the other's dead rows (the baseline used
            # to go first in every round)
            for number in range(rounds):
                run = f"{run_id}r{number}"
                measures = {
                    "jobs": functools.partial(
                        common.trivial_jobs, registry, f"root.bench{run}", per_round
                    ),
                    "messages": functools.partial(
                        inbox_messages, registry, run, per_round
                    ),
                }
                seconds = {}
                for side in sorted(measures, reverse=bool(number % 2)):
                    common.vacuum(registry, VACUUMED_TABLES)
                    seconds[side] = measures[side]()
                jobs, messages = seconds["jobs"], seconds["messages"]
                jobs_seconds += jobs
                pipeline_seconds += messages
                per_round_ratios.append(jobs / messages)
    finally:
        common.close_database(args, registry)

    jobs_rate = count / jobs_seconds
    messages_rate = count / pipeline_seconds
    print(
        f"trivial queue_job jobs: {count} in {jobs_seconds:.1f} s = {jobs_rate:.1f}/s"
    )
    print(
        f"inbox messages:         {count} in {pipeline_seconds:.1f} s "
        f"= {messages_rate:.1f}/s"
    )
    print(
        f"ratio messages/jobs:    {messages_rate / jobs_rate:.2f} (target >= 1.0); "
        f"per round {', '.join(f'{ratio:.2f}' for ratio in per_round_ratios)}"
    )


if __name__ == "__main__":
    main()
