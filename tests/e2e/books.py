"""What a scenario leaves in a database, read back to check and compare it.

Plain Python on SQL (no ORM cache) except where the ORM is the subject (the
*Integration messages* trace). :func:`dump` is the canonical dump of a run:
orders and their lines, payments, journal entries and account balances,
pickings and their parcels, and the calls each simulator received, with what
legitimately differs between two runs of one scenario normalised away
(database ids, names numbered in arrival order, dates, the simulators'
random object ids). Two runs of the same scenario must give equal dumps.
"""

import re
from collections import Counter, defaultdict

from . import harness

# kinds of record every order's flow has (see :func:`correlation`)
FLOW_KINDS = frozenset(
    {"sale.order", "stock.picking", "payment", "fee", "invoice", "transfer"}
)
# topics the "Integration messages" trace of every order shows
TRACE_TOPICS = frozenset(
    {
        "orders/create",
        "payment_intent.succeeded",
        "stripe.fee",
        "shipment/create",
        "shipment/buy",
        "shipment/label",
        "fulfillment/create",
        "tracker.updated",
        "fulfillment/event",
        "payout.paid",
        "picking.done",
        "shipment.delivered",
    }
)
# the simulators' object ids (Stripe's pi_..., EasyPost's shp_..., Shopify's
# numbers), and the tracking numbers, are random per run
STRIPE_ID = re.compile(r"\b(pi|ch|re|txn|po|evt|req|dp)_[0-9a-f]+\b")
CARRIER_ID = re.compile(r"\b(shp|rate|trk|evt)_[0-9a-z]+\b")
NUMBER = re.compile(r"/\d+(?=/|\.json|$)")
INVENTORY_PATH = "inventory_levels/set.json"


def _money(value):
    return f"{value:.2f}" if value is not None else None


def _rows(db, statement, params=()):
    return harness.query(db, statement, params)


# -- orders, payments, invoices -----------------------------------------------------
def orders_by_ref(db):
    """``{client_order_ref: order}`` with its lines."""
    orders = {}
    for oid, ref, state, total, invoice_status, email in _rows(
        db,
        """SELECT o.id, o.client_order_ref, o.state, o.amount_total,
                  o.invoice_status, p.email
           FROM sale_order o JOIN res_partner p ON p.id = o.partner_id
           WHERE o.client_order_ref IS NOT NULL""",
    ):
        orders[ref] = {
            "id": oid,
            "ref": ref,
            "state": state,
            "amount_total": _money(total),
            "invoice_status": invoice_status,
            "customer": email,
            "lines": [],
        }
    by_id = {order["id"]: order for order in orders.values()}
    for oid, code, name, qty, price, delivered, invoiced in _rows(
        db,
        """SELECT l.order_id, pp.default_code, l.name, l.product_uom_qty,
                  l.price_unit, l.qty_delivered, l.qty_invoiced
           FROM sale_order_line l LEFT JOIN product_product pp ON pp.id = l.product_id
           ORDER BY l.order_id, pp.default_code, l.name""",
    ):
        if oid in by_id:
            by_id[oid]["lines"].append(
                [
                    code or name,
                    float(qty),
                    _money(price),
                    float(delivered),
                    float(invoiced),
                ]
            )
    return orders


def order_payments(db):
    """``{client_order_ref: [payment]}``: the payments of each imported order
    (received and refunded)."""
    payments = defaultdict(list)
    for ref, ptype, amount, state, journal, to_match, reconciled in _rows(
        db,
        """SELECT o.client_order_ref, ap.payment_type, ap.amount, ap.state,
                  j.type, ap.integration_to_match, ap.is_reconciled
           FROM account_payment ap
           JOIN sale_order o ON o.id = ap.integration_sale_order_id
           JOIN account_journal j ON j.id = ap.journal_id
           ORDER BY o.client_order_ref, ap.payment_type, ap.amount""",
    ):
        payments[ref].append(
            {
                "payment_type": ptype,
                "amount": _money(amount),
                "state": state,
                "journal": journal,
                "to_match": bool(to_match),
                "reconciled": bool(reconciled),
            }
        )
    return dict(payments)


def order_invoices(db):
    """``{client_order_ref: [customer invoice]}``."""
    invoices = defaultdict(list)
    for ref, state, payment_state, total, residual in _rows(
        db,
        """SELECT o.client_order_ref, m.state, m.payment_state, m.amount_total,
                  m.amount_residual
           FROM account_move m JOIN sale_order o ON o.name = m.invoice_origin
           WHERE m.move_type = 'out_invoice'
           ORDER BY o.client_order_ref, m.amount_total""",
    ):
        invoices[ref].append(
            {
                "state": state,
                "payment_state": payment_state,
                "amount_total": _money(total),
                "residual": _money(residual),
            }
        )
    return dict(invoices)


def payout_transfers(db):
    """The payouts booked, each with its transfer to the bank."""
    return [
        {
            "amount": _money(amount),
            "state": state,
            "from_journal": from_type,
            "to_journal": to_type,
            "paired": bool(paired),
        }
        for amount, state, from_type, to_type, paired in _rows(
            db,
            """SELECT p.amount, bank.state, fj.type, bj.type,
                      bank.paired_internal_transfer_payment_id = out.id
               FROM integration_stripe_payout p
               JOIN account_payment out ON out.id = p.transfer_payment_id
               JOIN account_payment bank ON bank.id = p.bank_payment_id
               JOIN account_journal fj ON fj.id = out.journal_id
               JOIN account_journal bj ON bj.id = bank.journal_id
               ORDER BY p.amount""",
        )
    ]


def reconciliation_summary(run):
    """A reconciliation run's state and counts (an ORM record)."""
    lines = run.line_ids
    return {
        "state": run.state,
        "missing": len(lines.filtered(lambda line: line.status == "missing")),
        "mismatched": len(lines.filtered(lambda line: line.status == "mismatched")),
        "error": run.error or None,
    }


# -- pickings and parcels -------------------------------------------------------------
def parcels(db):
    """``{client_order_ref: picking}`` of outgoing pickings, with their parcel."""
    result = {}
    for (
        ref,
        state,
        delivery_state,
        carrier,
        tracking_ref,
        fulfillment,
        label_state,
        number,
        tracker,
        line_id,
    ) in _rows(
        db,
        """SELECT o.client_order_ref, sp.state, sp.delivery_state, dc.name->>'en_US',
                  sp.carrier_tracking_ref, sp.shopify_fulfillment_id,
                  tl.label_state, tl.tracking_number, tl.tracker_ref, tl.id
           FROM stock_picking sp
           JOIN sale_order o ON o.id = sp.sale_id
           JOIN stock_picking_type t ON t.id = sp.picking_type_id AND t.code = 'outgoing'
           LEFT JOIN delivery_carrier dc ON dc.id = sp.carrier_id
           LEFT JOIN integration_tracking_line tl ON tl.picking_id = sp.id
           ORDER BY o.client_order_ref, tl.id""",
    ):
        result[ref] = {
            "state": state,
            "delivery_state": delivery_state,
            "carrier": carrier,
            "tracking_ref": tracking_ref,
            "shopify_fulfillment": bool(fulfillment),
            "label_state": label_state,
            "tracking_number": number,
            "tracker": tracker,
            "line_id": line_id,
            "events": [],
        }
    by_line = {parcel["line_id"]: parcel for parcel in result.values()}
    # the carrier's statuses recorded (an event older than the parcel's state
    # is recorded too, as stale: its outcome depends on the arrival order)
    for line_id, status in _rows(
        db,
        "SELECT line_id, status FROM integration_tracking_event ORDER BY line_id, status",
    ):
        if line_id in by_line:
            by_line[line_id]["events"].append(status)
    return result


# -- correlation ------------------------------------------------------------------------
def correlation(db):
    """Per order: the correlation ids of its records, the kinds of record in
    its flow, and the messages about them missing from the order's trace.

    :returns: ``{ref: {"ids", "kinds", "missing_from_trace", "topics"}}``
    """
    flows = {}
    with harness.environment(db) as env:
        Trace = env["integration.message.trace"]
        orders = env["sale.order"].search([("client_order_ref", "!=", False)])
        for order in orders:
            records = _order_records(env, order)
            ids = {r.integration_correlation_id for rs in records.values() for r in rs}
            kinds = {kind for kind, rs in records.items() if rs}
            trace = Trace.search(order.action_view_integration_messages()["domain"])
            about = Trace.search(
                [
                    "|",
                    "&",
                    ("res_model", "=", "account.payment"),
                    ("res_id", "in", (records["payment"] + records["transfer"]).ids),
                    "&",
                    ("res_model", "=", "stock.picking"),
                    ("res_id", "in", records["stock.picking"].ids),
                ]
            )
            flows[order.client_order_ref] = {
                "ids": sorted(i or "" for i in ids),
                "kinds": kinds,
                "missing_from_trace": sorted((about - trace).mapped("topic")),
                "topics": set(trace.mapped("topic")),
            }
    return flows


def _order_records(env, order):
    """The records of one order's flow, by kind, found through the links
    between them (never through the correlation ids being checked)."""
    payments = env["account.payment"].search(
        [("integration_sale_order_id", "=", order.id)]
    )
    Binding = env["integration.binding"]
    charges = Binding.search(
        [("res_model", "=", "account.payment"), ("res_id", "in", payments.ids)]
    ).mapped("external_name")
    fee_messages = env["integration.inbox.message"].search(
        [("topic", "=", "stripe.fee"), ("external_ref", "in", charges)]
    )
    fees = env["account.move"].browse(
        [m.res_id for m in fee_messages if m.res_model == "account.move" and m.res_id]
    )
    payouts = env["integration.stripe.payout"].search(
        [("line_ids.source", "in", charges)]
    )
    return {
        "sale.order": order,
        "stock.picking": order.picking_ids,
        "payment": payments,
        "fee": fees,
        "invoice": order.invoice_ids.filtered(lambda m: m.move_type == "out_invoice"),
        "transfer": payouts.transfer_payment_id + payouts.bank_payment_id,
    }


# -- the canonical dump -----------------------------------------------------------------
def normalise(text):
    """``text`` without the ids that differ between two runs."""
    text = STRIPE_ID.sub(lambda m: f"{m.group(1)}_*", str(text))
    text = CARRIER_ID.sub(lambda m: f"{m.group(1)}_*", text)
    return NUMBER.sub("/*", text)


def balances(db):
    """Debit, credit and balance of every account over posted entries."""
    return {
        code: {
            "debit": _money(debit),
            "credit": _money(credit),
            "balance": _money(debit - credit),
        }
        for code, debit, credit in _rows(
            db,
            """SELECT a.code_store->>'1', sum(l.debit), sum(l.credit)
               FROM account_move_line l
               JOIN account_move m ON m.id = l.move_id AND m.state = 'posted'
               JOIN account_account a ON a.id = l.account_id
               GROUP BY 1 ORDER BY 1""",
        )
    }


def moves(db):
    """Posted and draft journal entries, as ``Counter`` rows of their kind,
    journal, state, payment state and total."""
    rows = Counter(
        f"{move_type} {journal} {state} {payment_state} {_money(total)}"
        for move_type, journal, state, payment_state, total in _rows(
            db,
            """SELECT m.move_type, j.code, m.state, m.payment_state, m.amount_total
               FROM account_move m JOIN account_journal j ON j.id = m.journal_id""",
        )
    )
    return dict(sorted(rows.items()))


def free_stock(db):
    """``{"item@location": free quantity}``: what Odoo says each bound
    inventory item may sell at each mapped Shopify location (on hand minus
    reserved, over the internal locations of the location's warehouse)."""
    return {
        f"{item}@{location}": int(free)
        for item, location, free in _rows(
            db,
            """SELECT b.inventory_item_id, l.shopify_location_id,
                      COALESCE(SUM(COALESCE(q.quantity, 0) - COALESCE(q.reserved_quantity, 0)), 0)
                 FROM integration_shopify_product_binding b
                 JOIN integration_binding g ON g.id = b.binding_id
                 JOIN integration_shopify_location l
                   ON l.backend_id = g.backend_id AND l.export_inventory
                 JOIN stock_warehouse w ON w.id = l.warehouse_id
                 JOIN stock_location v ON v.id = w.view_location_id
                 LEFT JOIN stock_location s
                   ON s.parent_path LIKE v.parent_path || '%%'
                  AND s.usage = 'internal'
                 LEFT JOIN stock_quant q
                   ON q.location_id = s.id AND q.product_id = b.product_id
                WHERE b.inventory_item_id IS NOT NULL AND b.export_inventory
                GROUP BY 1, 2
                ORDER BY 1, 2""",
        )
    }


def simulator_calls(sims):
    """The calls each simulator answered with success, normalised and
    counted; the Shopify ones that only read are counted once per path (a
    call throttled by the shop's bucket repeats its preliminary read), its
    stock levels by their final value."""
    calls = {}
    carrier = Counter(
        f"{entry['method']} {normalise(entry['path'])}"
        for entry in sims["carrier"].ledger
        if entry["status"] < 300
    )
    calls["carrier"] = dict(sorted(carrier.items()))
    shopify = Counter()
    seen = set()
    for entry in sims["shopify"].requests:
        if entry.get("status", 0) >= 300 or entry["path"].endswith(INVENTORY_PATH):
            continue
        key = f"{entry['method']} {normalise(entry['path'])}"
        if entry["method"] == "GET":
            if (key, entry["path"]) in seen:
                continue
            seen.add((key, entry["path"]))
        shopify[key] += 1
    calls["shopify"] = dict(sorted(shopify.items()))
    # stock levels are coalesced per item (how many calls depends on timing):
    # the levels the shop ends with are what counts
    calls["shopify_inventory"] = {
        f"{item}@{location}": level
        for (item, location), level in sorted(sims["shopify"].inventory_levels.items())
    }
    stripe = Counter(
        f"{request.method} {normalise(request.path.split('?')[0])}"
        for request in sims["stripe"].server.requests
        if request.path.split("?")[0] != "/v1/events"
    )
    calls["stripe"] = dict(sorted(stripe.items()))
    calls["shopify_fulfillments"] = sorted(
        [
            (f.get("tracking_info") or {}).get("company"),
            sorted(e.get("status") for e in f.get("events") or ()),
            sum(
                item["quantity"]
                for group in f["line_items_by_fulfillment_order"]
                for item in group["fulfillment_order_line_items"]
            ),
        ]
        for f in sims["shopify"].fulfillments
    )
    return calls


def dump(db, sims):
    """The canonical dump of a run (see the module's docstring)."""
    orders = orders_by_ref(db)
    for order in orders.values():
        del order["id"]
    pickings = parcels(db)
    for picking in pickings.values():
        for key in ("tracking_ref", "tracking_number", "tracker", "line_id"):
            picking[key] = bool(picking[key])
    return {
        "books": {
            "orders": orders,
            "payments": order_payments(db),
            "invoices": order_invoices(db),
            "moves": moves(db),
            "balances": balances(db),
            "payouts": payout_transfers(db),
            "pickings": pickings,
        },
        "calls": simulator_calls(sims),
    }
