"""A peak day replayed through the suite: the traffic of the three simulated
systems, its timeline, and the sampling of what Odoo did with it.

Used by ``setup/demo`` (with :mod:`peak_actors`, who play the warehouse, the
carrier and its outage, and :mod:`peak_report`, the reconciliation and the
picture); ``setup/cluster``, ``setup/faults`` and ``bench/nodes.py`` replay its
Shopify scenario. Plain Python: the Odoo server runs in its own processes; this
process sends the traffic like the outside systems would and reads the outcome
with SQL.

A scenario is a list of timed sends, built from a seed (the same seed gives the
same scenario): each order's ``orders/create`` webhook, duplicates of some,
``orders/updated`` versions delivered before the create, malformed and badly
signed requests, and each paid order's Stripe ``payment_intent.succeeded``.
"""

import heapq
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import harness
import requests
import shopify_simulator as shopify
import world

PAYMENT_SHARE = 0.95  # orders paid through Stripe
PAYMENT_DUPLICATES = 0.05  # payment events Stripe delivers twice


def demo_skus():
    return world.skus()


# -- the scenario ---------------------------------------------------------------------
@dataclass(order=True)
class Send:
    """One HTTP request of the scenario, ``at`` seconds after the start."""

    at: float
    seq: int
    # order, duplicate, update, bad_signature, malformed, payment, tracking
    kind: str = field(compare=False)
    order_index: int = field(compare=False, default=-1)
    topic: str = field(compare=False, default="")
    body: bytes = field(compare=False, default=b"")
    headers: dict = field(compare=False, default_factory=dict)
    system: str = field(compare=False, default="shopify")
    # called when the request is sent: ``(body, headers)`` (signed then)
    build: object = field(compare=False, default=None)

    def request(self):
        """``(body, headers)`` to post."""
        return self.build() if self.build else (self.body, self.headers)


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


def add_payments(scenario, seed, pay):
    """Stripe's side: a ``payment_intent.succeeded`` for 95% of the orders, 1 to
    4 s after the order reached the shop; 5% of them delivered twice.

    :param pay: ``pay(order)`` -> a callable giving the signed ``(body,
        headers)`` of that order's payment event, the same at every call (the
        payment is made in the Stripe simulator when first called)
    """
    rng = random.Random(seed * 7919 + 17)
    placed = {}
    for send in scenario.sends:
        if send.kind in ("order", "update"):
            placed[send.order_index] = min(
                send.at, placed.get(send.order_index, send.at)
            )
    seq = iter(range(10**8, 10**9))
    sends = []
    for index, order in enumerate(scenario.orders):
        if rng.random() >= PAYMENT_SHARE:
            continue
        build = pay(order)
        at = placed[index] + rng.uniform(1.0, 4.0)
        topic = "payment_intent.succeeded"
        sends.append(
            Send(at, next(seq), "payment", index, topic, system="stripe", build=build)
        )
        if rng.random() < PAYMENT_DUPLICATES:
            sends.append(
                Send(
                    at + rng.uniform(1.0, 5.0),
                    next(seq),
                    "payment_duplicate",
                    index,
                    topic,
                    system="stripe",
                    build=build,
                )
            )
    scenario.sends = sorted(scenario.sends + sends)
    return sends


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
        self.by_system = Counter()  # (system, "sent" | "accepted" | "refused")
        self.samples = []  # (second, processed total, failed, dead, queue depth)
        self.figures = []  # (second, {sale_orders, payments, shipped, ...})
        self.outages = []  # [start, end] seconds (end None while it lasts)

    def now(self):
        return time.monotonic() - self.start

    def record(self, send, status):
        second = int(self.now())
        outcome = "accepted" if 200 <= status < 300 else "refused"
        with self.lock:
            self.sent[second] += 1
            self.by_system[send.system, "sent"] += 1
            self.by_system[send.system, outcome] += 1
            if outcome == "accepted":
                self.accepted[second] += 1
            else:
                self.refused[second] += 1
                reason = f"{send.system} {status} {send.kind.replace('_', ' ')}"
                self.refused_by_reason[reason] += 1

    def totals(self, system=None):
        """``(sent, accepted, refused)``, of one system or of all."""
        with self.lock:
            if system:
                return tuple(
                    self.by_system[system, what]
                    for what in ("sent", "accepted", "refused")
                )
            return (
                sum(self.sent.values()),
                sum(self.accepted.values()),
                sum(self.refused.values()),
            )

    def outage_now(self):
        """Seconds since the running outage began, or None."""
        with self.lock:
            if self.outages and self.outages[-1][1] is None:
                return self.now() - self.outages[-1][0]
        return None


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
    body, headers = send.request()
    while True:
        try:
            response = session.post(url, data=body, headers=headers, timeout=30)
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


class Dispatcher:
    """Sends timed requests at their times from a few threads, to the webhook
    URL of each one's system; more can be added while it runs (the carrier's
    tracking, known once labels are bought).

    :param urls: ``{system: webhook URL}``
    """

    def __init__(self, urls, timeline, senders=4):
        self.urls = urls
        self.timeline = timeline
        self.senders = senders
        self.results = []  # (send, status)
        self.heap = []
        self.in_flight = 0
        self.closed = False
        self.condition = threading.Condition()
        self.threads = []

    def add(self, sends):
        with self.condition:
            for send in sends:
                heapq.heappush(self.heap, send)
            self.condition.notify_all()

    def close(self):
        """Nothing more will be added, and what is not due yet is dropped: the
        senders stop after the requests they are sending."""
        with self.condition:
            self.closed = True
            self.heap.clear()
            self.condition.notify_all()

    def idle(self):
        """Nothing left to send or being sent."""
        with self.condition:
            return not self.heap and not self.in_flight

    def _next(self):
        with self.condition:
            while True:
                if self.heap:
                    wait = self.heap[0].at - self.timeline.now()
                    if wait <= 0:
                        self.in_flight += 1
                        return heapq.heappop(self.heap)
                elif self.closed:
                    return None
                else:
                    wait = None
                self.condition.wait(wait if wait is None else min(wait, 1.0))

    def _run(self):
        session = requests.Session()
        while True:
            send = self._next()
            if send is None:
                return
            try:
                status = deliver(
                    session, self.urls[send.system], send, give_up_after=60
                )
                self.timeline.record(send, status)
                self.results.append((send, status))
            finally:
                with self.condition:
                    self.in_flight -= 1
                    self.condition.notify_all()

    def start(self):
        for _n in range(self.senders):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def join(self, timeout=None):
        """Wait for the senders, ``timeout`` seconds for all of them."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            thread.join(
                None if deadline is None else max(0, deadline - time.monotonic())
            )


# -- reading the outcome -----------------------------------------------------------------
SAMPLE_SQL = """
SELECT
  (SELECT count(*) FROM integration_inbox_message
    WHERE backend_id = ANY(%(backends)s) AND received_at >= %(since)s
      AND state IN ('done', 'ignored')),
  (SELECT count(*) FROM integration_inbox_message
    WHERE backend_id = ANY(%(backends)s) AND received_at >= %(since)s
      AND state = 'failed'),
  (SELECT count(*) FROM integration_inbox_message
    WHERE backend_id = ANY(%(backends)s) AND received_at >= %(since)s
      AND state = 'dead')
   + (SELECT count(*) FROM integration_outbox_message
    WHERE backend_id = ANY(%(backends)s) AND create_date >= %(since)s
      AND state = 'dead'),
  (SELECT count(*) FROM integration_outbox_message
    WHERE backend_id = ANY(%(backends)s) AND create_date >= %(since)s
      AND state IN ('pending', 'sending', 'failed')),
  (SELECT count(*) FROM sale_order
    WHERE client_order_ref LIKE %(refs)s AND state = 'sale'),
  (SELECT count(*) FROM integration_binding
    WHERE backend_id = %(stripe)s AND res_model = 'account.payment'
      AND create_date >= %(since)s),
  (SELECT count(*) FROM stock_picking p JOIN sale_order o ON o.id = p.sale_id
    WHERE o.client_order_ref LIKE %(refs)s AND p.state = 'done'),
  (SELECT count(*) FROM stock_picking p JOIN sale_order o ON o.id = p.sale_id
    WHERE o.client_order_ref LIKE %(refs)s AND p.delivery_state = 'customer_delivered'),
  (SELECT count(*) FROM stock_picking p JOIN sale_order o ON o.id = p.sale_id
    WHERE o.client_order_ref LIKE %(refs)s AND p.integration_invoice_id IS NOT NULL)
"""
SAMPLE_KEYS = (
    "processed",
    "failed",
    "dead",
    "outbox",
    "sale_orders",
    "payments",
    "shipped",
    "delivered",
    "invoiced",
)


class Sampler:
    """Samples the pipeline and the business figures once a second: messages
    processed / failed / dead, outbound waiting, queue depth, confirmed sale
    orders, payments, pickings shipped, delivered, invoiced."""

    def __init__(self, db, backends, timeline, run_started_at, refs_like):
        self.db = db
        self.params = {
            "backends": [info["id"] for info in backends.values()],
            "stripe": backends.get("stripe", {}).get("id", 0),
            "since": run_started_at,
            "refs": refs_like,
        }
        self.timeline = timeline
        self.stop_event = threading.Event()
        self.latest = {}

    def sample(self):
        row = harness.query(self.db, SAMPLE_SQL, self.params)[0]
        depth = harness.queue_depth(self.db)
        self.latest = dict(zip(SAMPLE_KEYS, row, strict=True), queue=depth)
        with self.timeline.lock:
            self.timeline.samples.append(
                (
                    self.timeline.now(),
                    self.latest["processed"],
                    self.latest["failed"],
                    self.latest["dead"],
                    depth,
                )
            )
            self.timeline.figures.append((self.timeline.now(), dict(self.latest)))
        return self.latest

    def run(self):
        while not self.stop_event.wait(1.0):
            try:
                self.sample()
            except Exception:  # noqa: BLE001,S112 - a missed sample is not fatal
                continue

    def start(self):
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread


def new_tag():
    return uuid.uuid4().int % 1000
