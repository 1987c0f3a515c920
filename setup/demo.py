"""``setup/demo``: serve the Integration Suite and replay a peak day through it.

Creates or updates the database ``integration_demo`` (the suite, a company with
a warehouse, 50 products in stock, backends pointing at the built-in simulators
on 127.0.0.1), starts Odoo with 2 workers and the queue_job runner and the
simulators, replays a peak with a live display, prints the reconciliation of
each simulator's ledger with the database, draws the peak, then serves until
Ctrl-C. Run ``setup/demo --help`` for the options.
"""

import argparse
import logging
import os
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [
    HERE,
    os.path.join(ROOT, "tests", "e2e"),
    os.path.join(ROOT, "integration_shopify", "tests"),
]

import harness  # noqa: E402
import peak  # noqa: E402
import peak_actors  # noqa: E402
import peak_report  # noqa: E402
import shopify_simulator as shopify  # noqa: E402
import world  # noqa: E402

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
    parser.add_argument(
        "--settle",
        type=int,
        default=1800,
        help="seconds to wait after the last order for everything to settle (1800)",
    )
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
def log_to_file(path):
    """This process's Odoo log (the warehouse's registry: a concurrent update
    retried in the next round, say) into ``path``, not over the live display."""
    root = logging.getLogger()
    if any(isinstance(h, logging.FileHandler) for h in root.handlers):
        return
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)


def import_simulators(db):
    """``(stripe_simulator, carrier_simulator)``: the carrier's imports Odoo
    addons, so the registry is set up first; their packages import Odoo's test
    framework, which complains outside a test run: not here."""
    harness.registry(db)
    log_to_file(os.path.join(ROOT, ".build", f"demo-{db}-client.log"))
    framework = logging.getLogger("odoo.tests.common")
    level = framework.level
    framework.setLevel(logging.CRITICAL)
    try:
        from odoo.addons.integration_carrier.tests import carrier_simulator
        from odoo.addons.integration_stripe.tests import stripe_simulator
    finally:
        framework.setLevel(level)
    return stripe_simulator, carrier_simulator


def start_simulators(db, processes):
    """The three simulated systems on 127.0.0.1, stopped however the demo ends."""
    stripe_simulator, carrier_simulator = import_simulators(db)
    simulators = {
        "shopify": shopify.ShopifySimulator(
            access_token=world.SHOPIFY_TOKEN,
            bucket_size=world.SHOPIFY_PLUS_BUCKET[0],
            leak_rate=world.SHOPIFY_PLUS_BUCKET[1],
        ),
        "stripe": stripe_simulator.StripeSimulator(api_key=world.STRIPE_API_KEY),
        "carrier": carrier_simulator.CarrierSimulator(api_key=world.CARRIER_API_KEY),
    }
    for simulator in simulators.values():
        simulator.start()
        processes.add(simulator.stop)
    return simulators


def simulator_urls(simulators):
    return {
        "shopify": simulators["shopify"].base_url,
        "stripe": simulators["stripe"].url,
        "carrier": simulators["carrier"].url,
    }


class Peak:
    """One peak run: the scenario, its senders and actors, the live view."""

    def __init__(self, args, base_url, backends, simulators):
        stripe_simulator, carrier_simulator = import_simulators(args.db)
        self.args = args
        self.backends = backends
        self.simulators = simulators
        self.rate = args.rate or max(1.0, args.orders / 120.0)
        self.tag = peak.new_tag()
        self.refs_like = f"#D{self.tag}-%"
        self.scenario = peak.build_scenario(
            args.orders, self.rate, args.seed, backends["shopify"]["secret"], self.tag
        )
        for order in self.scenario.orders:
            simulators["shopify"].add_order(order)
        self.buyers = peak_actors.StripeBuyers(
            simulators["stripe"],
            stripe_simulator.WebhookSender(
                base_url + backends["stripe"]["url"], backends["stripe"]["secret"]
            ),
        )
        peak.add_payments(self.scenario, args.seed, self.buyers.pay)
        self.timeline = peak.Timeline()
        self.since = harness.query(args.db, "SELECT now() AT TIME ZONE 'UTC'")[0][0]
        self.dispatcher = peak.Dispatcher(
            {system: base_url + info["url"] for system, info in backends.items()},
            self.timeline,
        )
        self.sampler = peak.Sampler(
            args.db, backends, self.timeline, self.since, self.refs_like
        )
        self.warehouse = peak_actors.Warehouse(args.db, self.refs_like)
        self.tracking = peak_actors.CarrierTracking(
            simulators["carrier"],
            carrier_simulator.WebhookSender(
                base_url + backends["carrier"]["url"], backends["carrier"]["secret"]
            ),
            self.dispatcher,
            self.timeline,
        )
        self.outage = peak_actors.CarrierOutage(
            simulators["carrier"],
            self.timeline,
            at=max(0.0, self.scenario.duration / 2 - peak_actors.OUTAGE_SECONDS / 2),
        )
        self.actors = (self.warehouse, self.tracking, self.outage)

    def view(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        latest = self.sampler.latest
        elapsed = self.timeline.now()
        down = self.timeline.outage_now()
        status = Text(f"Peak day: {elapsed:4.0f} s", style="bold")
        if down is not None:
            status.append(f"   CARRIER OUTAGE ({down:.0f} s)", style="bold red")
        elif self.timeline.outages:
            start, end = self.timeline.outages[0]
            status.append(f"   carrier outage {start:.0f}-{end:.0f} s: over")
        traffic = Table()
        for column in ("system", "sent", "accepted", "refused"):
            traffic.add_column(column, justify="right")
        for system in ("shopify", "stripe", "carrier"):
            traffic.add_row(system, *map(str, self.timeline.totals(system)))
        pipeline = Table()
        columns = ("processed", "failed", "dead", "outbound", "queue", "orders/s")
        for column in columns:
            pipeline.add_column(column, justify="right")
        processed = latest.get("processed", 0)
        pipeline.add_row(
            *(
                str(latest.get(key, 0))
                for key in ("processed", "failed", "dead", "outbox", "queue")
            ),
            f"{processed / elapsed:.1f}" if elapsed > 1 else "-",
        )
        business = Table()
        labels = ("sale orders", "payments", "shipped", "delivered", "invoiced")
        keys = ("sale_orders", "payments", "shipped", "delivered", "invoiced")
        for column in labels:
            business.add_column(column, justify="right")
        business.add_row(*(str(latest.get(key, 0)) for key in keys))
        return Group(status, traffic, pipeline, business)

    def settled(self):
        """Everything sent, every delivery shipped and tracked, no job left."""
        latest = self.sampler.sample()
        return (
            self.dispatcher.idle()
            and self.outage.state == "over"
            and self.warehouse.pending == 0
            and not self.tracking._bought()
            and not latest.get("queue")
            and not latest.get("outbox")
        )

    def run(self, say):
        from rich.console import Console
        from rich.live import Live

        say(
            f"==> peak: {self.args.orders} Shopify orders at {self.rate:.1f}/s, "
            f"{len(self.scenario.sends)} requests to start with (seed "
            f"{self.args.seed}); Stripe payments, the warehouse, the carrier's "
            "tracking and a 30 s carrier outage join in"
        )
        self.dispatcher.add(self.scenario.sends)
        self.dispatcher.start()
        self.sampler.start()
        for actor in self.actors:
            actor.start()
        try:
            with Live(self.view(), console=Console(), refresh_per_second=2) as live:
                deadline = time.monotonic() + self.scenario.duration + self.args.settle
                calm = 0
                while time.monotonic() < deadline and calm < 3:
                    time.sleep(1)
                    live.update(self.view())
                    if self.timeline.now() > self.scenario.duration:
                        calm = calm + 1 if self.settled() else 0
                live.update(self.view())
        finally:
            # however the run ends: everyone told first, then a few seconds
            # for them all (the threads are daemons)
            for actor in self.actors:
                actor.stop_event.set()
            self.dispatcher.close()
            self.sampler.stop_event.set()
            for actor in self.actors:
                actor.stop(wait=3)
            self.dispatcher.join(5)
        if calm < 3:
            say(
                f"setup/demo: the peak had not settled {self.args.settle} s after "
                "its last order (a busy machine?): counting what is there now"
            )
        self.sampler.sample()
        summary = peak_report.reconcile(
            self.args.db,
            SimpleNamespace(
                scenario=self.scenario,
                results=self.dispatcher.results,
                timeline=self.timeline,
            ),
            {
                "shopify": self.simulators["shopify"],
                "stripe": self.buyers,
                "carrier": self.simulators["carrier"],
            },
            self.backends,
            self.since,
            self.refs_like,
        )
        summary.update(
            seed=self.args.seed,
            orders=self.args.orders,
            rate=self.rate,
            duration_s=round(self.timeline.now(), 1),
            settled=calm >= 3,
            warehouse={
                "validated": self.warehouse.validated,
                "retried": self.warehouse.errors,
                "last_error": self.warehouse.last_error,
            },
        )
        return summary


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
        [(world.skus()[0], 1, "19.90")], shipping=("Standard", "5.00")
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
    simulators = start_simulators(args.db, processes)
    backends = world.seed(
        args.db, simulator_urls(simulators), shopify_bucket=world.SHOPIFY_PLUS_BUCKET
    )
    # what waits (a payment for its order, a fulfillment for its tracking
    # number) is retried within seconds, not the default policy's minutes
    world.use_fast_retries(args.db)
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
        run = Peak(args, base_url, backends, simulators)
        summary = run.run(say)
        os.makedirs(OUTPUT, exist_ok=True)
        paths = {
            "png": os.path.join(OUTPUT, "peak.png"),
            "html": os.path.join(OUTPUT, "peak.html"),
            "json": os.path.join(OUTPUT, "summary.json"),
        }
        peak_report.plot(
            run.timeline,
            paths["png"],
            paths["html"],
            f"Peak day: {args.orders} orders, payments, shipments, a carrier outage",
        )
        peak_report.write_summary(paths["json"], summary)
        peak_report.print_summary(summary, say)
        say(f"==> picture: {paths['png']} (page: {paths['html']})")
        say(f"==> summary: {paths['json']}")
        say(
            f"==> look at it: {base_url}/odoo/action-integration_core."
            "action_integration_dashboard (login admin / admin)"
        )
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
