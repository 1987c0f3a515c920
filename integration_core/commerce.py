"""Canonical commerce documents as the importers read them, without the ORM.

``order_data`` turns a validated canonical order into plain values rounded to
the order currency (what the sale order will hold); ``lines_digest`` and
``describe_changes`` tell whether and how a new version differs from the one
applied. Unit-tested without a database.
"""

import hashlib
import json
from collections import namedtuple
from decimal import ROUND_HALF_UP, Decimal

from .canonical import parse_time, to_decimal

TaxKey = namedtuple("TaxKey", "title rate")

# payment statuses meaning the customer paid (the "confirm when paid" policy)
PAID_STATUSES = ("paid", "partially_refunded", "refunded")
ADDRESS_KEYS = (
    "name",
    "company",
    "street",
    "street2",
    "city",
    "zip",
    "state_code",
    "country_code",
    "phone",
    "email",
)


def money(value, digits=2):
    """A canonical amount (or a Decimal) rounded half-up to ``digits``
    decimals, as a float (Odoo's monetary fields); None and "" are zero."""
    if isinstance(value, Decimal):
        amount = value
    else:
        amount = to_decimal(value) if value not in (None, "") else Decimal(0)
    return float(amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _text(value):
    return value.strip() if isinstance(value, str) else ""


def tax_keys(taxes):
    """``TaxKey(name, rate in percent)`` of canonical tax objects."""
    return tuple(
        TaxKey(
            _text(tax.get("name")),
            float(to_decimal(tax["rate"]).quantize(Decimal("0.0001"))),
        )
        for tax in taxes or ()
    )


def address_data(address):
    """Partner-like dict of a canonical address, or None when it is empty."""
    if not address:
        return None
    result = {key: _text(address.get(key)) for key in ADDRESS_KEYS}
    result["country_code"] = result["country_code"].upper()
    if not result["name"]:
        result["name"] = result["company"]
    if not any(result[key] for key in ("name", "street", "city", "zip")):
        return None
    return result


def _line_data(line, digits):
    quantity = Decimal(str(line["quantity"]))
    price = to_decimal(line["unit_price"])
    discount = to_decimal(line.get("discount_amount") or "0")
    gross = price * quantity
    return {
        "line_id": str(line["external_id"]),
        "sku": _text(line.get("sku")),
        "name": _text(line.get("name")),
        "title": _text(line.get("name")),
        "variant_id": line.get("variant_id") or None,
        "product_id": line.get("product_id") or None,
        "quantity": float(quantity),
        "price_unit": money(price, digits),
        "discount_amount": money(discount, digits),
        # percent of the gross amount; Odoo rounds it to its Discount precision
        "discount_percent": float(discount / gross * 100)
        if gross and discount
        else 0.0,
        "taxes": tax_keys(line.get("taxes")),
        "requires_shipping": line.get("requires_shipping", True),
    }


def order_data(order, digits=2):
    """Everything the order importer needs from a validated canonical order."""
    customer = order.get("customer") or {}
    billing = address_data(order.get("billing_address"))
    shipping = address_data(order.get("shipping_address"))
    name = _text(customer.get("name"))
    if not name:
        name = (billing or shipping or {}).get("name") or _text(customer.get("email"))
    payment = order.get("payment") or {}
    totals = order.get("totals") or {}
    return {
        "id": str(order["external_id"]),
        "name": _text(order.get("name")) or str(order["external_id"]),
        "channel": _text(order.get("channel")),
        "currency": order["currency"],
        "created_at": parse_time(order.get("created_at")),
        "updated_at": parse_time(order.get("updated_at") or order.get("created_at")),
        "taxes_included": bool(order.get("taxes_included")),
        "location_id": order.get("location") or None,
        "note": _text(order.get("note")),
        "customer": {
            "external_id": customer.get("external_id"),
            "name": name,
            "email": _text(customer.get("email")),
            "phone": _text(customer.get("phone")),
            "guest": bool(customer.get("guest")) or not customer,
        },
        "billing_address": billing,
        "shipping_address": shipping,
        "lines": [_line_data(line, digits) for line in order["lines"]],
        "shipping": [
            {
                "line_id": str(line["external_id"]),
                "title": _text(line.get("name")) or _text(line.get("code")),
                "code": _text(line.get("code")),
                "price": money(line["price"], digits),
                "taxes": tax_keys(line.get("taxes")),
            }
            for line in order.get("shipping_lines") or ()
        ],
        "discounts": [
            {
                "name": _text(discount.get("name")) or _text(discount.get("code")),
                "amount": money(discount["amount"], digits),
                "taxes": tax_keys(discount.get("taxes")),
            }
            for discount in order.get("discounts") or ()
        ],
        "financial_status": _text(payment.get("status")),
        "gateways": list(payment.get("gateways") or ()),
        "total_price": money(totals["total"], digits)
        if totals.get("total") not in (None, "")
        else None,
    }


def lines_digest(data):
    """Fingerprint of what an order's lines would write to Odoo: equal digests
    mean a new version changes nothing the sale order shows."""
    content = {
        "lines": [
            (
                line["line_id"],
                line["sku"],
                line["quantity"],
                line["price_unit"],
                line["discount_amount"],
                [list(t) for t in line["taxes"]],
            )
            for line in data["lines"]
        ],
        "shipping": [
            (s["title"], s["price"], [list(t) for t in s["taxes"]])
            for s in data["shipping"]
        ],
        "currency": data["currency"],
        "shipping_address": data["shipping_address"],
    }
    if data["discounts"]:
        content["discounts"] = [
            (d["name"], d["amount"], [list(t) for t in d["taxes"]])
            for d in data["discounts"]
        ]
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, default=str).encode()
    ).hexdigest()


def describe_changes(old_lines, data):
    """Human-readable differences between stored lines (``{line_id: (sku, qty,
    price)}``) and a new version, for the review activity."""
    changes = []
    new = {line["line_id"]: line for line in data["lines"]}
    for line_id, (sku, qty, price) in sorted(old_lines.items()):
        line = new.get(line_id)
        if line is None:
            changes.append(f"line {sku or line_id} removed")
        elif line["quantity"] != qty or line["price_unit"] != price:
            changes.append(
                f"line {sku or line_id}: quantity {qty:g} → {line['quantity']:g}, "
                f"price {price} → {line['price_unit']}"
            )
    for line_id, line in new.items():
        if line_id not in old_lines:
            changes.append(
                f"line {line['sku'] or line_id} added ({line['quantity']:g})"
            )
    return changes


def refund_data(refund, digits=2):
    """Everything the refund importer needs from a validated canonical refund."""
    return {
        "id": str(refund["external_id"]),
        "order_id": str(refund["order_external_id"]),
        "created_at": parse_time(refund.get("created_at")),
        "note": _text(refund.get("note")),
        "lines": [
            {
                "line_item_id": str(line["line_external_id"]),
                "quantity": float(Decimal(str(line["quantity"]))),
                "restock": bool(line.get("restock")),
            }
            for line in refund.get("lines") or ()
        ],
        "shipping_amount": money(refund.get("shipping_amount"), digits),
        "amount": money(refund["amount"], digits)
        if refund.get("amount") not in (None, "")
        else None,
        "transactions": [
            {
                "gateway": _text(t.get("gateway")),
                "amount": money(t["amount"], digits),
                "kind": _text(t.get("kind")) or "refund",
                "status": _text(t.get("status")),
            }
            for t in refund.get("transactions") or ()
        ],
    }
