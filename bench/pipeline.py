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
# What is left between a message and a trivial job (target >= 1.0): beyond
# queue_job's own statements (12 a trivial job), a message's job runs 4 of its
# own, each part of the contract: the row lock (exactly once) reading the
# message's columns in the same statement (under sudo only: outside it, field
# groups and record rules apply), a SAVEPOINT around the handler (its work
# undone, its failure still recorded; never released, the commit ends it), the
# attempt row and one UPDATE with the attempt's start and outcome; the
# transaction clock of write_date is queue_job's too (16 statements a job in all,
# 18 before the lock read the message and the RELEASE went). The backend's
# settings come from the per-worker cache already in cache format (converting
# the snapshot on every job cost more than the rest of it).
# In-process, one job at a time through queue_job's RunJobController (A/B of the
# old and new methods in one process, 830 jobs each, load 2-3.5): Python calls
# 12,510 -> 10,900 a job (trivial job 9,665), CPU 2.90-3.00 -> 2.68-2.76 ms
# (trivial 2.32), wall 5.41-5.64 -> 5.31-5.40 ms (trivial 4.42-4.55).
# This bench on the shared 2-core machine (load 2.5-4.7, receive side changing
# at the same time): 0.85 and 0.82 before, 0.95 and 0.95 after (rounds
# 0.85-1.03). Still left: the SAVEPOINT (folding it into the lock statement
# would take the lock in a subtransaction, lost on rollback), the attempt INSERT
# and the UPDATE (one statement only by writing the outcome without the ORM).
# Measured again on 2026-12-03 (80df214, in process, 300 jobs a side, wall of
# each statement from the client): a message's job costs 8.8-10.7 ms against
# 7.9-9.7 ms, and 16 statements against 12. Its own are the lock with its read
# (0.26 ms), the UPDATE (0.32), the attempt INSERT (0.30), the SAVEPOINT (0.11)
# and the transaction clock of write_date (0.12: queue.job has no
# write_date, so that one is the message's); the trivial job reads its user
# (0.25) where the message's job finds it cached. Receiving costs 1.15-1.44 ms a
# message against 1.45-2.06 ms for with_delay(): the INSERT of the message and
# its job (0.56), then SAVEPOINT and RELEASE (0.18: a plain transaction can
# meet a concurrent delivery of the same key). On a quieter machine (88-100
# jobs/s instead of 55) that extra millisecond a job weighs more: 0.91, 0.99,
# 0.96, 0.95 and 0.98 in five runs of the day (the last three in turns, on
# vacuumed tables) and 0.93 in the full run of 095a8b9, against 1.00 in the
# full run of a0ee8df under more load.


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
