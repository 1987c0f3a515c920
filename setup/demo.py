"""``setup/demo``: serve the Integration Suite and replay a peak day through it.

Creates or updates the database ``integration_demo`` (the suite, a company with
a warehouse, 50 products in stock, backends pointing at the built-in simulators
on 127.0.0.1), starts Odoo with 2 workers and the queue_job runner and the
simulators, replays a peak with a live display, prints the reconciliation of
each simulator's ledger with the database, draws the peak, then serves until
Ctrl-C. Run ``setup/demo --help`` for the options.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

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

OUTPUT = os.path.join(ROOT, ".build", "demo")
DEMO_MODULES = "integration_suite"


# a bad environment, said in one line
DemoError = harness.SetupError


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="setup/demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--orders", type=int, default=1000, help="orders in the peak (1000)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="orders per second (default: the orders spread over about 2 minutes)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="the same seed gives the same scenario"
    )
    parser.add_argument("--exit", action="store_true", help="stop after the summary")
    parser.add_argument("--reset", action="store_true", help="recreate the database")
    parser.add_argument("--no-peak", action="store_true", help="just serve")
    parser.add_argument(
        "--send-sample",
        action="store_true",
        help="send one signed sample order to a running demo and exit",
    )
    parser.add_argument(
        "--db", default=os.environ.get("INTEGRATION_DEMO_DB", "integration_demo")
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("INTEGRATION_HTTP_PORT", "8069"))
    )
    parser.add_argument(
        "--output", default=OUTPUT, help="where the summary and picture go"
    )
    return parser.parse_args(argv)


# -- environment checks ----------------------------------------------------------------
def check_port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind((harness.LOOPBACK, port))
        except OSError:
            raise DemoError(
                f"port {port} on 127.0.0.1 is taken (another Odoo?): stop it, or run "
                "again with --port <free port>"
            ) from None


def check_postgres():
    try:
        harness.query("postgres", "SELECT 1")
    except Exception as err:  # noqa: BLE001 - any failure means the same to the user
        raise DemoError(
            "PostgreSQL does not answer on its socket (setup/bootstrap could not "
            "start it): start it (service postgresql start) or set PGHOST/PGPORT, "
            f"then run setup/demo again ({str(err).strip().splitlines()[0]})"
        ) from err


# -- database -----------------------------------------------------------------------------
def database_ready(db):
    try:
        return bool(
            harness.query(
                db,
                "SELECT 1 FROM ir_module_module WHERE name = %s AND state = 'installed'",
                ("integration_suite",),
            )
        )
    except Exception:  # noqa: BLE001 - missing database or tables
        return False


def prepare_database(db, reset, say):
    os.makedirs(OUTPUT, exist_ok=True)
    log = os.path.join(ROOT, ".build", f"demo-{db}.log")
    if reset or not database_ready(db):
        say(f"==> database {db}: installing the suite (a minute or two)")
        try:
            harness.install_database(db, DEMO_MODULES, log)
        except harness.HarnessError:
            harness.drop_database(db)  # nothing half-created left behind
            raise DemoError(
                f"installing the suite into {db} failed: see {log}"
            ) from None
    else:
        say(f"==> database {db}: updating the suite's modules")
        modules = "integration_core,integration_shopify,integration_stripe,integration_carrier,integration_suite"
        cmd = [
            harness.ODOO_BIN,
            "-c",
            harness.CONF,
            "-d",
            db,
            "-u",
            modules,
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ]
        with open(log, "w", encoding="utf-8") as output:
            if subprocess.call(cmd, stdout=output, stderr=subprocess.STDOUT):
                raise DemoError(f"updating the suite in {db} failed: see {log}")


# -- the run ---------------------------------------------------------------------------------
def run_peak(args, base_url, backends, simulators, say):
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    rate = args.rate or max(1.0, args.orders / 120.0)
    tag = peak.new_tag()
    shop_info = backends["shopify"]
    scenario = peak.build_scenario(
        args.orders, rate, args.seed, shop_info["secret"], tag
    )
    timeline = peak.Timeline()
    run_started_at = harness.query(args.db, "SELECT now() AT TIME ZONE 'UTC'")[0][0]
    replayer = peak.Replayer(base_url + shop_info["url"], scenario, timeline)
    sampler = peak.Sampler(args.db, [shop_info["id"]], timeline, run_started_at)
    console = Console()
    say(
        f"==> peak: {args.orders} Shopify orders at {rate:.1f}/s "
        f"({len(scenario.sends)} requests, seed {args.seed})"
    )

    def view():
        sent, accepted, refused = timeline.totals()
        latest = sampler.latest
        elapsed = timeline.now()
        table = Table(title=f"Peak day: {elapsed:5.0f} s", show_header=True)
        for column in (
            "sent",
            "accepted",
            "refused",
            "processed",
            "failed",
            "dead",
            "queue",
            "orders/s",
        ):
            table.add_column(column, justify="right")
        processed = latest.get("done", 0) + latest.get("ignored", 0)
        table.add_row(
            str(sent),
            str(accepted),
            str(refused),
            str(processed),
            str(latest.get("failed", 0)),
            str(latest.get("dead", 0)),
            str(latest.get("queue", 0)),
            f"{processed / elapsed:.1f}" if elapsed > 1 else "-",
        )
        return table

    sampler.start()
    thread = replayer.start()
    with Live(view(), console=console, refresh_per_second=2, transient=False) as live:
        while thread.is_alive():
            thread.join(0.5)
            live.update(view())
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            latest = sampler.sample()
            live.update(view())
            if not any(
                latest.get(key) for key in ("queue", "received", "queued", "processing")
            ):
                break
            time.sleep(1)
    sampler.stop_event.set()
    harness.wait_for_idle(args.db, timeout=300)
    sampler.sample()
    summary = peak.reconcile(
        args.db, scenario, replayer, shop_info["id"], simulators["shopify"]
    )
    summary.update(
        seed=args.seed,
        orders=args.orders,
        rate=rate,
        duration_s=round(timeline.now(), 1),
    )
    return summary, timeline


def print_summary(summary, paths, base_url, say):
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Reconciliation: each simulator's ledger against the database")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("requests sent", summary["sent_requests"]),
        ("requests accepted (200)", summary["accepted_requests"]),
        ("orders sent by the shop", summary["orders_sent"]),
        ("orders accepted", summary["orders_accepted"]),
        ("sale orders in Odoo", summary["sale_orders"]),
        ("  of which confirmed", summary["sale_orders_confirmed"]),
        ("duplicates suppressed", summary["duplicates_suppressed"]),
        ("malformed or badly signed sent", summary["bad_requests_sent"]),
        ("  refused (400 / 401)", summary["bad_requests_refused"]),
        ("inventory updates sent to the shop", summary["inventory_calls"]),
        ("dead letters", len(summary["dead_letters"])),
        ("LOST", summary["lost"]),
        ("DOUBLED", summary["doubled"]),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console = Console()
    console.print(table)
    for reason, count in summary["refused_by_reason"].items():
        say(f"    refused {reason}: {count}")
    for letter in summary["dead_letters"][:10]:
        say(f"    dead: {letter['topic']}: {letter['reason']}")
    say(f"==> picture: {paths['png']} (page: {paths['html']})")
    say(f"==> summary: {paths['json']}")
    say(
        f"==> look at it: {base_url}/odoo/action-integration_core.action_integration_dashboard "
        "(login admin / admin)"
    )


def send_sample(args, say):
    """One signed sample order to the running demo's Shopify backend."""
    with harness.environment(args.db) as env:
        shop = env["integration.backend"].search(
            [("backend_type", "=", "shopify")], limit=1
        )
        if not shop:
            raise DemoError("no demo Shopify backend yet: run setup/demo first")
        secret, token = shop._get_webhook_secrets()[0], shop.webhook_token
    order = shopify.order_payload(
        [(peak.demo_skus()[0], 1, "19.90")], shipping=("Standard", "5.00")
    )
    sender = shopify.WebhookSender(
        f"http://127.0.0.1:{args.port}/integration/webhook/{token}", secret
    )
    response = sender.send("orders/create", order)
    say(
        f"==> sent sample order {order['name']}: HTTP {response.status_code} {response.text[:200]}"
    )
    return 0 if response.status_code == 200 else 1


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    global OUTPUT
    OUTPUT = args.output
    return harness.run_program("setup/demo", lambda processes: demo(args, processes))


def say(line):
    print(line, flush=True)


def demo(args, processes):
    check_postgres()
    if args.send_sample:
        return send_sample(args, say)
    check_port_free(args.port)
    prepare_database(args.db, args.reset, say)
    simulators = {
        "shopify": shopify.ShopifySimulator(access_token="shpat_demo").start()
    }
    processes.add(simulators["shopify"].stop)
    backends = peak.seed_world(args.db, simulators)
    server = harness.OdooServer(
        args.db,
        workers=2,
        channels="root:4",
        cron_threads=1,
        port=args.port,
        log=os.path.join(ROOT, ".build", f"demo-{args.db}-server.log"),
    )
    server.start()
    processes.add(server.stop)
    base_url = server.url
    say(f"==> Odoo serves {args.db} on {base_url} (login admin / admin)")
    for name, info in backends.items():
        say(f"    {name} webhook URL: {base_url}{info['url']}")
    say("    a signed sample order: setup/demo --send-sample")
    if not args.no_peak:
        summary, timeline = run_peak(args, base_url, backends, simulators, say)
        os.makedirs(OUTPUT, exist_ok=True)
        paths = {
            "png": os.path.join(OUTPUT, "peak.png"),
            "html": os.path.join(OUTPUT, "peak.html"),
            "json": os.path.join(OUTPUT, "summary.json"),
        }
        peak.plot(
            timeline, paths["png"], paths["html"], f"Peak day: {args.orders} orders"
        )
        peak.write_summary(paths["json"], summary)
        print_summary(summary, paths, base_url, say)
        if summary["lost"] or summary["doubled"]:
            say("setup/demo: something was lost or doubled (see above)")
            if args.exit:
                return 1
    if args.exit:
        return 0
    say("==> serving until Ctrl-C")
    while server.proc and server.proc.poll() is None:
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
