"""Real servers for end-to-end scenarios: databases, an Odoo server with the
queue_job runner, and waiting until its queue is idle.

Plain Python driven from outside Odoo (the end-to-end tests, ``setup/demo``):
the Odoo server is a separate process, as in production, and this process
opens the same database through its own registry to arrange and inspect.
Everything stays on 127.0.0.1.
"""

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psycopg2
from psycopg2 import sql

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.environ.get("INTEGRATION_VENV", os.path.join(ROOT, ".venv"))
CONF = os.environ.get("INTEGRATION_ODOO_CONF", os.path.join(ROOT, "odoo.conf"))
ODOO_BIN = os.path.join(VENV, "bin", "odoo")
LOOPBACK = "127.0.0.1"


class HarnessError(RuntimeError):
    """A scenario could not be set up or did not settle."""


class SetupError(Exception):
    """A bad environment for a program of setup/: said in one line, with what
    to do."""


class Processes:
    """Everything a program starts, stopped however it ends."""

    def __init__(self):
        self.stoppers = []

    def add(self, stop):
        self.stoppers.append(stop)

    def stop_all(self):
        while self.stoppers:
            stop = self.stoppers.pop()
            try:
                stop()
            except Exception:  # noqa: BLE001,S112 - stop the others anyway
                continue


def run_program(name, body):
    """Run ``body(processes)`` as program ``name`` of setup/: its exit status,
    2 with one line on a :class:`SetupError`, 130 on Ctrl-C or SIGTERM; every
    process it registered is stopped, however it ends."""
    processes = Processes()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        return body(processes)
    except SetupError as err:
        sys.stderr.write(f"{name}: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stdout.write("\n==> stopping\n")
        return 130
    finally:
        processes.stop_all()


_GIVEN_PORTS = set()


def free_port():
    """A free port of 127.0.0.1, never one this process was given before (two
    servers started later must not get the same one)."""
    while True:
        with socket.socket() as sock:
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


# -- databases ---------------------------------------------------------------------
def _admin_connection():
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    return conn


def drop_database(db):
    conn = _admin_connection()
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (db,),
            )
            cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
    finally:
        conn.close()


def copy_database(template, db):
    """``db`` as a copy of ``template`` (seconds, where an install takes minutes);
    the filestore is not copied: the scenarios' databases have no attachments
    before they start."""
    drop_database(db)
    conn = _admin_connection()
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s",
                (template,),
            )
            cr.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(db), sql.Identifier(template)
                )
            )
    finally:
        conn.close()


def install_database(db, modules, log_path, demo=False):
    """(Re)create ``db`` with ``modules`` installed.

    Where ``INTEGRATION_E2E_TEMPLATE`` names a database with every one of
    ``modules`` installed and no demo data (``setup/test`` makes one from its
    test database before the tests start), ``db`` is a copy of it: seconds
    instead of minutes.

    :raises HarnessError: the install failed; the end of its log is in the message
    """
    template = os.environ.get("INTEGRATION_E2E_TEMPLATE")
    if template and not demo and _has_modules(template, modules.split(",")):
        copy_database(template, db)
        return
    drop_database(db)
    cmd = [ODOO_BIN, "-c", CONF, "-d", db, "-i", modules]
    cmd += ["--stop-after-init", "--no-http", "--log-level=warn"]
    if not demo:
        cmd.append("--without-demo=all")
    with open(log_path, "w", encoding="utf-8") as log:
        status = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
    if status:
        with open(log_path, encoding="utf-8") as log:
            tail = "".join(log.readlines()[-30:])
        raise HarnessError(f"installing {modules} into {db} failed:\n{tail}")


def _has_modules(db, modules):
    try:
        rows = query(
            db,
            "SELECT count(*) FROM ir_module_module "
            "WHERE name = ANY(%s) AND state = 'installed'",
            (list(modules),),
        )
    except psycopg2.Error:
        return False
    return rows[0][0] == len(set(modules))


_CONFIGURED = False


def registry(db):
    """The Odoo registry of ``db`` in this process."""
    import odoo
    from odoo.modules.registry import Registry

    global _CONFIGURED
    if not _CONFIGURED:
        odoo.tools.config.parse_config(["-c", CONF, "--no-http", "--log-level=warn"])
        _CONFIGURED = True
    return Registry(db)


@contextlib.contextmanager
def environment(db, context=None):
    """A superuser ``env`` of ``db`` whose transaction commits on exit."""
    from odoo import SUPERUSER_ID, api

    with registry(db).cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, dict(context or {}))


def query(db, statement, params=()):
    """Rows of ``statement`` from a connection of its own (no ORM cache)."""
    conn = psycopg2.connect(dbname=db)
    try:
        with conn.cursor() as cr:
            cr.execute(statement, params)
            return cr.fetchall()
    finally:
        conn.close()


# -- the Odoo server ---------------------------------------------------------------
class OdooServer:
    """An Odoo server on 127.0.0.1 serving ``db`` with HTTP workers and the
    queue_job runner, started and stopped by this process.

    ``channels``: queue_job's channel capacities (``root:2``); crons are off
    unless ``cron_threads`` is given, so a scenario runs them when it wants.
    """

    def __init__(
        self,
        db,
        workers=2,
        channels="root:2",
        cron_threads=0,
        port=None,
        log=None,
        extra_env=None,
        db_options=(),
    ):
        self.extra_env = dict(extra_env or {})
        self.db_options = list(db_options)
        self.db = db
        self.workers = workers
        self.channels = channels
        self.cron_threads = cron_threads
        self.port = port or free_port()
        self.log = log
        self.proc = None

    @property
    def url(self):
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout=120):
        env = dict(os.environ, ODOO_QUEUE_JOB_CHANNELS=self.channels, **self.extra_env)
        cmd = [
            ODOO_BIN,
            "-c",
            CONF,
            "-d",
            self.db,
            f"--workers={self.workers}",
            f"--max-cron-threads={self.cron_threads}",
            f"--http-port={self.port}",
            f"--gevent-port={free_port()}",
            "--log-level=warn",
            "--limit-time-real=600",
            "--limit-time-cpu=600",
            *self.db_options,
        ]
        output = open(self.log, "a", encoding="utf-8") if self.log else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=output or subprocess.DEVNULL,
                stderr=output or None,
                start_new_session=True,
            )
        finally:
            if output:
                output.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/web/health", timeout=2):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise HarnessError(
                        f"the Odoo server of {self.db} did not start"
                    ) from None
                time.sleep(0.3)

    def kill(self):
        """``kill -9`` of the server and every process it started (a crash)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def pids(self):
        """The server's process and its children (workers, job runner)."""
        if not self.proc:
            return set()
        pids = {self.proc.pid}
        for line in subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split():
            pids.add(int(line))
        return pids

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- settling ----------------------------------------------------------------------
PENDING_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")


def queue_depth(db):
    """Jobs not finished yet, those waiting for a later attempt included."""
    return query(
        db,
        "SELECT count(*) FROM queue_job WHERE state IN %s",
        (PENDING_JOB_STATES,),
    )[0][0]


def report(text):
    """A figure an end-to-end test checks: in the log, and in the file named by
    ``INTEGRATION_E2E_REPORT``, which ``setup/test`` prints after the tests
    (pytest keeps a passing test's own output to itself)."""
    logging.getLogger("integration.e2e").info("%s", text)
    path = os.environ.get("INTEGRATION_E2E_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def wait_until(predicate, timeout=120, interval=0.3, what="the condition"):
    """Poll ``predicate`` until it returns a true value, which is returned.

    :raises HarnessError: ``timeout`` seconds passed first
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise HarnessError(f"{what} did not hold within {timeout} s")
        time.sleep(interval)


def wait_for_idle(db, timeout=180, settle=1.0):
    """Until no job is left to run (retries with a later attempt included) and
    none appeared for ``settle`` seconds."""

    def idle():
        if queue_depth(db):
            return False
        time.sleep(settle)
        return not queue_depth(db)

    wait_until(idle, timeout=timeout, what=f"an idle job queue in {db}")


def python():
    """The virtualenv's Python (scripts of a scenario run with it)."""
    return (
        os.path.join(VENV, "bin", "python") if os.path.exists(VENV) else sys.executable
    )


def run_seed_script(script, db, *args, timeout=300):
    """Run ``script`` (Python source) with the virtualenv's Python, given this
    folder, ``db`` and ``args`` as its arguments, from a process of its own (a
    test process cannot open a second registry); the JSON it prints last."""
    seeded = subprocess.run(
        [python(), "-c", script, os.path.dirname(__file__), db, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return json.loads(seeded.stdout.strip().splitlines()[-1])
