"""Carrier payloads to canonical documents and back, for both dialects.

Plain functions, no ORM: the status tables (carrier status -> canonical
``shipment.event`` status, which the core turns into OCA ``delivery_state``),
the reading of tracker webhooks, and the EasyPost shipment calls' bodies and
answers. Tables are module constants a backend may replace through its
``_carrier_status_table()`` hook; every function takes the table to use.
"""

from datetime import UTC, datetime
from decimal import Decimal

from odoo.addons.integration_core.delivery_state import state_of

EASYPOST = "easypost"
AFTERSHIP = "aftership"

# EasyPost tracker ``status`` -> canonical status
EASYPOST_STATUSES = {
    "unknown": "unknown",
    "pre_transit": "label_created",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "delivered": "delivered",
    "available_for_pickup": "available_for_pickup",
    "return_to_sender": "returned",
    "failure": "exception",
    "cancelled": "cancelled",
    "error": "exception",
}
# AfterShip ``msg.tag`` -> canonical status
AFTERSHIP_TAGS = {
    "Pending": "label_created",
    "InfoReceived": "label_created",
    "InTransit": "in_transit",
    "OutForDelivery": "out_for_delivery",
    "AttemptFail": "failed_attempt",
    "Delivered": "delivered",
    "AvailableForPickup": "available_for_pickup",
    "Exception": "exception",
    "Expired": "unknown",
}
STATUS_TABLES = {EASYPOST: EASYPOST_STATUSES, AFTERSHIP: AFTERSHIP_TAGS}
EASYPOST_TOPICS = ("tracker.created", "tracker.updated")
AFTERSHIP_TOPICS = ("tracking_update",)


def canonical_status(dialect, raw_status, table=None):
    """The canonical status of a carrier status (``unknown`` when not listed)."""
    return (table or STATUS_TABLES[dialect]).get(raw_status, "unknown")


def delivery_state(dialect, raw_status, table=None):
    """OCA ``delivery_state`` of a carrier status, through the canonical one."""
    return state_of(canonical_status(dialect, raw_status, table))


def _iso(value):
    """A carrier time as canonical ISO 8601 with an offset, or None.

    EasyPost and AfterShip send ``2026-03-15T06:40:00Z``; AfterShip sometimes
    leaves the offset out (the checkpoint's local time): read as UTC.
    """
    if not value:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    text = str(value).strip()
    moment = datetime.fromisoformat(
        text[:-1] + "+00:00" if text.endswith("Z") else text
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _location(city=None, region=None, country=None, description=None):
    country = (country or "").upper()
    location = {
        "city": city or None,
        "region": region or None,
        "description": description or None,
    }
    if len(country) == 2 and country.isalpha() and country.isascii():
        location["country_code"] = country
    return location if any(location.values()) else None


# -- intake: what the webhook route reads ----------------------------------------------
def topic(dialect, payload):
    if dialect == EASYPOST:
        return payload.get("description")
    return payload.get("event")


def event_id(dialect, payload):
    key = payload.get("id") if dialect == EASYPOST else payload.get("event_id")
    return str(key) if key else None


def tracker_id(dialect, payload):
    """The tracker's id: EasyPost ``result.id``, AfterShip ``msg.id``."""
    body = payload.get("result" if dialect == EASYPOST else "msg")
    if not isinstance(body, dict) or not body.get("id"):
        return None
    return str(body["id"])


def tracking_number(dialect, payload):
    body = payload.get("result" if dialect == EASYPOST else "msg")
    if not isinstance(body, dict):
        return None
    number = body.get("tracking_code" if dialect == EASYPOST else "tracking_number")
    return str(number) if number else None


# -- tracker webhooks -> shipment.event ------------------------------------------------
def easypost_event(payload, table=None, carrier_name=None):
    """The canonical ``shipment.event`` of an EasyPost ``tracker.*`` event.

    The tracker carries its whole history; the event is its latest detail.

    :raises ValueError, KeyError, TypeError: not a tracker event
    """
    tracker = payload["result"]
    if tracker.get("object") not in (None, "Tracker"):
        raise ValueError(f"not a tracker: {tracker.get('object')}")
    details = sorted(
        tracker.get("tracking_details") or [], key=lambda d: d.get("datetime") or ""
    )
    latest = details[-1] if details else {}
    raw = tracker["status"]
    occurred = (
        latest.get("datetime") or tracker.get("updated_at") or payload["created_at"]
    )
    where = latest.get("tracking_location") or {}
    document = {
        "schema_version": "1.1",
        "tracking_number": str(tracker["tracking_code"]),
        "carrier": tracker.get("carrier") or carrier_name or "easypost",
        "status": canonical_status(EASYPOST, raw, table),
        "occurred_at": _iso(occurred),
        "estimated_delivery": _iso(tracker.get("est_delivery_date")),
        "tracker_id": str(tracker["id"]),
        "raw_status": raw,
        "raw_substatus": tracker.get("status_detail") or latest.get("status_detail"),
        "tracking_url": tracker.get("public_url"),
        "description": latest.get("message") or raw,
    }
    location = _location(where.get("city"), where.get("state"), where.get("country"))
    if location:
        document["location"] = location
    if tracker.get("shipment_id"):
        document["extra"] = {"shipment_id": tracker["shipment_id"]}
    return document


def aftership_event(payload, table=None, carrier_name=None):
    """The canonical ``shipment.event`` of an AfterShip ``tracking_update``.

    :raises ValueError, KeyError, TypeError: not a tracking update
    """
    msg = payload["msg"]
    checkpoints = sorted(
        msg.get("checkpoints") or [], key=lambda c: c.get("checkpoint_time") or ""
    )
    latest = checkpoints[-1] if checkpoints else {}
    raw = msg["tag"]
    occurred = latest.get("checkpoint_time") or msg.get("updated_at") or payload["ts"]
    document = {
        "schema_version": "1.1",
        "tracking_number": str(msg["tracking_number"]),
        "carrier": msg.get("slug") or carrier_name or "aftership",
        "status": canonical_status(AFTERSHIP, raw, table),
        "occurred_at": _iso(occurred),
        "estimated_delivery": _iso(msg.get("expected_delivery")),
        "raw_status": raw,
        "raw_substatus": msg.get("subtag"),
        "tracking_url": msg.get("courier_tracking_link"),
        "description": latest.get("message") or msg.get("subtag_message") or raw,
    }
    if msg.get("id"):
        document["tracker_id"] = str(msg["id"])
    if msg.get("order_id"):
        document["order_external_id"] = str(msg["order_id"])
    location = _location(
        latest.get("city"),
        latest.get("state"),
        latest.get("country_iso2") or latest.get("country_region"),
        latest.get("location"),
    )
    if location:
        document["location"] = location
    return document


EVENT_MAPPERS = {EASYPOST: easypost_event, AFTERSHIP: aftership_event}


def to_canonical_shipment_event(dialect, payload, table=None, carrier_name=None):
    """The canonical ``shipment.event`` of a tracker webhook of ``dialect``."""
    return EVENT_MAPPERS[dialect](payload, table=table, carrier_name=carrier_name)


# -- EasyPost shipments (outbound) -----------------------------------------------------
def address(partner_values):
    """An EasyPost address from ``{name, company, street, street2, city, zip,
    state, country, phone, email}``."""
    return {
        "name": partner_values.get("name") or None,
        "company": partner_values.get("company") or None,
        "street1": partner_values.get("street") or None,
        "street2": partner_values.get("street2") or None,
        "city": partner_values.get("city") or None,
        "zip": partner_values.get("zip") or None,
        "state": partner_values.get("state") or None,
        "country": partner_values.get("country") or None,
        "phone": partner_values.get("phone") or None,
        "email": partner_values.get("email") or None,
    }


def shipment_request(payload):
    """Body of ``POST /v2/shipments`` from an outbox ``shipment/create`` payload."""
    return {
        "shipment": {
            "reference": payload["reference"],
            "to_address": address(payload["to_address"]),
            "from_address": address(payload["from_address"]),
            "parcel": {"weight": payload["weight_oz"]},
            "options": {"label_format": "PDF"},
        }
    }


def choose_rate(shipment, service=None, carrier=None):
    """The rate to buy: the one of ``service`` (and ``carrier``), else the
    cheapest; rates are decimal strings.

    :raises ValueError: the shipment has no rate
    """
    rates = shipment.get("rates") or []
    if not rates:
        raise ValueError(f"shipment {shipment.get('id')} has no rate")
    wanted = [
        rate
        for rate in rates
        if (not service or rate.get("service") == service)
        and (not carrier or rate.get("carrier") == carrier)
    ]
    return min(wanted or rates, key=lambda rate: Decimal(str(rate["rate"])))


def read_purchase(shipment):
    """What a bought shipment tells: ``{shipment_id, tracking_number,
    tracker_id, tracking_url, label_url, rate, currency}``.

    :raises ValueError: the shipment is not bought (no label)
    """
    label = shipment.get("postage_label") or {}
    if not label.get("label_url") or not shipment.get("tracking_code"):
        raise ValueError(f"shipment {shipment.get('id')} has no label")
    tracker = shipment.get("tracker") or {}
    rate = shipment.get("selected_rate") or {}
    return {
        "shipment_id": shipment["id"],
        "tracking_number": str(shipment["tracking_code"]),
        "tracker_id": tracker.get("id"),
        "tracking_url": tracker.get("public_url"),
        "label_url": label.get("label_pdf_url") or label["label_url"],
        "rate": str(rate["rate"]) if rate.get("rate") is not None else None,
        "currency": rate.get("currency"),
    }


def is_bought(shipment):
    return bool((shipment.get("postage_label") or {}).get("label_url"))
