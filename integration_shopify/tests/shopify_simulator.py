"""A local stand-in for a Shopify shop, for tests, benchmarks and the demo.

* :class:`ShopifySimulator`: a threaded HTTP server on 127.0.0.1 (port 0)
  speaking the Admin REST endpoints the connector uses - ``orders.json`` with
  ``Link`` pagination, ``orders/{id}/fulfillment_orders.json``,
  ``orders/{id}/fulfillments.json``, ``fulfillments.json``, ``inventory_levels/set.json`` - behind Shopify's leaky
  bucket: every answer carries ``X-Shopify-Shop-Api-Call-Limit`` and a call that
  finds the bucket full gets ``429`` with ``Retry-After``.
* :class:`WebhookSender`: posts webhooks signed like Shopify
  (``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256 of the raw body) with knobs
  for duplicates, reordering, delay and bad signatures.
* :func:`order_payload` / :func:`refund_payload`: real-shaped payloads.

Plain Python (no Odoo import), so scripts can use it outside a test run.
"""

import base64
import copy
import hashlib
import hmac
import itertools
import json
import math
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

API_PREFIX = "/admin/api/"
_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


def next_id():
    return next(_ids)


def iso(moment):
    """Shopify's timestamp format, with an offset."""
    return (
        moment.astimezone(UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "-00:00")
    )


def sign(secret, body):
    return base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()
    ).decode()


# -- payloads ------------------------------------------------------------------------
def address(
    name="Jane Doe",
    street="1 Main Street",
    city="Ottawa",
    zip_code="K1A 0B1",
    country_code="CA",
    province_code="ON",
    phone="+1 613 555 0100",
    **extra,
):
    first, _sep, last = name.partition(" ")
    values = {
        "first_name": first,
        "last_name": last,
        "name": name,
        "address1": street,
        "address2": extra.pop("street2", ""),
        "city": city,
        "zip": zip_code,
        "province_code": province_code,
        "country_code": country_code,
        "phone": phone,
        "company": extra.pop("company", None),
    }
    values.update(extra)
    return values


def order_payload(
    lines,
    order_id=None,
    name=None,
    currency="USD",
    customer=True,
    email="jane@example.com",
    shipping=None,
    shipping_address=None,
    billing_address=None,
    order_discount_pct=None,
    taxes=None,
    taxes_included=False,
    updated_at=None,
    financial_status="paid",
    gateway="shopify_payments",
    **extra,
):
    """A REST/webhook order.

    :param lines: ``[(sku, quantity, price, line_discount)]`` (discount optional,
        amounts as strings or numbers)
    :param shipping: ``(title, price)`` or None
    :param order_discount_pct: an order-level percentage discount allocated
        across lines, as Shopify does in ``discount_allocations``
    :param taxes: ``[(title, rate)]`` applied to every line and to shipping
    """
    order_id = order_id or next_id()
    now = datetime.now(UTC)
    taxes = taxes or []
    line_items = []
    discount_applications = []
    if order_discount_pct:
        discount_applications.append(
            {
                "target_type": "line_item",
                "type": "discount_code",
                "value": str(order_discount_pct),
                "value_type": "percentage",
                "allocation_method": "across",
                "target_selection": "all",
                "code": "ORDER",
            }
        )
    for index, line in enumerate(lines):
        sku, quantity, price = line[:3]
        line_discount = line[3] if len(line) > 3 else None
        price_d = float(price)
        gross = price_d * quantity
        allocations = []
        if line_discount:
            discount_applications.append(
                {
                    "target_type": "line_item",
                    "type": "manual",
                    "value": str(line_discount),
                    "value_type": "fixed_amount",
                    "allocation_method": "one",
                    "target_selection": "explicit",
                }
            )
            allocations.append(
                {
                    "amount": f"{float(line_discount):.2f}",
                    "discount_application_index": len(discount_applications) - 1,
                }
            )
        if order_discount_pct:
            allocations.append(
                {
                    "amount": f"{gross * order_discount_pct / 100:.2f}",
                    "discount_application_index": 0,
                }
            )
        line_items.append(
            {
                "id": next_id(),
                "variant_id": next_id(),
                "product_id": next_id(),
                "sku": sku,
                "title": f"Product {sku or index}",
                "name": f"Product {sku or index}",
                "quantity": quantity,
                "price": f"{price_d:.2f}",
                "total_discount": "0.00",
                "discount_allocations": allocations,
                "taxable": bool(taxes),
                "requires_shipping": True,
                "fulfillable_quantity": quantity,
                # prices and totals: retotal()
                "tax_lines": [{"title": title, "rate": rate} for title, rate in taxes],
            }
        )
    shipping_lines = []
    if shipping:
        title, price = shipping
        shipping_lines.append(
            {
                "id": next_id(),
                "title": title,
                "code": title,
                "price": f"{float(price):.2f}",
                "discounted_price": f"{float(price):.2f}",
                "discount_allocations": [],
                "tax_lines": [{"title": t, "rate": r} for t, r in taxes],
            }
        )
    ship_to = shipping_address if shipping_address is not None else address()
    payload = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": name or f"#{order_id % 100000}",
        "order_number": order_id % 100000,
        "email": email,
        "contact_email": email,
        "phone": None,
        "currency": currency,
        "presentment_currency": currency,
        "created_at": iso(now),
        "updated_at": updated_at or iso(now),
        "processed_at": iso(now),
        "cancelled_at": None,
        "cancel_reason": None,
        "financial_status": financial_status,
        "fulfillment_status": None,
        "taxes_included": taxes_included,
        "test": False,
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "discount_applications": discount_applications,
        "tax_lines": [],
        "shipping_address": ship_to,
        "billing_address": billing_address if billing_address is not None else ship_to,
        "payment_gateway_names": [gateway] if gateway else [],
        "customer": (
            {
                "id": next_id(),
                "email": email,
                "first_name": (ship_to or {}).get("first_name", "Jane"),
                "last_name": (ship_to or {}).get("last_name", "Doe"),
                "phone": None,
            }
            if customer
            else None
        ),
    }
    payload.update(extra)
    return retotal(payload) if "total_price" not in extra else payload


def _cents(value):
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _taxed(net, tax_lines, taxes_included):
    """Tax lines of an amount, rounded per line as Shopify does."""
    total = Decimal(0)
    for tax in tax_lines:
        rate = Decimal(str(tax["rate"]))
        amount = _cents(net - net / (1 + rate) if taxes_included else net * rate)
        tax["price"] = f"{amount:.2f}"
        total += amount
    return total


def retotal(order):
    """Recompute ``order``'s tax lines and totals from its lines, in place, as
    Shopify would after a change (tests edit quantities and prices)."""
    included = bool(order.get("taxes_included"))
    subtotal = total_tax = shipping_total = Decimal(0)
    for item in order["line_items"]:
        net = Decimal(item["price"]) * item["quantity"] - sum(
            (Decimal(a["amount"]) for a in item.get("discount_allocations", ())),
            Decimal(0),
        )
        subtotal += net
        total_tax += _taxed(net, item.get("tax_lines", ()), included)
    for line in order.get("shipping_lines", ()):
        price = Decimal(line.get("discounted_price") or line["price"])
        shipping_total += price
        total_tax += _taxed(price, line.get("tax_lines", ()), included)
    order["subtotal_price"] = f"{subtotal:.2f}"
    order["total_tax"] = f"{total_tax:.2f}"
    total = subtotal + shipping_total + (0 if included else total_tax)
    order["total_price"] = f"{total:.2f}"
    return order


def bump(order, seconds=1, **changes):
    """A later version of ``order`` (``updated_at`` moved forward)."""
    new = copy.deepcopy(order)
    updated = datetime.fromisoformat(order["updated_at"].replace("-00:00", "+00:00"))
    new["updated_at"] = iso(updated + timedelta(seconds=seconds))
    new.update(changes)
    return new


def refund_payload(
    order, lines, shipping=None, restock_type="return", gateway="shopify_payments"
):
    """A ``refunds/create`` payload: ``lines`` is ``[(line_index, quantity)]``."""
    refund_lines = []
    amount = 0.0
    for index, quantity in lines:
        item = order["line_items"][index]
        subtotal = float(item["price"]) * quantity
        amount += subtotal
        refund_lines.append(
            {
                "id": next_id(),
                "line_item_id": item["id"],
                "quantity": quantity,
                "restock_type": restock_type,
                "location_id": None,
                "subtotal": f"{subtotal:.2f}",
                "total_tax": "0.00",
                "line_item": item,
            }
        )
    adjustments = []
    if shipping:
        amount += float(shipping)
        adjustments.append(
            {
                "id": next_id(),
                "kind": "shipping_refund",
                "amount": f"-{float(shipping):.2f}",
                "tax_amount": "0.00",
                "reason": "Shipping refund",
            }
        )
    return {
        "id": next_id(),
        "order_id": order["id"],
        "created_at": iso(datetime.now(UTC)),
        "note": "customer return",
        "restock": restock_type != "no_restock",
        "refund_line_items": refund_lines,
        "order_adjustments": adjustments,
        "transactions": [
            {
                "id": next_id(),
                "kind": "refund",
                "status": "success",
                "gateway": gateway,
                "amount": f"{amount:.2f}",
            }
        ],
    }


# -- the shop ------------------------------------------------------------------------
class LeakyBucket:
    """Shopify's REST limit: ``size`` calls, draining ``leak_rate`` per second."""

    def __init__(self, size=40, leak_rate=2.0):
        self.size, self.leak_rate = size, leak_rate
        self.level, self.stamp = 0.0, time.monotonic()
        self.lock = threading.Lock()

    def _drain(self):
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.stamp) * self.leak_rate)
        self.stamp = now

    def fill(self, level):
        with self.lock:
            self._drain()
            self.level = float(level)

    def take(self):
        """``(allowed, used, retry_after)``"""
        with self.lock:
            self._drain()
            if self.level + 1 > self.size + 1e-9:
                return (
                    False,
                    math.ceil(self.level),
                    (self.level + 1 - self.size) / self.leak_rate,
                )
            self.level += 1
            return True, math.ceil(self.level - 1e-9), 0.0


class ShopifySimulator:
    """A shop on 127.0.0.1: start with ``with ShopifySimulator() as shop:``."""

    def __init__(
        self,
        access_token="shpat_test",
        api_version="2024-10",
        bucket_size=40,
        leak_rate=2.0,
        page_size=50,
    ):
        self.access_token = access_token
        self.api_version = api_version
        self.bucket = LeakyBucket(bucket_size, leak_rate)
        self.page_size = page_size
        self.orders = {}
        self.products = {}
        self.fulfillments = []
        self.inventory_levels = {}
        self.requests = []
        self.throttled = 0
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    # state
    def add_product(self, skus):
        """A product with one variant per SKU (None: a variant without SKU)."""
        product = {
            "id": next_id(),
            "title": f"Product {skus[0]}",
            "variants": [
                {"id": next_id(), "sku": sku, "inventory_item_id": next_id()}
                for sku in skus
            ],
        }
        with self.lock:
            self.products[product["id"]] = product
        return copy.deepcopy(product)

    def add_order(self, order):
        with self.lock:
            self.orders[order["id"]] = copy.deepcopy(order)
            self.orders[order["id"]].setdefault(
                "_fulfillment_orders",
                [
                    {
                        "id": next_id(),
                        "order_id": order["id"],
                        "status": "open",
                        "assigned_location_id": order.get("location_id") or 1,
                        "line_items": [
                            {
                                "id": next_id(),
                                "line_item_id": item["id"],
                                "quantity": item["quantity"],
                                "fulfillable_quantity": item["quantity"],
                            }
                            for item in order["line_items"]
                        ],
                    }
                ],
            )
        return order

    @property
    def base_url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def api_url(self, path=""):
        return f"{self.base_url}{API_PREFIX}{self.api_version}/{path}"

    def start(self, port=0):
        simulator = self

        class Handler(_Handler):
            shop = simulator

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def restart(self, port):
        """Answer again on ``port`` after :meth:`stop` (an outage is over)."""
        return self.start(port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # endpoints: (method, path) -> (status, body, extra headers)
    def handle(self, method, path, query, body):
        if path == "orders.json" and method == "GET":
            return self._list_orders(query)
        if path == "products.json" and method == "GET":
            return self._list_products(query)
        parts = path.split("/")
        if (
            method == "GET"
            and len(parts) == 3
            and parts[0] == "orders"
            and parts[2] == "fulfillment_orders.json"
        ):
            order = self.orders.get(int(parts[1]))
            if not order:
                return 404, {"errors": "Not Found"}, {}
            return 200, {"fulfillment_orders": order["_fulfillment_orders"]}, {}
        if (
            method == "GET"
            and len(parts) == 3
            and parts[0] == "orders"
            and parts[2] == "fulfillments.json"
        ):
            with self.lock:
                found = [
                    record
                    for record in self.fulfillments
                    if record["order_id"] == int(parts[1])
                ]
            return 200, {"fulfillments": copy.deepcopy(found)}, {}
        if method == "POST" and path == "fulfillments.json":
            return self._create_fulfillment(body)
        if (
            method == "POST"
            and len(parts) == 5
            and parts[0] == "orders"
            and parts[2] == "fulfillments"
            and parts[4] == "events.json"
        ):
            return self._create_fulfillment_event(int(parts[3]), body)
        if method == "POST" and path == "inventory_levels/set.json":
            level = {
                "inventory_item_id": int(body["inventory_item_id"]),
                "location_id": int(body["location_id"]),
                "available": int(body["available"]),
                "updated_at": iso(datetime.now(UTC)),
            }
            with self.lock:
                self.inventory_levels[
                    (level["inventory_item_id"], level["location_id"])
                ] = level["available"]
            return 200, {"inventory_level": level}, {}
        return 404, {"errors": "Not Found"}, {}

    def _page_state(self, query):
        """(offset, filters, limit) of a listing request, from its page_info."""
        if "page_info" in query:
            state = json.loads(base64.urlsafe_b64decode(query["page_info"]).decode())
            offset, filters = state["offset"], state["filters"]
        else:
            offset, filters = 0, query
        return (
            offset,
            filters,
            min(int(filters.get("limit", self.page_size)), self.page_size),
        )

    def _page(self, path, key, items, offset, filters, limit):
        """One page of ``items`` and the ``Link`` header to the next, as Shopify does."""
        page = items[offset : offset + limit]
        headers = {}
        if offset + limit < len(items):
            token = base64.urlsafe_b64encode(
                json.dumps({"offset": offset + limit, "filters": filters}).encode()
            ).decode()
            link = (
                self.api_url(path)
                + "?"
                + urlencode({"limit": limit, "page_info": token})
            )
            headers["Link"] = f'<{link}>; rel="next"'
        return 200, {key: page}, headers

    def _list_products(self, query):
        offset, filters, limit = self._page_state(query)
        with self.lock:
            products = sorted(self.products.values(), key=lambda p: p["id"])
            products = copy.deepcopy(products)
        return self._page("products.json", "products", products, offset, filters, limit)

    def _list_orders(self, query):
        offset, filters, limit = self._page_state(query)
        low = filters.get("updated_at_min")
        high = filters.get("updated_at_max")

        def when(value):
            return datetime.fromisoformat(
                value.replace("Z", "+00:00").replace("-00:00", "+00:00")
            )

        with self.lock:
            orders = [
                {k: v for k, v in o.items() if not k.startswith("_")}
                for o in self.orders.values()
                if (not low or when(o["updated_at"]) >= when(low))
                and (not high or when(o["updated_at"]) <= when(high))
            ]
        orders.sort(key=lambda o: (o["updated_at"], o["id"]))
        return self._page("orders.json", "orders", orders, offset, filters, limit)

    def _create_fulfillment(self, body):
        fulfillment = body.get("fulfillment") or {}
        groups = fulfillment.get("line_items_by_fulfillment_order") or []
        if not groups:
            return (
                422,
                {"errors": {"line_items_by_fulfillment_order": ["required"]}},
                {},
            )
        order_id, line_items = None, []
        with self.lock:
            for group in groups:
                for order in self.orders.values():
                    for fo in order["_fulfillment_orders"]:
                        if fo["id"] != group["fulfillment_order_id"]:
                            continue
                        if fo["status"] == "closed":
                            return 422, {"errors": "fulfillment order is closed"}, {}
                        order_id = order["id"]
                        for wanted in group.get("fulfillment_order_line_items") or []:
                            for line in fo["line_items"]:
                                if line["id"] == wanted["id"]:
                                    line["fulfillable_quantity"] -= wanted["quantity"]
                                    line_items.append(
                                        {
                                            "id": line["line_item_id"],
                                            "quantity": wanted["quantity"],
                                        }
                                    )
                        if all(
                            line["fulfillable_quantity"] <= 0
                            for line in fo["line_items"]
                        ):
                            fo["status"] = "closed"
            tracking = fulfillment.get("tracking_info") or {}
            record = {
                "id": next_id(),
                "order_id": order_id,
                "status": "success",
                "tracking_number": tracking.get("number"),
                "tracking_company": tracking.get("company"),
                "line_items": line_items,
                "tracking_info": fulfillment.get("tracking_info"),
                "line_items_by_fulfillment_order": groups,
            }
            self.fulfillments.append(record)
        return 201, {"fulfillment": record}, {}

    def _create_fulfillment_event(self, fulfillment_id, body):
        """``POST orders/{id}/fulfillments/{id}/events.json``: a tracking status."""
        with self.lock:
            for record in self.fulfillments:
                if record["id"] == fulfillment_id:
                    event = dict((body or {}).get("event") or {}, id=next_id())
                    record.setdefault("events", []).append(event)
                    return 201, {"fulfillment_event": event}, {}
        return 404, {"errors": "Not Found"}, {}


class _Handler(BaseHTTPRequestHandler):
    shop = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method):
        shop = self.shop
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        prefix = f"{API_PREFIX}{shop.api_version}/"
        entry = {
            "method": method,
            "path": parts.path,
            "query": query,
            "at": time.monotonic(),
        }
        if self.headers.get("X-Shopify-Access-Token") != shop.access_token:
            entry["status"] = 401
            shop.requests.append(entry)
            return self._answer(
                401, {"errors": "[API] Invalid API key or access token"}
            )
        allowed, used, retry_after = shop.bucket.take()
        limit = {"X-Shopify-Shop-Api-Call-Limit": f"{used}/{shop.bucket.size}"}
        if not allowed:
            shop.throttled += 1
            entry["status"] = 429
            shop.requests.append(entry)
            # Shopify announces whole seconds
            limit["Retry-After"] = f"{max(1, math.ceil(retry_after))}.0"
            return self._answer(
                429, {"errors": "Exceeded 2 calls per second for api client."}, limit
            )
        if not parts.path.startswith(prefix):
            return self._answer(404, {"errors": "Not Found"}, limit)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._answer(400, {"errors": "invalid JSON"}, limit)
        status, answer, headers = shop.handle(
            method, parts.path[len(prefix) :], query, body
        )
        entry["status"] = status
        entry["body"] = body
        shop.requests.append(entry)
        return self._answer(status, answer, dict(limit, **headers))

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")


# -- webhooks ------------------------------------------------------------------------
class WebhookSender:
    """Deliver webhooks to ``url`` like Shopify does.

    :param duplicates: probability that a delivery is sent twice (same event id)
    :param reorder: shuffle deliveries within windows of this many
    :param delay: seconds to sleep before each delivery
    :param bad_signature: probability that a delivery carries a wrong HMAC
    """

    def __init__(
        self,
        url,
        secret,
        shop_domain="sim-shop.myshopify.com",
        api_version="2024-10",
        duplicates=0.0,
        reorder=0,
        delay=0.0,
        bad_signature=0.0,
        seed=7,
        timeout=30,
        session=None,
    ):
        self.url, self.secret = url, secret
        self.shop_domain, self.api_version = shop_domain, api_version
        self.duplicates, self.reorder, self.delay = duplicates, reorder, delay
        self.bad_signature = bad_signature
        self.random = random.Random(seed)
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sent = []

    def build(
        self,
        topic,
        payload,
        event_id=None,
        webhook_id=None,
        triggered_at=None,
        with_event_id=True,
        with_webhook_id=True,
    ):
        """``(body, headers)`` of one delivery."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Triggered-At": triggered_at or iso(datetime.now(UTC)),
            "X-Shopify-Hmac-Sha256": sign(self.secret, body),
        }
        if with_event_id:
            headers["X-Shopify-Event-Id"] = event_id or str(uuid.uuid4())
        if with_webhook_id:
            headers["X-Shopify-Webhook-Id"] = webhook_id or str(uuid.uuid4())
        return body, headers

    def post(self, body, headers):
        response = self.session.post(
            self.url, data=body, headers=headers, timeout=self.timeout
        )
        self.sent.append((headers, response.status_code))
        return response

    def send(self, topic, payload, **kwargs):
        body, headers = self.build(topic, payload, **kwargs)
        return self.post(body, headers)

    def send_many(self, events):
        """Deliver ``[(topic, payload)]`` applying the knobs; returns the statuses."""
        deliveries = [self.build(topic, payload) for topic, payload in events]
        if self.reorder > 1:
            for start in range(0, len(deliveries), self.reorder):
                window = deliveries[start : start + self.reorder]
                self.random.shuffle(window)
                deliveries[start : start + self.reorder] = window
        statuses = []
        for body, headers in deliveries:
            copies = 2 if self.random.random() < self.duplicates else 1
            if self.random.random() < self.bad_signature:
                headers = dict(
                    headers,
                    **{"X-Shopify-Hmac-Sha256": sign("wrong-" + self.secret, body)},
                )
            for _copy in range(copies):
                if self.delay:
                    time.sleep(self.delay)
                statuses.append(self.post(body, headers).status_code)
        return statuses
