"""Helpers shared by the benchmarks: a throwaway database and a real Odoo server.

Benchmarks run from the repository root with the project's virtualenv, e.g.
``.venv/bin/python bench/pipeline.py``. Everything stays on 127.0.0.1.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("INTEGRATION_VENV", os.path.join(ROOT, ".venv"))
CONF = os.environ.get("INTEGRATION_ODOO_CONF", os.path.join(ROOT, "odoo.conf"))
ODOO_BIN = os.path.join(VENV, "bin", "odoo")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd, **kwargs):
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def ensure_bootstrapped():
    if not os.path.exists(CONF):
        run([os.path.join(ROOT, "setup", "bootstrap")])


def create_database(db, modules):
    """(Re)create ``db`` with ``modules`` installed, without demo data."""
    run([sys.executable, os.path.join(ROOT, "setup", "dbtool.py"), "drop", db])
    run(
        [
            ODOO_BIN,
            "-c",
            CONF,
            "-d",
            db,
            "-i",
            modules,
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ],
    )


def drop_database(db):
    run([sys.executable, os.path.join(ROOT, "setup", "dbtool.py"), "drop", db])


@contextlib.contextmanager
def odoo_server(db, workers=2, channels="root:2", extra_env=None):
    """Serve ``db`` with ``workers`` HTTP workers and the queue_job runner."""
    port = free_port()
    env = dict(os.environ, ODOO_QUEUE_JOB_CHANNELS=channels, **(extra_env or {}))
    cmd = [
        ODOO_BIN,
        "-c",
        CONF,
        "-d",
        db,
        # -d without --db-filter: Odoo serves that database without listing the
        # server's databases on every sessionless request (a webhook is one)
        f"--workers={workers}",
        "--max-cron-threads=0",
        f"--http-port={port}",
        f"--gevent-port={free_port()}",
        "--log-level=warn",
        "--limit-time-real=600",
        "--limit-time-cpu=600",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/web/health"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Odoo server did not start") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def cpu_seconds(base_url):
    """``{"odoo": s, "postgres": s}``: CPU seconds used so far by the Odoo server
    serving ``base_url`` (its master and workers, found by their ``--http-port``)
    and by PostgreSQL's processes, read from /proc (Linux)."""
    port_arg = f"--http-port={base_url.rsplit(':', 1)[1]}".encode()
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"odoo": 0.0, "postgres": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat_file:
                stat = stat_file.read()
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read().split(b"\0")
        except OSError:  # the process has ended
            continue
        name = stat[stat.index(b"(") + 1 : stat.rindex(b")")]
        # utime and stime, the 14th and 15th fields
        utime, stime = stat[stat.rindex(b")") + 2 :].split()[11:13]
        seconds = (int(utime) + int(stime)) / ticks
        if port_arg in cmdline:
            used["odoo"] += seconds
        elif name.startswith(b"postgres"):
            used["postgres"] += seconds
    return used


def odoo_registry(db):
    """The Odoo registry of ``db`` in this process (the client side of a bench)."""
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(["-c", CONF, "-d", db])
    return Registry(db)


def add_database_options(parser, modules):
    """``--db`` (an existing database with ``modules``) and ``--keep-db``."""
    parser.add_argument("--db", help=f"existing database with {modules}")
    parser.add_argument("--keep-db", action="store_true")


def open_database(args, default_name, modules):
    """The registry of ``--db``, or of a new ``default_name`` with ``modules``."""
    ensure_bootstrapped()
    db = args.db or default_name
    if not args.db:
        create_database(db, modules)
    return odoo_registry(db)


def close_database(args, registry):
    """Release ``registry``; drop its database unless given or kept."""
    db = registry.db_name
    registry.delete(db)
    if not args.db and not args.keep_db:
        drop_database(db)


def count(registry, query, params):
    """The single number ``query`` returns, from a cursor of its own."""
    with registry.cursor() as cr:
        cr.execute(query, params)
        return cr.fetchone()[0]


def vacuum(registry, tables):
    """``VACUUM ANALYZE`` of ``tables``: a measurement that follows another
    would otherwise run on its dead rows, or under the autovacuum they start."""
    from contextlib import closing

    import psycopg2
    from psycopg2 import sql

    from odoo import sql_db

    _name, info = sql_db.connection_info_for(registry.db_name)
    with closing(psycopg2.connect(**info)) as conn:
        # VACUUM runs outside a transaction block only
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(
                sql.SQL("VACUUM ANALYZE {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, tables))
                )
            )


def wait_until(count_done, expected, timeout=600, interval=0.2):
    """Poll ``count_done()`` until it reaches ``expected``; return the elapsed seconds.

    Polls every ``interval`` seconds at most, more often as the end nears (by
    the rate so far): the end is then seen within about 1/20 of a second
    instead of ``interval``, which was up to 4% of a 5-second round, without
    polling all along.
    """
    start = time.monotonic()
    first = None
    while True:
        done = count_done()
        now = time.monotonic()
        if done >= expected:
            return now - start
        if now - start > timeout:
            raise RuntimeError(f"only {done}/{expected} done after {timeout} s")
        if first is None:
            first = (now, done)
        pause = interval
        if done > first[1]:
            rate = (done - first[1]) / (now - first[0])
            pause = min(interval, max(0.02, (expected - done) / rate / 4))
        time.sleep(pause)


def trivial_jobs(registry, channel, jobs):
    """Seconds for ``jobs`` trivial queue_job jobs (``queue.job._test_job``),
    enqueued in one transaction on ``channel``, to be done: the baseline of the
    job benches."""
    from odoo import SUPERUSER_ID, api

    start = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        for _ in range(jobs):
            env["queue.job"].with_delay(channel=channel)._test_job()
    wait_until(
        lambda: count(
            registry,
            "SELECT count(*) FROM queue_job WHERE channel = %s AND state = 'done'",
            (channel,),
        ),
        jobs,
    )
    return time.monotonic() - start
