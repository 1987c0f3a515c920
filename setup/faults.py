"""Fault injection: ``setup/test --faults`` runs these scenarios against real
servers and prints each one's figures (sent, accepted, applied, duplicates,
lost). A scenario fails when something accepted is lost or applied twice.

1. ``crash``: ``kill -9`` of the Odoo server in the middle of a burst of
   Shopify orders, then a restart: every accepted webhook ends as exactly one
   sale order, and no message is left in ``processing``.
2. ``postgres``: PostgreSQL restarted during a burst, on a cluster this script
   starts itself (never the machine's shared service): intake answers 503
   while it is down, the sender retries, nothing accepted is lost, no 500.
3. ``api-down``: the shop's API down for 60 s while stock levels go out:
   the outbound messages wait behind the open circuit and each is delivered
   once after recovery.
4. ``poison``: an order that can never map, among good ones on the same
   channel: dead with its reason at once, the others done without waiting.
5. ``fuzz``: 10,000 fuzzed requests to the webhook route (bodies, headers,
   encodings, sizes, chunked): no 5xx, no message stored without a valid
   signature.
6. ``leader``: the job runner leader's node killed in a two-node cluster
   during a burst (``setup/cluster --check``).

Usage: setup/faults.py [SCENARIO ...] [--orders 500] [--keep-db]
"""

import argparse
import ast
import datetime
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [
    HERE,
    os.path.join(ROOT, "tests", "e2e"),
    os.path.join(ROOT, "integration_shopify", "tests"),
]

import harness  # noqa: E402
import peak  # noqa: E402
import shopify_simulator as shopify  # noqa: E402
import world  # noqa: E402

from bench import commit  # noqa: E402

TEMPLATE = "integration_faults_template"
LOGS = os.path.join(ROOT, ".build", "faults")
# the last run's figures, quoted by bench/results.md (setup/bench)
RESULTS = os.path.join(ROOT, "bench", "faults.json")


class ScenarioFailed(AssertionError):
    pass


# -- shared pieces -------------------------------------------------------------------------
def fresh_database(name):
    harness.copy_database(TEMPLATE, name)
    return name


def order_sends(secret, count, seed, tag):
    scenario = peak.build_scenario(count, count / 20.0, seed, secret, tag)
    return scenario, [send for send in scenario.sends if send.kind == "order"]


def post_with_retries(url, send, give_up_after=180, on_status=None):
    """:func:`peak.deliver` with a session of its own."""
    return peak.deliver(requests.Session(), url, send, give_up_after, on_status)


def count_orders(db, names):
    rows = harness.query(
        db,
        "SELECT client_order_ref, count(*) FROM sale_order "
        "WHERE client_order_ref = ANY(%s) GROUP BY client_order_ref",
        (list(names),),
    )
    return dict(rows)


def judge(name, figures):
    figures["scenario"] = name
    print(
        f"    {name}: "
        + ", ".join(f"{k}={v}" for k, v in figures.items() if k != "scenario"),
        flush=True,
    )
    if figures.get("lost") or figures.get("duplicates"):
        raise ScenarioFailed(
            f"{name}: lost {figures.get('lost')}, duplicates {figures.get('duplicates')}"
        )
    return figures


def burst_figures(db, scenario, statuses):
    accepted = [
        scenario.orders[index]["name"]
        for index, status in statuses.items()
        if status == 200
    ]
    per_name = count_orders(db, accepted)
    return {
        "sent": len(statuses),
        "accepted": len(accepted),
        "applied": sum(1 for name in accepted if per_name.get(name)),
        "duplicates": sum(1 for count in per_name.values() if count > 1),
        "lost": sum(1 for name in accepted if not per_name.get(name)),
    }


# -- 1. crash ------------------------------------------------------------------------------
def scenario_crash(args):
    db = fresh_database("integration_faults_crash")
    shop = shopify.ShopifySimulator(access_token="shpat_demo").start()
    try:
        info = world.seed(db, {"shopify": shop.base_url})["shopify"]
        with harness.environment(db) as env:
            # the documented delay, shortened for the test: messages left in
            # processing for 1 minute are requeued by the stuck-message cron
            env["ir.config_parameter"].set_param("integration_core.stuck_minutes", 1)
            env.ref("integration_core.cron_recover_stuck_messages").interval_number = 1
        server = harness.OdooServer(
            db, cron_threads=1, log=os.path.join(LOGS, "crash.log")
        )
        scenario, sends = order_sends(info["secret"], args.orders, 11, peak.new_tag())
        statuses = {}
        server.start()
        url = server.url + info["url"]
        port = server.port
        killed = threading.Event()

        def crash_and_restart():
            harness.wait_until(
                lambda: len(statuses) >= len(sends) // 2,
                timeout=600,
                what="half the burst",
            )
            server.kill()
            killed.set()
            time.sleep(3)
            server.port = port
            server.start()

        crasher = threading.Thread(target=crash_and_restart, daemon=True)
        crasher.start()

        def post(send):
            statuses[send.order_index] = post_with_retries(url, send)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(post, sends))
        crasher.join()
        started = time.monotonic()
        harness.wait_until(
            lambda: (
                not harness.query(
                    db,
                    "SELECT count(*) FROM integration_inbox_message WHERE state IN "
                    "('received', 'queued', 'processing')",
                )[0][0]
            ),
            timeout=300,
            what="every accepted message processed",
        )
        recovered_in = round(time.monotonic() - started, 1)
        harness.wait_for_idle(db, timeout=300)
        server.stop()
        figures = burst_figures(db, scenario, statuses)
        figures["killed"] = killed.is_set()
        figures["settled_after_restart_s"] = recovered_in
        figures["left_processing"] = harness.query(
            db,
            "SELECT count(*) FROM integration_inbox_message WHERE state = 'processing'",
        )[0][0]
        if figures["left_processing"]:
            raise ScenarioFailed("crash: messages left in processing")
        return judge("crash", figures)
    finally:
        shop.stop()


# -- 2. PostgreSQL restart -------------------------------------------------------------------
class PrivatePostgres:
    """A PostgreSQL cluster of this script's own, in a temporary folder."""

    def __init__(self):
        self.bindir = self._bindir()
        self.folder = tempfile.mkdtemp(prefix="faults-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = harness.free_port()
        self.role = "integration_faults"
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def _bindir():
        base = "/usr/lib/postgresql"
        versions = (
            sorted(os.listdir(base), key=lambda v: int(v) if v.isdigit() else 0)
            if os.path.isdir(base)
            else []
        )
        for version in reversed(versions):
            if os.path.exists(os.path.join(base, version, "bin", "pg_ctl")):
                return os.path.join(base, version, "bin")
        if shutil.which("pg_ctl"):
            return os.path.dirname(shutil.which("pg_ctl"))
        raise ScenarioFailed("postgres: no pg_ctl found to start a private cluster")

    def _run(self, *cmd):
        subprocess.run(
            self.user + list(cmd),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self):
        if self.user:
            shutil.chown(self.folder, "postgres")
        self._run(
            os.path.join(self.bindir, "initdb"),
            "-D",
            self.data,
            "-A",
            "trust",
            "-U",
            "postgres",
        )
        self.pg_ctl("start")
        # Odoo refuses to run as the "postgres" role
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                f"CREATE ROLE {self.role} SUPERUSER LOGIN",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return self

    def pg_ctl(self, action):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            os.path.join(self.bindir, "pg_ctl"),
            "-D",
            self.data,
            "-o",
            options,
            "-w",
            "-l",
            os.path.join(self.folder, "log"),
            action,
            *(["-m", "fast"] if action != "start" else []),
        )

    def env(self):
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": self.role}

    def stop(self):
        try:
            self.pg_ctl("stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def scenario_postgres(args):
    pg = PrivatePostgres().start()
    shop = shopify.ShopifySimulator(access_token="shpat_demo").start()
    db = "integration_faults_pg"
    saved = {key: os.environ.get(key) for key in ("PGHOST", "PGPORT", "PGUSER")}
    try:
        dump = subprocess.run(
            ["pg_dump", "-Fc", TEMPLATE], check=True, capture_output=True
        ).stdout
        env = dict(os.environ, **pg.env())
        subprocess.run(["createdb", db], check=True, env=env)
        restore = subprocess.run(
            ["pg_restore", "--no-owner", "-d", db],
            input=dump,
            env=env,
            capture_output=True,
        )
        if restore.returncode not in (0, 1):
            raise ScenarioFailed(f"postgres: restore failed: {restore.stderr[-500:]}")
        os.environ.update(pg.env())
        info = seed_private(db, shop, pg)
        server = harness.OdooServer(
            db,
            cron_threads=0,
            log=os.path.join(LOGS, "postgres.log"),
            extra_env=pg.env(),
            db_options=[
                "--db_host=127.0.0.1",
                f"--db_port={pg.port}",
                f"--db_user={pg.role}",
            ],
        )
        scenario, sends = order_sends(
            info["secret"], args.orders // 2, 12, peak.new_tag()
        )
        statuses, seen = {}, {}
        lock = threading.Lock()

        def saw(status):
            with lock:
                seen[status] = seen.get(status, 0) + 1

        with server:
            url = server.url + info["url"]
            restarted = threading.Event()

            def restart_postgres():
                harness.wait_until(
                    lambda: len(statuses) >= len(sends) // 3,
                    timeout=600,
                    what="a third of the burst",
                )
                pg.pg_ctl("stop")
                time.sleep(5)
                pg.pg_ctl("start")
                restarted.set()

            restarter = threading.Thread(target=restart_postgres, daemon=True)
            restarter.start()

            def post(send):
                statuses[send.order_index] = post_with_retries(url, send, on_status=saw)

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(post, sends))
            restarter.join()
            harness.wait_for_idle(db, timeout=300)
        figures = burst_figures(db, scenario, statuses)
        figures["answers"] = dict(sorted(seen.items()))
        figures["http_500"] = sum(
            count
            for status, count in seen.items()
            if status >= 500 and status not in (502, 503, 504)
        )
        figures["http_503_while_down"] = seen.get(503, 0)
        if figures["http_500"]:
            raise ScenarioFailed("postgres: the intake answered 500")
        return judge("postgres", figures)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shop.stop()
        pg.stop()


def seed_private(db, shop, pg):
    """Seed ``db`` of the private cluster through this process's registry,
    then point Odoo's configuration back at the machine's server."""
    import odoo
    from odoo.modules.registry import Registry

    config = odoo.tools.config
    saved = {key: config[key] for key in ("db_host", "db_port", "db_user")}
    for key, value in (
        ("db_host", "127.0.0.1"),
        ("db_port", pg.port),
        ("db_user", pg.role),
    ):
        config[key] = value
    try:
        return world.seed(db, {"shopify": shop.base_url})["shopify"]
    finally:
        Registry.delete(db)
        for key, value in saved.items():
            config[key] = value


# -- 3. external API down ----------------------------------------------------------------------
def scenario_api_down(args):
    db = fresh_database("integration_faults_api")
    shop = shopify.ShopifySimulator(
        access_token="shpat_demo", bucket_size=80, leak_rate=40
    ).start()
    port = shop.server.server_address[1]
    try:
        info = world.seed(db, {"shopify": shop.base_url})["shopify"]
        with harness.environment(db) as env:
            env["integration.backend"].browse(info["id"]).write(
                {"circuit_failure_threshold": 3, "circuit_cooldown": 10}
            )
        shop.stop()  # the API goes down
        down_at = time.monotonic()
        with harness.OdooServer(
            db, cron_threads=1, log=os.path.join(LOGS, "api-down.log")
        ):
            with harness.environment(db) as env:
                peak.bump_stock(env)
            time.sleep(max(0.0, 60 - (time.monotonic() - down_at)))
            states_while_down = dict(
                harness.query(
                    db,
                    "SELECT state, count(*) FROM integration_outbox_message GROUP BY state",
                )
            )
            with harness.environment(db) as env:
                circuit = env["integration.backend"].browse(info["id"]).circuit_state
            shop.restart(port)
            harness.wait_until(
                lambda: (
                    not harness.query(
                        db,
                        "SELECT count(*) FROM integration_outbox_message WHERE state NOT IN ('sent', 'superseded', 'cancelled')",
                    )[0][0]
                ),
                timeout=300,
                what="every stock level delivered",
            )
        done = harness.query(
            db, "SELECT count(*) FROM integration_outbox_message WHERE state = 'sent'"
        )[0][0]
        delivered = [
            r
            for r in shop.requests
            if r.get("status") == 200 and "inventory_levels" in r["path"]
        ]
        per_item = {}
        for request in delivered:
            key = request["body"]["inventory_item_id"]
            per_item[key] = per_item.get(key, 0) + 1
        figures = {
            "outbound_messages_done": done,
            "delivered_calls": len(delivered),
            "items": len(per_item),
            "circuit_while_down": circuit,
            "states_while_down": states_while_down,
            "duplicates": sum(1 for count in per_item.values() if count > 1),
            "lost": max(0, done - len(delivered)),
        }
        return judge("api-down", figures)
    finally:
        shop.stop()


# -- 4. poison message ---------------------------------------------------------------------------
def scenario_poison(args):
    db = fresh_database("integration_faults_poison")
    shop = shopify.ShopifySimulator(access_token="shpat_demo").start()
    try:
        info = world.seed(db, {"shopify": shop.base_url})["shopify"]
        scenario, sends = order_sends(info["secret"], 60, 14, peak.new_tag())
        sender = shopify.WebhookSender("", info["secret"])
        poison = shopify.order_payload([("NO-SUCH-SKU", 1, "9.99")], name="#POISON-1")
        poison["line_items"][0]["quantity"] = "many"
        body, headers = sender.build("orders/create", poison)
        with harness.OdooServer(db, log=os.path.join(LOGS, "poison.log")) as server:
            url = server.url + info["url"]
            start = time.monotonic()
            first = requests.post(
                url, data=body, headers=headers, timeout=30
            ).status_code
            statuses = {}
            for send in sends:
                statuses[send.order_index] = post_with_retries(url, send)
            harness.wait_until(
                lambda: (
                    len(count_orders(db, [o["name"] for o in scenario.orders]))
                    == len(sends)
                ),
                timeout=300,
                what="the good orders",
            )
            good_done_s = round(time.monotonic() - start, 1)
        poison_row = harness.query(
            db,
            "SELECT state, attempt_count, last_error FROM integration_inbox_message "
            "WHERE external_ref = %s",
            (str(poison["id"]),),
        )
        figures = burst_figures(db, scenario, statuses)
        state, attempts, reason = poison_row[0] if poison_row else (None, None, None)
        figures.update(
            poison_http=first,
            poison_state=state,
            poison_attempts=attempts,
            poison_reason=(reason or "")[:80],
            good_orders_done_s=good_done_s,
        )
        if state != "dead":
            raise ScenarioFailed(f"poison: the poison message is {state}, not dead")
        return judge("poison", figures)
    finally:
        shop.stop()


# -- 5. fuzz -----------------------------------------------------------------------------------
def fuzz_requests(count, seed, token):
    """(method line, headers, body, chunked) of ``count`` hostile requests."""
    rng = random.Random(seed)
    bodies = [
        b"",
        b"{",
        b"null",
        b"[]",
        b'{"id": 1e999}',
        b'{"id": NaN}',
        '{"name": "\u00e9\u00e8\u4e2d\U0001f600"}'.encode(),
        '{"a": "\udcff"}'.encode("utf-8", "surrogatepass"),
        b"\xff\xfe\x00{\x00}",
        b"\x00" * 64,
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
        b'{"k": "' + b"x" * 300000 + b'"}',
    ]
    topics = ["orders/create", "", "x" * 300, "orders/create\r\nX-Evil: 1", "../../etc"]
    encodings = [
        "application/json",
        "text/plain",
        "application/json; charset=latin-1",
        "multipart/form-data; boundary=x",
        "",
    ]
    for index in range(count):
        body = (
            rng.choice(bodies)
            if rng.random() < 0.7
            else bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2048)))
        )
        headers = {
            "Content-Type": rng.choice(encodings),
            "X-Shopify-Topic": rng.choice(topics),
            "X-Shopify-Hmac-Sha256": rng.choice(["", "AAAA", "not base64!", "x" * 500]),
            "X-Shopify-Event-Id": rng.choice(["", f"fuzz-{index}", "e" * 400]),
        }
        if rng.random() < 0.1:
            headers["Content-Encoding"] = rng.choice(["gzip", "br", "identity"])
        path = f"/integration/webhook/{token if rng.random() < 0.8 else rng.choice(['x', '%00', 'a' * 300])}"
        yield (
            path,
            {k: v for k, v in headers.items() if "\r" not in v and "\n" not in v},
            body,
            rng.random() < 0.2,
        )


def raw_post(port, path, headers, body, chunked):
    """One request written by hand on a socket (chunked bodies included)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in headers.items() if value]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = (
            b"".join(
                f"{len(body[i : i + 997]):x}\r\n".encode() + body[i : i + 997] + b"\r\n"
                for i in range(0, len(body), 997)
            )
            + b"0\r\n\r\n"
        )
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + payload
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0  # the server closed the connection without an answer


def scenario_fuzz(args):
    db = fresh_database("integration_faults_fuzz")
    shop = shopify.ShopifySimulator(access_token="shpat_demo").start()
    try:
        info = world.seed(db, {"shopify": shop.base_url})["shopify"]
        before = harness.query(db, "SELECT count(*) FROM integration_inbox_message")[0][
            0
        ]
        statuses = {}
        lock = threading.Lock()
        with harness.OdooServer(
            db, workers=2, log=os.path.join(LOGS, "fuzz.log")
        ) as server:

            def fire(request):
                status = raw_post(server.port, *request)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(fire, fuzz_requests(args.fuzz, 99, info["token"])))
        stored = (
            harness.query(db, "SELECT count(*) FROM integration_inbox_message")[0][0]
            - before
        )
        server_errors = sum(
            count for status, count in statuses.items() if status >= 500
        )
        figures = {
            "sent": sum(statuses.values()),
            "answers": dict(sorted(statuses.items())),
            "http_5xx": server_errors,
            "stored_without_valid_signature": stored,
            "lost": 0,
            "duplicates": 0,
        }
        if server_errors or stored:
            raise ScenarioFailed(
                f"fuzz: {server_errors} answers 5xx, {stored} messages stored"
            )
        return judge("fuzz", figures)
    finally:
        shop.stop()


# -- 6. leader kill ------------------------------------------------------------------------------
def scenario_leader(args):
    run = subprocess.run(
        [
            harness.python(),
            os.path.join(HERE, "cluster.py"),
            "--check",
            "--orders",
            str(min(args.orders, 300)),
            "--db",
            "integration_faults_cluster",
            "--port",
            str(harness.free_port()),
            "--reset",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    print(run.stdout[-3000:])
    figures = {"exit_status": run.returncode}
    for line in run.stdout.splitlines():
        name, sep, value = line.strip().partition(": ")
        if sep and name in (
            "lost",
            "doubled",
            "takeover_s",
            "orders_accepted",
            "sale_orders",
            "jobs_by_node",
            "requests_by_node",
            "busiest_window_calls",
            "window_allowed",
            "throttled_429",
            "rate_limit_held",
        ):
            figures[name] = _literal(value)
    figures["duplicates"] = int(figures.get("doubled", 0) or 0)
    figures["lost"] = int(figures.get("lost", 0) or 0)
    harness.drop_database("integration_faults_cluster")
    if run.returncode:
        raise ScenarioFailed(
            f"leader: setup/cluster --check failed: {run.stderr[-2000:]}"
        )
    return judge("leader", figures)


def _literal(text):
    """A figure printed by ``setup/cluster --check`` as the value it stands for."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


SCENARIOS = {
    "crash": scenario_crash,
    "postgres": scenario_postgres,
    "api-down": scenario_api_down,
    "poison": scenario_poison,
    "fuzz": scenario_fuzz,
    "leader": scenario_leader,
}


def write_results(results):
    """Keep the last figures of each scenario: those run now replace theirs."""
    previous = []
    if os.path.exists(RESULTS):
        with open(RESULTS, encoding="utf-8") as handle:
            previous = json.load(handle)
    # the run's date and commit go with its figures: results.md quotes them,
    # not the file's time, which is a clone's time
    stamp = {"date": datetime.date.today().isoformat(), "commit": commit()}
    results = [dict(figures, **stamp) for figures in results]
    ran = {figures["scenario"] for figures in results}
    kept = [figures for figures in previous if figures.get("scenario") not in ran]
    order = list(SCENARIOS)
    merged = sorted(
        kept + results,
        key=lambda f: order.index(f["scenario"]) if f.get("scenario") in order else 99,
    )
    with open(RESULTS, "w", encoding="utf-8") as handle:
        json.dump(merged, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")  # a text file ends with a newline (pre-commit)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=f"some of {', '.join(SCENARIOS)}")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--fuzz", type=int, default=10000, help="fuzzed requests")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    names = args.scenarios or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(
            f"unknown scenarios {', '.join(unknown)}; choose among {', '.join(SCENARIOS)}"
        )
    os.makedirs(LOGS, exist_ok=True)
    print(f"==> fault scenarios: {', '.join(names)}", flush=True)
    harness.install_database(
        TEMPLATE, "integration_suite", os.path.join(LOGS, "install.log")
    )
    results, failures = [], []
    try:
        for name in names:
            print(f"==> {name}", flush=True)
            started = time.monotonic()
            try:
                figures = SCENARIOS[name](args)
            except Exception as err:  # noqa: BLE001 - a broken scenario fails, the others run
                failures.append(str(err))
                figures = {"scenario": name, "failed": str(err)}
                print(f"    {name}: FAILED: {err}", flush=True)
            figures["seconds"] = round(time.monotonic() - started, 1)
            results.append(figures)
    finally:
        write_results(results)
        if not args.keep_db:
            for name in ["crash", "api", "poison", "fuzz"]:
                harness.drop_database(f"integration_faults_{name}")
            harness.drop_database(TEMPLATE)
    print(f"==> figures: {RESULTS}")
    if failures:
        print("==> FAILED: " + "; ".join(failures))
        return 1
    print("==> every fault scenario passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
