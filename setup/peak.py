"""A peak day replayed through the suite: the traffic, its timeline, and the
reconciliation of what the simulated systems sent with what Odoo holds.

Used by ``setup/demo``. Plain Python: the Odoo server runs in its own
processes; this process sends the traffic like the outside systems would, opens
the database through its own registry to play the warehouse, and reads the
outcome with SQL.

A scenario is a list of timed sends, built from a seed (the same seed gives the
same scenario): each order's ``orders/create`` webhook, duplicates of some,
``orders/updated`` versions delivered before the create, malformed and badly
signed requests, and the follow-ups of the other systems once the order exists.
"""

import json
import random
import secrets
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import harness
import requests
import shopify_simulator as shopify

SKU_COUNT = 50
STOCK_PER_PRODUCT = 100000
SHOPIFY_LOCATION = "65000001"


def demo_skus():
    return [f"DEMO-{index:03d}" for index in range(1, SKU_COUNT + 1)]


# -- the scenario ---------------------------------------------------------------------
@dataclass(order=True)
class Send:
    """One HTTP request of the scenario, ``at`` seconds after the start."""

    at: float
    seq: int
    kind: str = field(
        compare=False
    )  # order, duplicate, update, bad_signature, malformed
    order_index: int = field(compare=False, default=-1)
    topic: str = field(compare=False, default="")
    body: bytes = field(compare=False, default=b"")
    headers: dict = field(compare=False, default_factory=dict)


@dataclass
class Scenario:
    orders: list
    sends: list
    seed: int
    duration: float


def build_scenario(order_count, rate, seed, secret, tag):
    """The Shopify side of the peak: orders at ``rate`` per second.

    - 10% of the deliveries are sent twice (Shopify retries; same event id);
    - 5% of the orders get an ``orders/updated`` version that arrives before
      their ``orders/create`` (the update is the newer one and must win);
    - 2% extra requests are malformed JSON or badly signed (refused: 400, 401).
    """
    rng = random.Random(seed)
    sender = shopify.WebhookSender("", secret, seed=seed)
    skus = demo_skus()
    orders, sends = [], []
    seq = iter(range(10**9))
    for index in range(order_count):
        at = index / rate
        lines = [
            (
                sku,
                rng.randint(1, 3),
                f"{rng.randint(5, 80)}.{rng.choice(['00', '50', '99'])}",
            )
            for sku in rng.sample(skus, rng.randint(1, 3))
        ]
        order = shopify.order_payload(
            lines,
            order_id=int(f"7{seed % 1000:03d}{index:06d}{tag % 1000:03d}"),
            name=f"#D{tag}-{index + 1:04d}",
            currency="USD",
            email=f"buyer{rng.randint(1, 400)}@demo.example",
            shipping=("Standard", "5.00"),
        )
        orders.append(order)
        body, headers = sender.build(
            "orders/create", order, event_id=f"demo-{tag}-{index}-create"
        )
        sends.append(
            Send(at, next(seq), "order", index, "orders/create", body, headers)
        )
        if rng.random() < 0.10:
            sends.append(
                Send(
                    at + rng.uniform(0.5, 6),
                    next(seq),
                    "duplicate",
                    index,
                    "orders/create",
                    body,
                    headers,
                )
            )
        if rng.random() < 0.05:
            newer = shopify.bump(order, seconds=60, note="gift wrap, please")
            body_u, headers_u = sender.build(
                "orders/updated", newer, event_id=f"demo-{tag}-{index}-update"
            )
            # the newer version arrives first: the create must not undo it
            sends.append(
                Send(
                    max(0.0, at - 0.3),
                    next(seq),
                    "update",
                    index,
                    "orders/updated",
                    body_u,
                    headers_u,
                )
            )
            orders[index] = newer
    # 2% of the orders get a malformed or a badly signed copy; at least one of
    # each, so every run shows both refused
    bad_count = max(2, round(order_count * 0.02))
    for number, index in enumerate(
        rng.sample(range(order_count), min(bad_count, order_count))
    ):
        send = next(s for s in sends if s.order_index == index and s.kind == "order")
        if number % 2:
            bad_headers = dict(
                send.headers,
                **{"X-Shopify-Hmac-Sha256": shopify.sign("not-the-secret", send.body)},
            )
            sends.append(
                Send(
                    send.at + 0.1,
                    next(seq),
                    "bad_signature",
                    index,
                    send.topic,
                    send.body,
                    bad_headers,
                )
            )
        else:
            garbage = send.body[: len(send.body) // 2]
            bad_headers = dict(
                send.headers,
                **{
                    "X-Shopify-Hmac-Sha256": shopify.sign(secret, garbage),
                    "X-Shopify-Event-Id": f"demo-{tag}-{index}-malformed",
                },
            )
            sends.append(
                Send(
                    send.at + 0.1,
                    next(seq),
                    "malformed",
                    index,
                    send.topic,
                    garbage,
                    bad_headers,
                )
            )
    sends.sort()
    return Scenario(orders, sends, seed, order_count / rate)


# -- the world the scenario runs in ---------------------------------------------------
def seed_world(db, simulators):
    """Company, warehouse stock, 50 products and the backends (idempotent).

    Secrets are generated here at the first run and kept in the database
    (encrypted), never in the repository.
    """
    from odoo import Command

    with harness.environment(db, {"tracking_disable": True}) as env:
        company = env.company
        if company.name in ("YourCompany", "My Company"):
            company.name = "Demo Distributor"
        warehouse = env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1
        )
        Product = env["product.product"].with_context(active_test=False)
        products = {}
        for index, sku in enumerate(demo_skus()):
            product = Product.search([("default_code", "=", sku)], limit=1)
            if not product:
                product = Product.create(
                    {
                        "name": f"Demo product {index + 1:02d}",
                        "default_code": sku,
                        "list_price": 10 + index,
                        "type": "consu",
                        "is_storable": True,
                        "taxes_id": [Command.clear()],
                    }
                )
            products[sku] = product
        quants = env["stock.quant"]
        for product in products.values():
            if product.qty_available < STOCK_PER_PRODUCT / 2:
                quants |= quants.with_context(inventory_mode=True).create(
                    {
                        "product_id": product.id,
                        "location_id": warehouse.lot_stock_id.id,
                        "inventory_quantity": STOCK_PER_PRODUCT,
                    }
                )
        if quants:
            quants.action_apply_inventory()
        Backend = env["integration.backend"].with_context(active_test=False)
        shop = Backend.search(
            [("backend_type", "=", "shopify"), ("name", "=", "Demo Shopify store")],
            limit=1,
        )
        if not shop:
            shop = Backend.create(
                {
                    "name": "Demo Shopify store",
                    "backend_type": "shopify",
                    "shopify_shop_domain": "demo-store.example.com",
                    "webhook_secret": secrets.token_hex(24),
                    "shopify_access_token": "shpat_demo",
                    "tax_fallback": "none",
                    "confirm_policy": "confirm",
                    # nothing scheduled reaches anything but the simulators
                    "reconcile_enabled": False,
                }
            )
        shop.write({"api_base_url": simulators["shopify"].base_url, "active": True})
        if not shop.shopify_location_ids:
            env["integration.shopify.location"].create(
                {
                    "backend_id": shop.id,
                    "name": "Demo warehouse",
                    "shopify_location_id": SHOPIFY_LOCATION,
                    "warehouse_id": warehouse.id,
                }
            )
        Binding = env["integration.shopify.product.binding"]
        bound = set(
            Binding.search([("backend_id", "=", shop.id)]).mapped(
                "product_id.default_code"
            )
        )
        for number, (sku, product) in enumerate(products.items(), start=1):
            if sku not in bound:
                Binding.create(
                    {
                        "backend_id": shop.id,
                        "product_id": product.id,
                        "external_id": f"4400{number:04d}",
                        "inventory_item_id": f"5500{number:04d}",
                    }
                )
        shop._get_shipping_product()
        secret = shop._get_webhook_secrets()[0]
        return {
            "shopify": {
                "id": shop.id,
                "token": shop.webhook_token,
                "secret": secret,
                "url": f"/integration/webhook/{shop.webhook_token}",
            }
        }


def bump_stock(env, products=None):
    """One more unit of each demo product in stock: a stock level to send to
    the shop for each."""
    warehouse = env["stock.warehouse"].search(
        [("company_id", "=", env.company.id)], limit=1
    )
    Quant = env["stock.quant"].with_context(inventory_mode=True)
    if products is None:
        products = env["product.product"].search([("default_code", "in", demo_skus())])
    for product in products:
        Quant.create(
            {
                "product_id": product.id,
                "location_id": warehouse.lot_stock_id.id,
                "inventory_quantity": product.qty_available + 1,
            }
        ).action_apply_inventory()


# -- the timeline -----------------------------------------------------------------------
class Timeline:
    """Per-second counts of the run, for the progress display and the picture."""

    def __init__(self):
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.sent = Counter()
        self.accepted = Counter()
        self.refused = Counter()
        self.refused_by_reason = Counter()
        self.samples = []  # (second, processed total, failed, dead, queue depth)
        self.outages = []  # [start, end] seconds

    def now(self):
        return time.monotonic() - self.start

    def record(self, send, status):
        second = int(self.now())
        with self.lock:
            self.sent[second] += 1
            if 200 <= status < 300:
                self.accepted[second] += 1
            else:
                self.refused[second] += 1
                self.refused_by_reason[f"{status} {send.kind.replace('_', ' ')}"] += 1

    def totals(self):
        with self.lock:
            return (
                sum(self.sent.values()),
                sum(self.accepted.values()),
                sum(self.refused.values()),
            )


# -- sending -------------------------------------------------------------------------
RETRIED_STATUSES = (429, 502, 503, 504)


def deliver(session, url, send, give_up_after=60, on_status=None):
    """Post ``send`` as a webhook sender does: what the server could not take
    (no connection, 429, 502-504) is sent again until ``give_up_after``
    seconds; what it refused stays refused.

    :param on_status: called with every status answered, retried ones included
    :returns: the last status (599: never answered)
    """
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            response = session.post(
                url, data=send.body, headers=send.headers, timeout=30
            )
        except requests.RequestException:
            response = None
        status = response.status_code if response is not None else None
        if on_status and status is not None:
            on_status(status)
        if status is not None and status not in RETRIED_STATUSES:
            return status
        if time.monotonic() > deadline:
            return status or 599
        retry_after = (
            response.headers.get("Retry-After") if response is not None else None
        )
        time.sleep(min(5.0, float(retry_after or 0.5)))


class Replayer:
    """Sends a scenario's requests at their times, from a few threads."""

    def __init__(self, url, scenario, timeline, speed=1.0, senders=4):
        self.url = url
        self.scenario = scenario
        self.timeline = timeline
        self.speed = speed
        self.senders = senders
        self.results = []  # (send, status)
        self._local = threading.local()

    def _session(self):
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _post(self, send):
        wait = send.at / self.speed - self.timeline.now()
        if wait > 0:
            time.sleep(wait)
        status = deliver(self._session(), self.url, send, give_up_after=30)
        self.timeline.record(send, status)
        self.results.append((send, status))

    def run(self):
        with ThreadPoolExecutor(self.senders) as pool:
            list(pool.map(self._post, self.scenario.sends))

    def start(self):
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread


# -- reading the outcome -----------------------------------------------------------------
class Sampler:
    """Samples processed / failed / dead / queue depth once a second."""

    def __init__(self, db, backend_ids, timeline, run_started_at):
        self.db = db
        self.backend_ids = backend_ids
        self.timeline = timeline
        self.run_started_at = run_started_at
        self.stop_event = threading.Event()
        self.latest = {}

    def sample(self):
        states = dict(
            harness.query(
                self.db,
                "SELECT state, count(*) FROM integration_inbox_message "
                "WHERE backend_id = ANY(%s) AND received_at >= %s GROUP BY state",
                (list(self.backend_ids), self.run_started_at),
            )
        )
        depth = harness.queue_depth(self.db)
        self.latest = dict(states, queue=depth)
        with self.timeline.lock:
            self.timeline.samples.append(
                (
                    self.timeline.now(),
                    states.get("done", 0) + states.get("ignored", 0),
                    states.get("failed", 0),
                    states.get("dead", 0),
                    depth,
                )
            )
        return self.latest

    def run(self):
        while not self.stop_event.wait(1.0):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a missed sample is not fatal
                continue

    def start(self):
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread


def reconcile(db, scenario, replayer, backend_id, shop):
    """Each system's own ledger against the database: lost and doubled counted,
    not assumed."""
    accepted_orders = {
        scenario.orders[send.order_index]["id"]
        for send, status in replayer.results
        if send.kind in ("order", "duplicate", "update") and status == 200
    }
    sent_orders = {order["id"] for order in scenario.orders}
    rows = harness.query(
        db,
        """SELECT b.external_id, count(DISTINCT o.id), min(o.state)
             FROM integration_binding b JOIN sale_order o ON o.id = b.res_id
            WHERE b.backend_id = %s AND b.res_model = 'sale.order'
              AND b.external_id = ANY(%s)
            GROUP BY b.external_id""",
        (backend_id, [str(order_id) for order_id in sent_orders]),
    )
    in_odoo = {int(external_id): (count, state) for external_id, count, state in rows}
    by_ref = Counter(
        ref
        for (ref,) in harness.query(
            db,
            "SELECT client_order_ref FROM sale_order WHERE client_order_ref = ANY(%s)",
            ([order["name"] for order in scenario.orders],),
        )
    )
    lost = sorted(order_id for order_id in accepted_orders if order_id not in in_odoo)
    doubled = sorted(name for name, count in by_ref.items() if count > 1)
    refused = Counter()
    for send, status in replayer.results:
        if send.kind in ("bad_signature", "malformed"):
            refused[(send.kind, status)] += 1
    bad_sent = sum(
        1 for send in scenario.sends if send.kind in ("bad_signature", "malformed")
    )
    bad_refused = sum(
        count
        for (kind, status), count in refused.items()
        if (kind == "bad_signature" and status == 401)
        or (kind == "malformed" and status == 400)
    )
    confirmed = sum(1 for count, state in in_odoo.values() if state == "sale")
    dead = harness.query(
        db,
        "SELECT topic, last_error FROM integration_inbox_message "
        "WHERE backend_id = %s AND state = 'dead' AND external_ref = ANY(%s) "
        "ORDER BY id",
        (backend_id, [str(order_id) for order_id in sent_orders]),
    )
    # this run's messages only: a demo database keeps the earlier runs'
    messages_stored = harness.query(
        db,
        "SELECT count(*) FROM integration_inbox_message "
        "WHERE backend_id = %s AND external_ref = ANY(%s)",
        (backend_id, [str(order_id) for order_id in sent_orders]),
    )[0][0]
    accepted_requests = sum(1 for _send, status in replayer.results if status == 200)
    inventory_calls = sum(
        1
        for request in shop.requests
        if "inventory_levels/set" in request.get("path", "")
    )
    return {
        "sent_requests": len(scenario.sends),
        "accepted_requests": accepted_requests,
        "orders_sent": len(sent_orders),
        "orders_accepted": len(accepted_orders),
        "sale_orders": len(in_odoo),
        "sale_orders_confirmed": confirmed,
        "duplicates_suppressed": accepted_requests - messages_stored,
        "bad_requests_sent": bad_sent,
        "bad_requests_refused": bad_refused,
        "refused_by_reason": {
            reason: count
            for reason, count in sorted(replayer.timeline.refused_by_reason.items())
        },
        "dead_letters": [{"topic": topic, "reason": error} for topic, error in dead],
        "inventory_calls": inventory_calls,
        "lost": len(lost),
        "lost_ids": lost[:20],
        "doubled": len(doubled),
        "doubled_names": doubled[:20],
    }


# -- the picture -------------------------------------------------------------------------
def plot(timeline, path_png, path_html, title):
    """Requests sent, accepted and processed per second, and queue depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = int(max([timeline.now()] + [s[0] for s in timeline.samples])) + 1
    seconds = list(range(end))
    sent = [timeline.sent.get(s, 0) for s in seconds]
    accepted = [timeline.accepted.get(s, 0) for s in seconds]
    processed_per_second = [0] * end
    depth = [0] * end
    previous = 0
    for moment, processed, _failed, _dead, queue in timeline.samples:
        second = min(int(moment), end - 1)
        processed_per_second[second] += max(0, processed - previous)
        previous = processed
        depth[second] = queue
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    top.plot(seconds, sent, label="sent", color="#888888", linewidth=1)
    top.plot(seconds, accepted, label="accepted (200)", color="#1f77b4", linewidth=1.5)
    top.plot(
        seconds, processed_per_second, label="processed", color="#2ca02c", linewidth=1.5
    )
    top.set_ylabel("requests / s")
    top.legend(loc="upper right")
    top.set_title(title)
    bottom.fill_between(seconds, depth, color="#ff7f0e", alpha=0.4, step="mid")
    bottom.plot(seconds, depth, color="#ff7f0e", label="queue depth (jobs)")
    bottom.set_ylabel("jobs waiting")
    bottom.set_xlabel("seconds since the start of the peak")
    bottom.legend(loc="upper right")
    for start, stop in timeline.outages:
        for axis in (top, bottom):
            axis.axvspan(start, stop, color="#d62728", alpha=0.15)
    if timeline.outages:
        top.text(
            timeline.outages[0][0],
            top.get_ylim()[1] * 0.9,
            " carrier outage",
            color="#d62728",
        )
    fig.tight_layout()
    fig.savefig(path_png, dpi=100)
    plt.close(fig)
    with open(path_html, "w", encoding="utf-8") as html:
        html.write(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{title}</title></head><body><h1>{title}</h1>"
            "<img src='peak.png' alt='requests and queue depth over the peak'>"
            "</body></html>\n"
        )


def write_summary(path, summary):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)
        handle.write("\n")


def new_tag():
    return uuid.uuid4().int % 1000
