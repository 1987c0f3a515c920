"""A local carrier stand-in, for tests, benchmarks and the demo.

* :class:`CarrierSimulator`: an EasyPost-like API on 127.0.0.1 (port 0), on the
  core's ``LocalHttpServer``: ``POST /v2/shipments`` (rates), ``POST
  /v2/shipments/<id>/buy`` (tracking code, tracker, label URL), ``GET
  /v2/shipments/<id>``, ``POST /v2/shipments/<id>/refund`` and ``GET
  /labels/<id>.pdf`` (a small real PDF). HTTP Basic with the API key. Modes:
  ``outage`` answers 503 with ``Retry-After``, ``slow`` answers after
  ``slow_seconds`` (10 s). :meth:`reuse_tracking_code` makes the next label
  reuse an old tracking code, as carriers do.
* :func:`easypost_tracker_event` / :func:`aftership_tracking_update`: tracker
  webhooks of each dialect; :func:`journey` the events of one parcel's trip.
* :class:`WebhookSender`: posts them signed per dialect, with knobs for
  duplicates and reordering.

Everything received and sent is in the simulator's (or sender's) ``ledger``.
No ORM: scripts import it once Odoo's addons path is set (the benches open
their registry first).
"""

import base64
import copy
import itertools
import json
import random
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import requests

from odoo.addons.integration_carrier.signature import HEADERS, SIGNERS
from odoo.addons.integration_core.tests.http_server import LocalHttpServer, Reply

_ids = itertools.count(int(time.time() * 1000) % 10**8 * 100)

NORMAL, OUTAGE, SLOW = "normal", "outage", "slow"
EASYPOST_JOURNEY = ("pre_transit", "in_transit", "out_for_delivery", "delivered")
AFTERSHIP_JOURNEY = ("InfoReceived", "InTransit", "OutForDelivery", "Delivered")


def next_id(prefix):
    return f"{prefix}_{next(_ids):x}"


def iso(moment):
    return (
        moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )


def minimal_pdf(text="Shipping label"):
    """A small, valid one-page PDF showing ``text`` (ASCII)."""
    text = re.sub(r"[^ -~]", "?", text).replace("\\", "\\\\")
    text = text.replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 40 150 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class CarrierSimulator:
    """An EasyPost-like carrier: ``with CarrierSimulator() as carrier:``."""

    def __init__(self, api_key="ep_test_key", carrier="USPS", slow_seconds=10.0):
        self.api_key = api_key
        self.carrier = carrier
        self.slow_seconds = slow_seconds
        self.mode = NORMAL
        # seconds announced in the outage's Retry-After (None: no header)
        self.outage_retry_after = 1
        self.shipments = {}
        self.ledger = []
        self.lock = threading.Lock()
        self._reused_codes = []
        self._codes = itertools.count(9400100000000000000000 + next(_ids))
        self.server = LocalHttpServer(responder=self._respond)

    # -- lifecycle -----------------------------------------------------------------
    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return self.server.url

    def set_mode(self, mode):
        """``normal``, ``outage`` (503) or ``slow`` (answers after slow_seconds)."""
        self.mode = mode

    def reuse_tracking_code(self, code):
        """The next label bought gets ``code`` (a carrier recycling its codes)."""
        with self.lock:
            self._reused_codes.append(code)

    def received(self, method=None, path_prefix=""):
        """Requests received (ledger entries), optionally filtered."""
        return [
            entry
            for entry in self.ledger
            if (method is None or entry["method"] == method)
            and entry["path"].startswith(path_prefix)
        ]

    # -- the API -------------------------------------------------------------------
    def _respond(self, request):
        path = request.path.split("?")[0]
        entry = {"method": request.method, "path": path, "body": request.json}
        reply = self._answer(request, path)
        entry["status"] = reply.status
        with self.lock:
            self.ledger.append(entry)
        return reply

    def _authorized(self, request):
        header = {k.lower(): v for k, v in request.headers.items()}.get(
            "authorization", ""
        )
        expected = base64.b64encode(f"{self.api_key}:".encode()).decode()
        return header == f"Basic {expected}"

    def _answer(self, request, path):
        if self.mode == OUTAGE:
            headers = (
                {"Retry-After": str(self.outage_retry_after)}
                if self.outage_retry_after is not None
                else {}
            )
            return Reply(503, {"error": {"code": "SERVICE_UNAVAILABLE"}}, headers)
        delay = self.slow_seconds if self.mode == SLOW else 0.0
        label = re.fullmatch(r"/labels/(\w+)\.pdf", path)
        if label and request.method == "GET":
            shipment = self.shipments.get(label.group(1))
            if not shipment or not shipment.get("tracking_code"):
                return Reply(404, {"error": {"code": "NOT_FOUND"}}, delay=delay)
            pdf = minimal_pdf(f"{self.carrier} {shipment['tracking_code']}")
            return Reply(200, pdf, {"Content-Type": "application/pdf"}, delay=delay)
        if not self._authorized(request):
            return Reply(401, {"error": {"code": "APIKEY.INVALID"}}, delay=delay)
        status, body = self._api(request.method, path, request.json or {})
        return Reply(status, body, delay=delay)

    def _api(self, method, path, body):
        if path == "/v2/shipments" and method == "POST":
            return self._create(body.get("shipment") or {})
        match = re.fullmatch(r"/v2/shipments/(\w+)(/buy|/refund)?", path)
        if not match or match.group(1) not in self.shipments:
            return 404, {"error": {"code": "NOT_FOUND"}}
        shipment = self.shipments[match.group(1)]
        action = match.group(2)
        if action is None and method == "GET":
            return 200, copy.deepcopy(shipment)
        if action == "/buy" and method == "POST":
            return self._buy(shipment, (body.get("rate") or {}).get("id"))
        if action == "/refund" and method == "POST":
            shipment["refund_status"] = "submitted"
            return 200, copy.deepcopy(shipment)
        return 405, {"error": {"code": "METHOD_NOT_ALLOWED"}}

    def _create(self, data):
        if not data.get("to_address") or not data.get("parcel"):
            return 422, {"error": {"code": "SHIPMENT.INVALID_PARAMS"}}
        shipment_id = next_id("shp")
        shipment = {
            "id": shipment_id,
            "object": "Shipment",
            "reference": data.get("reference"),
            "to_address": data["to_address"],
            "from_address": data.get("from_address"),
            "parcel": data["parcel"],
            "rates": [
                {
                    "id": next_id("rate"),
                    "carrier": self.carrier,
                    "service": service,
                    "rate": price,
                    "currency": "USD",
                    "shipment_id": shipment_id,
                }
                for service, price in (
                    ("Priority", "7.58"),
                    ("GroundAdvantage", "5.20"),
                )
            ],
            "tracking_code": None,
            "postage_label": None,
            "tracker": None,
            "selected_rate": None,
            "refund_status": None,
        }
        with self.lock:
            self.shipments[shipment_id] = shipment
        return 200, copy.deepcopy(shipment)

    def _buy(self, shipment, rate_id):
        if shipment.get("postage_label"):
            return 422, {"error": {"code": "SHIPMENT.POSTAGE.EXISTS"}}
        rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
        if rate is None:
            return 422, {"error": {"code": "SHIPMENT.RATE.INVALID"}}
        with self.lock:
            code = (
                self._reused_codes.pop(0)
                if self._reused_codes
                else str(next(self._codes))
            )
        tracker_id = next_id("trk")
        shipment.update(
            tracking_code=code,
            selected_rate=rate,
            tracker={
                "id": tracker_id,
                "object": "Tracker",
                "tracking_code": code,
                "status": "pre_transit",
                "public_url": f"https://track.example.test/{tracker_id}",
            },
            postage_label={
                "object": "PostageLabel",
                "label_file_type": "application/pdf",
                "label_url": f"{self.url}/labels/{shipment['id']}.pdf",
            },
        )
        return 200, copy.deepcopy(shipment)


# -- tracker webhooks ------------------------------------------------------------------
def easypost_tracker_event(
    tracker_id,
    tracking_code,
    status,
    at,
    carrier="USPS",
    event_id=None,
    message=None,
    city="Chicago",
    state="IL",
    country="US",
    status_detail=None,
    est_delivery=None,
    topic="tracker.updated",
):
    """An EasyPost ``tracker.*`` event whose latest detail is ``status`` at ``at``."""
    moment = iso(at)
    return {
        "id": event_id or next_id("evt"),
        "object": "Event",
        "mode": "test",
        "description": topic,
        "created_at": moment,
        "updated_at": moment,
        "result": {
            "id": tracker_id,
            "object": "Tracker",
            "tracking_code": tracking_code,
            "status": status,
            "status_detail": status_detail or status,
            "carrier": carrier,
            "est_delivery_date": iso(est_delivery) if est_delivery else None,
            "public_url": f"https://track.example.test/{tracker_id}",
            "updated_at": moment,
            "tracking_details": [
                {
                    "object": "TrackingDetail",
                    "message": message or status.replace("_", " ").capitalize(),
                    "status": status,
                    "status_detail": status_detail or status,
                    "datetime": moment,
                    "source": carrier,
                    "tracking_location": {
                        "object": "TrackingLocation",
                        "city": city,
                        "state": state,
                        "country": country,
                        "zip": None,
                    },
                }
            ],
        },
    }


def aftership_tracking_update(
    tracking_id,
    tracking_number,
    tag,
    at,
    slug="ups",
    event_id=None,
    message=None,
    city="Lyon",
    subtag=None,
    expected_delivery=None,
):
    """An AfterShip ``tracking_update`` whose latest checkpoint is ``tag`` at ``at``."""
    moment = iso(at)
    return {
        "event": "tracking_update",
        "event_id": event_id or str(uuid.uuid4()),
        "is_tracking_first_tag": False,
        "msg": {
            "id": tracking_id,
            "tracking_number": tracking_number,
            "slug": slug,
            "tag": tag,
            "subtag": subtag or f"{tag}_001",
            "subtag_message": message or tag,
            "expected_delivery": iso(expected_delivery) if expected_delivery else None,
            "updated_at": moment,
            "courier_tracking_link": f"https://track.example.test/{tracking_number}",
            "checkpoints": [
                {
                    "checkpoint_time": moment,
                    "message": message or tag,
                    "city": city,
                    "state": None,
                    "country_iso2": "FR",
                    "location": None,
                    "tag": tag,
                    "subtag": subtag or f"{tag}_001",
                }
            ],
        },
        "ts": int(at.timestamp()),
    }


def journey(dialect, tracker_id, tracking_code, start=None, steps=None, hours=6):
    """The events of a parcel's trip, one per status, ``hours`` apart."""
    start = start or datetime.now(UTC) - timedelta(days=2)
    if dialect == "easypost":
        steps = steps or EASYPOST_JOURNEY
        return [
            easypost_tracker_event(
                tracker_id, tracking_code, status, start + timedelta(hours=hours * n)
            )
            for n, status in enumerate(steps)
        ]
    steps = steps or AFTERSHIP_JOURNEY
    return [
        aftership_tracking_update(
            tracker_id, tracking_code, tag, start + timedelta(hours=hours * n)
        )
        for n, tag in enumerate(steps)
    ]


class WebhookSender:
    """Deliver tracker webhooks to ``url`` signed like ``dialect`` does.

    :param duplicates: probability that a delivery is sent twice (same event id)
    :param reorder: shuffle deliveries within windows of this many
    """

    def __init__(
        self,
        url,
        secret,
        dialect="easypost",
        duplicates=0.0,
        reorder=0,
        seed=7,
        timeout=30,
        session=None,
    ):
        self.url, self.secret, self.dialect = url, secret, dialect
        self.duplicates, self.reorder = duplicates, reorder
        self.random = random.Random(seed)
        self.timeout = timeout
        self.session = session or requests.Session()
        self.ledger = []

    def build(self, payload, secret=None):
        """``(body, headers)`` of one delivery."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            HEADERS[self.dialect]: SIGNERS[self.dialect](secret or self.secret, body),
        }
        return body, headers

    def post(self, body, headers):
        response = self.session.post(
            self.url, data=body, headers=headers, timeout=self.timeout
        )
        self.ledger.append({"body": body, "status": response.status_code})
        return response

    def send(self, payload, **kwargs):
        return self.post(*self.build(payload, **kwargs))

    def plan(self, payloads):
        """The deliveries the knobs make of ``payloads``: duplicated, reordered."""
        deliveries = []
        for payload in payloads:
            copies = 2 if self.random.random() < self.duplicates else 1
            deliveries.extend([payload] * copies)
        if self.reorder > 1:
            for start in range(0, len(deliveries), self.reorder):
                window = deliveries[start : start + self.reorder]
                self.random.shuffle(window)
                deliveries[start : start + self.reorder] = window
        return deliveries

    def send_many(self, payloads):
        """Deliver ``payloads`` applying the knobs; returns the statuses."""
        return [self.send(payload).status_code for payload in self.plan(payloads)]
