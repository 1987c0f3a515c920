"""Webhook intake throughput and latency on a real server with 2 workers.

Starts Odoo (``--workers=2``) on a database with integration_core, creates a
generic backend with a Standard Webhooks secret, then, from other processes,
posts for a fixed time, in alternating rounds, ``GET /web/health`` (the
baseline: the same server's cheapest route) and signed webhooks. Prints
requests/s, p50/p99 latency of both, the ratio accepted/s : health/s, the
latency of single webhooks on the idle server, the cost of one bare durable
INSERT + COMMIT on this machine (the floor of any intake that stores a delivery
before answering it; measured between the rounds, its median kept), and the
ratio's share of the cap that floor leaves (target >= 0.85).

Usage: .venv/bin/python bench/intake.py [--seconds 15] [--rounds 3] [--clients 4]
       [--channels root:2] [--db NAME]
"""

import argparse
import base64
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def sign(secret_bytes, msg_id, timestamp, body):
    import hashlib
    import hmac

    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def build_request(mode, path, key, host):
    """The bytes of one request: built before the clock starts, so that the
    senders, which share the cores with the server, cost the same per request
    on both routes and only the server's work differs."""
    if mode == "health":
        return (
            f"GET /web/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    stamp = str(int(time.time()))
    body = json.dumps(
        {
            "type": "integration.ping",
            "timestamp": stamp,
            "data": {"id": msg_id, "qty": 3, "sku": "BENCH-1"},
        }
    ).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"webhook-id: {msg_id}\r\nwebhook-timestamp: {stamp}\r\n"
        f"webhook-signature: {sign(key, msg_id, stamp, body)}\r\n\r\n"
    )
    return head.encode() + body


def send(host, port, request):
    """Send one request on a fresh connection; its status once the whole answer
    (by its Content-Length) is read."""
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(head.split(b" ", 2)[1])


def client(base_url, mode, path, secret, seconds, queue, barrier, prepared=3000):
    """One sender: sequential requests on fresh connections until the time is up."""
    host, port = base_url.removeprefix("http://").split(":")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    requests = [build_request(mode, path, key, host) for _ in range(prepared)]
    latencies, statuses = [], {}
    barrier.wait()  # every sender has its requests ready
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        request = requests.pop() if requests else build_request(mode, path, key, host)
        start = time.perf_counter()
        status = send(host, int(port), request)
        latencies.append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1
    queue.put((latencies, statuses, time.monotonic() - started))


def load(base_url, mode, path, secret, seconds, clients):
    queue = multiprocessing.Queue()
    barrier = multiprocessing.Barrier(clients)
    procs = [
        multiprocessing.Process(
            target=client, args=(base_url, mode, path, secret, seconds, queue, barrier)
        )
        for _ in range(clients)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(30)
    # the senders' own windows: preparing the requests is not measured
    elapsed = max(window for _, _, window in results)
    latencies = sorted(lat for lats, _, _ in results for lat in lats)
    statuses = {}
    for _, counts, _ in results:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    return elapsed, latencies, statuses


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    return sorted_values[
        min(len(sorted_values) - 1, int(len(sorted_values) * fraction))
    ]


def report(label, elapsed, latencies, statuses, ok_status):
    ok = statuses.get(ok_status, 0)
    rate = ok / elapsed
    print(
        f"{label:<22} {ok:>7} ok in {elapsed:5.1f} s = {rate:8.1f}/s   "
        f"p50 {percentile(latencies, 0.5) * 1000:6.1f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms   statuses {statuses}"
    )
    return rate


def merge(results):
    """One (elapsed, sorted latencies, statuses) out of several rounds."""
    statuses = {}
    for _, _, counts in results:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    return (
        sum(elapsed for elapsed, _, _ in results),
        sorted(lat for _, lats, _ in results for lat in lats),
        statuses,
    )


def durable_insert_floor(registry, backend_id, samples=500):
    """Milliseconds of the SQL the pipeline contract needs per delivery at least:
    one inbox message row and one queue_job row (one job per message), inserted
    with two bare statements on the real tables, and the COMMIT. Measured straight
    through psycopg2 on one connection; the rows are deleted afterwards."""
    import psycopg2

    from odoo.sql_db import connection_info_for

    _db, info = connection_info_for(registry.db_name)
    connection = psycopg2.connect(**info)
    marker = f"floor-{uuid.uuid4().hex}"
    payload = json.dumps({"type": "integration.ping", "data": {"id": 1}})
    try:
        cursor = connection.cursor()
        start = time.perf_counter()
        for number in range(samples):
            cursor.execute(
                """INSERT INTO integration_inbox_message
                   (backend_id, backend_type, topic, idempotency_key, state, payload)
                   VALUES (%s, 'generic', 'integration.ping', %s, 'queued', %s)
                   RETURNING id""",
                (backend_id, f"{marker}-{number}", payload),
            )
            message_id = cursor.fetchone()[0]
            cursor.execute(
                """INSERT INTO queue_job (uuid, state, channel, model_name,
                   method_name, identity_key, name)
                   VALUES (%s, 'done', 'root.bench', 'integration.inbox.message',
                   '_job_process', %s, %s)""",
                (str(uuid.uuid4()), f"{marker}:{message_id}", marker),
            )
            connection.commit()
        elapsed = time.perf_counter() - start
        cursor.execute("DELETE FROM queue_job WHERE name = %s", (marker,))
        cursor.execute(
            "DELETE FROM integration_inbox_message WHERE idempotency_key LIKE %s",
            (f"{marker}-%",),
        )
        connection.commit()
    finally:
        connection.close()
    return elapsed / samples * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    common.add_database_options(parser, "integration_core")
    parser.add_argument(
        "--channels",
        default="root:0",
        help="queue_job runner channels while measuring; the default root:0 "
        "measures intake alone (processing is bench/pipeline.py's subject); with "
        "root:2 the workers also run the jobs of earlier rounds, slowing both routes",
    )
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 120.0)  # bounded
    args.rounds = min(max(args.rounds, 1), 10)
    window = args.seconds / args.rounds

    registry = common.open_database(
        args, "integration_bench_intake", "integration_core"
    )
    db = registry.db_name
    from odoo import SUPERUSER_ID, api

    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        backend = env["integration.backend"].create(
            {"name": f"bench intake {uuid.uuid4().hex[:8]}", "webhook_secret": secret}
        )
        backend_id, path = backend.id, f"/integration/webhook/{backend.webhook_token}"
    health_rounds, intake_rounds, floors = [], [], []
    # CPU seconds of the server's processes and of PostgreSQL's, by route
    cpu_used = {mode: {"odoo": 0.0, "postgres": 0.0} for mode in ("health", "webhook")}
    try:
        with common.odoo_server(db, channels=args.channels) as base_url:
            # warm both routes up (registry, routing map) before measuring
            load(base_url, "health", path, secret, 1, 1)
            load(base_url, "webhook", path, secret, 1, 1)
            # one client on an otherwise idle server: the latency budget
            idle = load(base_url, "webhook", path, secret, 3, 1)
            # alternate short windows so that a drift of the machine's speed
            # affects both routes alike
            for _round in range(args.rounds):
                for mode, rounds in (
                    ("health", health_rounds),
                    ("webhook", intake_rounds),
                ):
                    before = common.cpu_seconds(base_url)
                    rounds.append(
                        load(base_url, mode, path, secret, window, args.clients)
                    )
                    after = common.cpu_seconds(base_url)
                    for group in cpu_used[mode]:
                        cpu_used[mode][group] += after[group] - before[group]
                # the floor too, between the rounds (the server idle): its
                # commits meet the disk as the rounds' do
                floors.append(durable_insert_floor(registry, backend_id, samples=200))
        stored = common.count(
            registry,
            "SELECT count(*) FROM integration_inbox_message WHERE backend_id = %s",
            (backend_id,),
        )
    finally:
        common.close_database(args, registry)

    print(
        f"server: 2 HTTP workers; {args.clients} client processes; "
        f"{args.rounds} alternating rounds of {window:.1f} s per route"
    )
    health_rate = report("GET /web/health", *merge(health_rounds), ok_status=200)
    intake_rate = report("POST webhook accepted", *merge(intake_rounds), ok_status=200)
    round_ratios = [
        intake[2].get(200, 0) / intake[0] / (health[2].get(200, 0) / health[0])
        for health, intake in zip(health_rounds, intake_rounds, strict=True)
    ]
    print(f"stored messages:       {stored} (includes warm-up)")
    for mode, rounds in (("health", health_rounds), ("webhook", intake_rounds)):
        answered = sum(sum(statuses.values()) for _, _, statuses in rounds)
        print(
            f"CPU per request, {mode + ':':<8} Odoo "
            f"{cpu_used[mode]['odoo'] / answered * 1000:.2f} ms, PostgreSQL "
            f"{cpu_used[mode]['postgres'] / answered * 1000:.2f} ms"
        )
    print(
        f"ratio accepted/health:  {intake_rate / health_rate:.2f}; "
        f"per round {', '.join(f'{ratio:.2f}' for ratio in round_ratios)}"
    )
    print(
        f"idle server, one client: webhook p50 "
        f"{percentile(idle[1], 0.5) * 1000:.1f} ms, p99 "
        f"{percentile(idle[1], 0.99) * 1000:.1f} ms (budget 50 ms)"
    )
    # Each worker spends about workers / rate seconds per health request; a
    # webhook needs that plus at least the SQL of the floor.
    health_ms = 2 / health_rate * 1000
    # Where the target (0.85 of the cap) stands, measured 2026-12-02 on a 2-core
    # machine. Webhooks are served at the WSGI level (integration_core/
    # wsgi_intake.py): Odoo's signaling SELECT and one statement inserting
    # message and job, in autocommit (no BEGIN/COMMIT round trips, no second
    # cursor, session, routing or dispatcher): accepted/health 0.39 -> 0.48.
    # Then on a connection of the intake's own, kept without Odoo's DISCARD
    # ALL on every borrow (integration_core/intake_connections.py), both
    # statements prepared once: PostgreSQL CPU per webhook 2.81 -> 1.60 ms
    # (the reset made the insert plan its foreign-key checks and queue_job's
    # NOTIFY trigger again each time) -> 1.30 ms (signaling SELECT prepared:
    # planning it cost 0.3 ms, running it 0.08); accepted/health 0.48 -> 0.66,
    # share of the cap 0.58 -> 0.85-0.92 with the floor at 1.6-2.2 ms. The
    # floor moves with the disk (1.0-4.0 ms on this machine within a day):
    # hence measured between the rounds. What is left: Odoo CPU per webhook
    # 5.3 ms against health's 4.3 (the backend's settings put in each request's
    # record cache, ormcache look-ups through `decorator`'s signature binding,
    # HMAC, JSON, the response), PostgreSQL 1.3 against 0.9.
    floor_ms = statistics.median(floors)
    cap = health_ms / (health_ms + floor_ms)
    print(
        f"floor: message row + job row + COMMIT, bare SQL, cost {floor_ms:.2f} ms "
        f"here (median of {', '.join(f'{floor:.2f}' for floor in floors)} between "
        f"the rounds); with {health_ms:.2f} ms of worker time per health request, "
        f"any intake storing both before answering stays below a ratio of {cap:.2f}"
    )
    print(
        f"accepted/s of the floor-bounded cap: {intake_rate / health_rate / cap:.2f} "
        "(target >= 0.85)"
    )


if __name__ == "__main__":
    main()
