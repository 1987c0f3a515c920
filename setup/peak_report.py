"""What a peak did, counted: each simulated system's own ledger against the
database (lost and doubled computed, not assumed), the summary written as
JSON, and the picture of the run.

Used by ``setup/demo``. Plain Python: SQL through :func:`harness.query`.
"""

import json
from collections import Counter

import harness
from psycopg2 import sql

ORDER_KINDS = ("order", "duplicate", "update")
PAYMENT_KINDS = ("payment", "payment_duplicate")
BAD_KINDS = {"bad_signature": 401, "malformed": 400}


def _accepted(results, kinds):
    return [send for send, status in results if send.kind in kinds and status == 200]


def _grouped(db, statement, params):
    """``{key: count}`` of a two-column query."""
    return {key: count for key, count in harness.query(db, statement, params)}


def _verdict(lost, doubled, **figures):
    """A system's figures with its lost and doubled items (the first 20 named)."""
    return dict(
        figures,
        lost=len(lost),
        lost_ids=[str(item) for item in lost[:20]],
        doubled=len(doubled),
        doubled_ids=[str(item) for item in doubled[:20]],
    )


def _bound(db, backend_id, model, external_ids):
    """``{external id: records}`` of ``model`` bound to ``external_ids`` by the
    backend (records that still exist)."""
    statement = sql.SQL(
        """SELECT b.external_id, count(DISTINCT r.id)
             FROM integration_binding b JOIN {table} r ON r.id = b.res_id
            WHERE b.backend_id = %s AND b.res_model = %s
              AND b.external_id = ANY(%s)
            GROUP BY b.external_id"""
    ).format(table=sql.Identifier(model.replace(".", "_")))
    return dict(harness.query(db, statement, (backend_id, model, external_ids)))


def reconcile_shopify(db, run, shop, backend_id):
    """Orders of the shop's ledger against sale orders, and the shop's
    fulfillments and stock levels received."""
    orders = {order_id: order for order_id, order in shop.orders.items()}
    accepted = {
        run.scenario.orders[send.order_index]["id"]
        for send in _accepted(run.results, ORDER_KINDS)
    }
    in_odoo = _bound(db, backend_id, "sale.order", [str(o) for o in orders])
    by_ref = _grouped(
        db,
        "SELECT client_order_ref, count(*) FROM sale_order "
        "WHERE client_order_ref = ANY(%s) GROUP BY client_order_ref",
        ([order["name"] for order in orders.values()],),
    )
    confirmed = harness.query(
        db,
        "SELECT count(*) FROM sale_order WHERE client_order_ref = ANY(%s) "
        "AND state = 'sale'",
        ([order["name"] for order in orders.values()],),
    )[0][0]
    # fulfillments received by the shop, per order (through its fulfillment orders)
    order_of = {
        fulfillment_order["id"]: order_id
        for order_id, order in orders.items()
        for fulfillment_order in order.get("_fulfillment_orders", ())
    }
    fulfilled = Counter(
        order_of.get(group["fulfillment_order_id"])
        for fulfillment in shop.fulfillments
        for group in fulfillment["line_items_by_fulfillment_order"]
    )
    lost = sorted(o for o in accepted if str(o) not in in_odoo)
    doubled = sorted(name for name, count in by_ref.items() if count > 1)
    doubled += sorted(str(o) for o, count in fulfilled.items() if o and count > 1)
    return _verdict(
        lost,
        doubled,
        ledger=len(orders),
        accepted=len(accepted),
        in_odoo=len(in_odoo),
        confirmed=confirmed,
        fulfillments=sum(fulfilled.values()),
        inventory_calls=sum(
            1
            for request in shop.requests
            if "inventory_levels/set" in request.get("path", "")
        ),
    )


def reconcile_stripe(db, run, buyers, backend_id):
    """PaymentIntents of the Stripe simulator against the payments in Odoo."""
    intents = {name: intent["id"] for name, intent in buyers.intents.items()}
    accepted = {
        intents[run.scenario.orders[send.order_index]["name"]]
        for send in _accepted(run.results, PAYMENT_KINDS)
        if run.scenario.orders[send.order_index]["name"] in intents
    }
    in_odoo = _bound(db, backend_id, "account.payment", list(intents.values()))
    per_order = _grouped(
        db,
        """SELECT p.memo, count(*) FROM account_payment p
             JOIN integration_binding b
               ON b.res_id = p.id AND b.res_model = 'account.payment'
            WHERE b.backend_id = %s AND p.memo = ANY(%s) GROUP BY p.memo""",
        (backend_id, list(intents)),
    )
    lost = sorted(i for i in accepted if i not in in_odoo)
    doubled = sorted(i for i, count in in_odoo.items() if count > 1)
    doubled += sorted(name for name, count in per_order.items() if count > 1)
    return _verdict(
        lost,
        doubled,
        ledger=len(intents),
        accepted=len(accepted),
        in_odoo=len(in_odoo),
    )


def reconcile_carrier(db, run, carrier, refs_like):
    """Labels bought from the carrier simulator against the parcels in Odoo,
    and the deliveries it reported against the pickings delivered."""
    with carrier.lock:
        bought = [
            (shipment["reference"], shipment["tracking_code"])
            for shipment in carrier.shipments.values()
            if shipment.get("tracking_code")
        ]
    codes = [code for _ref, code in bought]
    known = {
        code
        for (code,) in harness.query(
            db,
            "SELECT tracking_number FROM integration_tracking_line "
            "WHERE tracking_number = ANY(%s)",
            (codes,),
        )
    }
    labels_per_picking = Counter(ref for ref, _code in bought)
    delivered_sent = set()
    for send in _accepted(run.results, ("tracking",)):
        tracker = json.loads(send.body)["result"]
        if tracker["status"] == "delivered":
            delivered_sent.add(tracker["tracking_code"])
    delivered = {
        code
        for (code,) in harness.query(
            db,
            "SELECT l.tracking_number FROM integration_tracking_line l "
            "JOIN stock_picking p ON p.id = l.picking_id "
            "WHERE l.tracking_number = ANY(%s) "
            "AND p.delivery_state = 'customer_delivered'",
            (list(delivered_sent),),
        )
    }
    shipped = harness.query(
        db,
        "SELECT count(*) FROM stock_picking p JOIN sale_order o ON o.id = p.sale_id "
        "WHERE o.client_order_ref LIKE %s AND p.state = 'done' "
        "AND p.picking_type_id IN (SELECT id FROM stock_picking_type "
        "WHERE code = 'outgoing')",
        (refs_like,),
    )[0][0]
    lost = sorted(set(codes) - known) + sorted(delivered_sent - delivered)
    doubled = sorted(ref for ref, count in labels_per_picking.items() if count > 1)
    return _verdict(
        lost,
        doubled,
        ledger=len(bought),
        pickings_shipped=shipped,
        labels_in_odoo=len(known),
        delivered_sent=len(delivered_sent),
        delivered_in_odoo=len(delivered),
    )


def invoices(db, refs_like):
    """Posted customer invoices of the run's orders, and the orders invoiced
    more than once."""
    rows = harness.query(
        db,
        """SELECT o.name, count(DISTINCT m.id)
             FROM sale_order o
             JOIN sale_order_line l ON l.order_id = o.id
             JOIN sale_order_line_invoice_rel r ON r.order_line_id = l.id
             JOIN account_move_line ml ON ml.id = r.invoice_line_id
             JOIN account_move m ON m.id = ml.move_id
            WHERE o.client_order_ref LIKE %s AND m.move_type = 'out_invoice'
              AND m.state = 'posted'
            GROUP BY o.name""",
        (refs_like,),
    )
    paid = harness.query(
        db,
        """SELECT count(*) FROM account_move m
            WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
              AND m.payment_state IN ('paid', 'in_payment')
              AND m.id IN (SELECT ml.move_id FROM account_move_line ml
                  JOIN sale_order_line_invoice_rel r ON r.invoice_line_id = ml.id
                  JOIN sale_order_line l ON l.id = r.order_line_id
                  JOIN sale_order o ON o.id = l.order_id
                 WHERE o.client_order_ref LIKE %s)""",
        (refs_like,),
    )[0][0]
    doubled = sorted(name for name, count in rows if count > 1)
    return _verdict(
        [],
        doubled,
        invoiced_orders=len(rows),
        invoices=sum(count for _name, count in rows),
        paid=paid,
    )


def messages(db, backends, since, topics):
    """Webhooks stored per system (``topics``: ``{system: topics sent}``; the
    messages a connector queues itself are not counted), and the dead letters
    of the run."""
    ids = {info["id"]: system for system, info in backends.items()}
    stored = {
        system: harness.query(
            db,
            "SELECT count(*) FROM integration_inbox_message "
            "WHERE backend_id = %s AND received_at >= %s AND topic = ANY(%s)",
            (backends[system]["id"], since, sorted(topics.get(system, ()))),
        )[0][0]
        for system in backends
    }
    dead = harness.query(
        db,
        """SELECT backend_id, 'in', topic, last_error FROM integration_inbox_message
            WHERE backend_id = ANY(%(ids)s) AND received_at >= %(since)s
              AND state = 'dead'
           UNION ALL
           SELECT backend_id, 'out', topic, last_error FROM integration_outbox_message
            WHERE backend_id = ANY(%(ids)s) AND create_date >= %(since)s
              AND state = 'dead'""",
        {"ids": list(ids), "since": since},
    )
    return stored, [
        {
            "system": ids[backend_id],
            "direction": direction,
            "topic": topic,
            "reason": (error or "").strip().splitlines()[0][:200] if error else "",
        }
        for backend_id, direction, topic, error in dead
    ]


def reconcile(db, run, systems, backends, since, refs_like):
    """The summary of a run: every figure of the reconciliation table.

    :param run: the dispatcher (``results``) with its ``scenario``
    :param systems: ``{"shopify": ShopifySimulator, "stripe": StripeBuyers,
        "carrier": CarrierSimulator}``
    """
    shopify = reconcile_shopify(db, run, systems["shopify"], backends["shopify"]["id"])
    stripe = reconcile_stripe(db, run, systems["stripe"], backends["stripe"]["id"])
    carrier = reconcile_carrier(db, run, systems["carrier"], refs_like)
    billed = invoices(db, refs_like)
    topics = {}
    for send in run.scenario.sends + [send for send, _status in run.results]:
        topics.setdefault(send.system, set()).add(send.topic)
    stored, dead = messages(db, backends, since, topics)
    timeline = run.timeline
    per_system = {}
    for system in ("shopify", "stripe", "carrier"):
        sent, accepted, refused = timeline.totals(system)
        per_system[system] = {
            "sent_requests": sent,
            "accepted_requests": accepted,
            "refused_requests": refused,
            "duplicates_suppressed": accepted - stored.get(system, 0),
        }
    bad = [send for send in run.scenario.sends if send.kind in BAD_KINDS]
    refused_right = sum(
        1
        for send, status in run.results
        if send.kind in BAD_KINDS and status == BAD_KINDS[send.kind]
    )
    shopify.update(per_system["shopify"])
    stripe.update(per_system["stripe"])
    carrier.update(per_system["carrier"])
    lost = shopify["lost"] + stripe["lost"] + carrier["lost"]
    doubled = shopify["doubled"] + stripe["doubled"] + carrier["doubled"]
    doubled += billed["doubled"]
    sent_total, accepted_total, _refused = timeline.totals()
    return {
        "sent_requests": sent_total,
        "accepted_requests": accepted_total,
        "orders_sent": shopify["ledger"],
        "orders_accepted": shopify["accepted"],
        "sale_orders": shopify["in_odoo"],
        "sale_orders_confirmed": shopify["confirmed"],
        "payments_sent": stripe["ledger"],
        "payments_accepted": stripe["accepted"],
        "payments": stripe["in_odoo"],
        "pickings_shipped": carrier["pickings_shipped"],
        "labels_bought": carrier["ledger"],
        "deliveries_reported": carrier["delivered_sent"],
        "deliveries": carrier["delivered_in_odoo"],
        "invoices": billed["invoices"],
        "invoices_paid": billed["paid"],
        "fulfillments": shopify["fulfillments"],
        "inventory_calls": shopify["inventory_calls"],
        "duplicates_suppressed": sum(
            figures["duplicates_suppressed"] for figures in per_system.values()
        ),
        "bad_requests_sent": len(bad),
        "bad_requests_refused": refused_right,
        "refused_by_reason": dict(sorted(timeline.refused_by_reason.items())),
        "dead_letters": dead,
        "outages": [[round(a, 1), round(b or a, 1)] for a, b in timeline.outages],
        "systems": {
            "shopify": shopify,
            "stripe": stripe,
            "carrier": carrier,
            "invoices": billed,
        },
        "lost": lost,
        "doubled": doubled,
    }


def print_summary(summary, say):
    """The reconciliation table, refusals and dead letters, in the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Reconciliation: each simulator's ledger against the database")
    table.add_column("what")
    table.add_column("count", justify="right")
    systems = summary["systems"]
    rows = [
        ("requests sent (all systems)", summary["sent_requests"]),
        ("requests accepted (200)", summary["accepted_requests"]),
        ("orders sent by the shop", summary["orders_sent"]),
        ("  accepted", summary["orders_accepted"]),
        ("  sale orders in Odoo", summary["sale_orders"]),
        ("  of which confirmed", summary["sale_orders_confirmed"]),
        ("payments made in Stripe", summary["payments_sent"]),
        ("  accepted", summary["payments_accepted"]),
        ("  payments in Odoo", summary["payments"]),
        ("deliveries validated in Odoo", summary["pickings_shipped"]),
        ("  labels bought from the carrier", summary["labels_bought"]),
        ("  delivered (carrier's word)", summary["deliveries_reported"]),
        ("  delivered in Odoo", summary["deliveries"]),
        ("invoices posted", summary["invoices"]),
        ("  paid", summary["invoices_paid"]),
        ("fulfillments received by the shop", summary["fulfillments"]),
        ("stock levels received by the shop", summary["inventory_calls"]),
        ("duplicates suppressed", summary["duplicates_suppressed"]),
        ("malformed or badly signed sent", summary["bad_requests_sent"]),
        ("  refused (400 / 401)", summary["bad_requests_refused"]),
        ("dead letters", len(summary["dead_letters"])),
    ]
    for system in ("shopify", "stripe", "carrier", "invoices"):
        figures = systems[system]
        rows.append(
            (
                f"lost / doubled: {system}",
                f"{figures.get('lost', 0)} / {figures['doubled']}",
            )
        )
    rows += [("LOST", summary["lost"]), ("DOUBLED", summary["doubled"])]
    for name, value in rows:
        table.add_row(name, str(value))
    console = Console()
    console.print()
    console.print(table)
    for reason, count in summary["refused_by_reason"].items():
        say(f"    refused {reason}: {count}")
    reasons = Counter(
        f"{letter['system']} {letter['topic']}: {letter['reason']}"
        for letter in summary["dead_letters"]
    )
    for reason, count in reasons.most_common(10):
        say(f"    dead ({count}): {reason}")


# -- the picture -------------------------------------------------------------------------
BUSINESS_LINES = (
    ("sale_orders", "sale orders", "#1f77b4"),
    ("payments", "payments", "#9467bd"),
    ("shipped", "shipped", "#8c564b"),
    ("delivered", "delivered", "#2ca02c"),
    ("invoiced", "invoiced", "#17becf"),
)


def plot(timeline, path_png, path_html, title):
    """Requests sent, accepted and processed per second, queue depth, and the
    records of the run in Odoo (sale orders to invoices), the outage shaded."""
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
    sampled = set()
    for moment, processed, _failed, _dead, queue in timeline.samples:
        second = min(int(moment), end - 1)
        processed_per_second[second] += max(0, processed - previous)
        previous = processed
        depth[second] = queue
        sampled.add(second)
    for second in range(1, end):  # a second without a sample: the one before
        if second not in sampled:
            depth[second] = depth[second - 1]
    fig, (top, bottom, business) = plt.subplots(
        3, 1, figsize=(11, 9), sharex=True, height_ratios=(3, 2, 2)
    )
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
    bottom.legend(loc="upper right")
    moments = [moment for moment, _figures in timeline.figures]
    for key, label, color in BUSINESS_LINES:
        business.plot(
            moments,
            [figures.get(key, 0) for _moment, figures in timeline.figures],
            label=label,
            color=color,
            linewidth=1.5,
        )
    business.set_ylabel("records in Odoo")
    business.set_xlabel("seconds since the start of the peak")
    business.legend(loc="upper left", fontsize="small")
    for start, stop in timeline.outages:
        for axis in (top, bottom, business):
            axis.axvspan(start, stop or end, color="#d62728", alpha=0.15)
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
        json.dump(summary, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
