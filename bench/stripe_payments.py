"""Stripe payment intake throughput with the real job runner.

Creates 2 x N posted invoices, then: the baseline books N payments for the
first N straight through the ORM in this process (``account.payment``
create, post, reconcile with its invoice, one commit per payment); the
pipeline posts N signed ``payment_intent.succeeded`` webhooks (metadata
``odoo_invoice``) for the other N to a server with 2 HTTP workers and the
queue_job runner, and waits until each is a posted payment reconciled with
its invoice. Prints payments/s of both, measured in the same run, and their
ratio (target >= 1.0). The fee look-ups the payments trigger (one
``GET /v1/balance_transactions/{id}`` each, to the simulator) are counted
apart: they run after the payments and do not hold them up.

Usage: .venv/bin/python bench/stripe_payments.py [--count 500] [--db NAME] [--keep-db]
"""

import argparse
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.join(ROOT, "integration_stripe", "tests"))
sys.path.append(os.path.join(ROOT, "integration_core", "tests"))

import common  # noqa: E402
import stripe_simulator as sim  # noqa: E402

SECRET = "whsec_bench_stripe"
API_KEY = "sk_test_bench"
MODULES = "integration_stripe"


def make_invoices(env, partner, product, count):
    from odoo import Command

    invoices = env["account.move"].create(
        [
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "quantity": 1,
                            "price_unit": 10 + index % 90,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
            for index in range(count)
        ]
    )
    invoices.action_post()
    return invoices


def raw_orm(env, invoices, journal):
    """The same bookings straight through the ORM: the baseline."""
    for invoice in invoices:
        payment = env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": invoice.partner_id.id,
                "amount": invoice.amount_residual,
                "currency_id": invoice.currency_id.id,
                "journal_id": journal.id,
                "memo": invoice.name,
            }
        )
        payment.outstanding_account_id = journal.default_account_id
        payment.action_post()
        (payment.move_id.line_ids + invoice.line_ids).filtered(
            lambda line: (
                line.account_id.account_type == "asset_receivable"
                and not line.reconciled
            )
        ).reconcile()
        env.cr.commit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    common.add_database_options(parser, MODULES)
    parser.add_argument("--senders", type=int, default=4, help="concurrent senders")
    args = parser.parse_args()

    registry = common.open_database(args, "integration_bench_stripe", MODULES)
    db = registry.db_name
    from odoo import SUPERUSER_ID, api

    run_id = uuid.uuid4().hex[:5].upper()
    stripe = sim.StripeSimulator(api_key=API_KEY).start()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        journal = env["account.journal"].create(
            {"name": f"Stripe {run_id}", "code": f"S{run_id[:4]}", "type": "bank"}
        )
        bank = env["account.journal"].create(
            {"name": f"Bank {run_id}", "code": f"B{run_id[:4]}", "type": "bank"}
        )
        fee_account = env["account.account"].create(
            {
                "name": f"Stripe fees {run_id}",
                "code": f"62{run_id}"[:6] + "9",
                "account_type": "expense",
            }
        )
        partner = env["res.partner"].create({"name": f"Bench {run_id}"})
        product = env["product.product"].create(
            {"name": "Bench service", "type": "service", "taxes_id": [(5,)]}
        )
        backend = env["integration.backend"].create(
            {
                "name": f"Bench Stripe {run_id}",
                "backend_type": "stripe",
                "webhook_secret": SECRET,
                "stripe_api_key": API_KEY,
                "api_base_url": stripe.url,
                "stripe_journal_id": journal.id,
                "stripe_payout_journal_id": bank.id,
                "stripe_fee_account_id": fee_account.id,
            }
        )
        start = time.monotonic()
        baseline_invoices = make_invoices(env, partner, product, args.count)
        invoices = make_invoices(env, partner, product, args.count)
        setup_seconds = time.monotonic() - start
        token, backend_id = backend.webhook_token, backend.id
        journal_id = journal.id
        events = [
            stripe.event(
                "payment_intent.succeeded",
                stripe.create_payment(
                    f"{invoice.amount_total:.2f}",
                    metadata={"odoo_invoice": invoice.name},
                ),
            )
            for invoice in invoices
        ]
        invoice_ids = invoices.ids
        baseline_ids = baseline_invoices.ids
    print(f"{2 * args.count} invoices posted in {setup_seconds:.1f} s")

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        start = time.monotonic()
        raw_orm(
            env,
            env["account.move"].browse(baseline_ids),
            env["account.journal"].browse(journal_id),
        )
        raw_seconds = time.monotonic() - start

    def count_paid(ids):
        return common.count(
            registry,
            "SELECT count(*) FROM account_move WHERE id = ANY(%s) AND payment_state = 'paid'",
            (ids,),
        )

    try:
        with common.odoo_server(db) as base_url:
            url = f"{base_url}/integration/webhook/{token}"
            senders = [sim.WebhookSender(url, SECRET) for _i in range(args.senders)]
            start = time.monotonic()

            def post(index):
                response = senders[index % len(senders)].send(events[index])
                if response.status_code != 200:
                    raise RuntimeError(
                        f"webhook refused: {response.status_code} {response.text}"
                    )

            with ThreadPoolExecutor(args.senders) as pool:
                list(pool.map(post, range(len(events))))
            intake_seconds = time.monotonic() - start

            def payments_done():
                with registry.cursor() as cr:
                    cr.execute(
                        "SELECT state, count(*) FROM integration_inbox_message "
                        "WHERE backend_id = %s AND topic = 'payment_intent.succeeded' "
                        "GROUP BY state",
                        (backend_id,),
                    )
                    states = dict(cr.fetchall())
                    if states.get("dead"):
                        raise RuntimeError(f"dead messages: {states}")
                    return states.get("done", 0)

            common.wait_until(payments_done, args.count, interval=0.5)
            pipeline_seconds = time.monotonic() - start

            def fees_done():
                return common.count(
                    registry,
                    "SELECT count(*) FROM integration_inbox_message WHERE backend_id = %s "
                    "AND topic = 'stripe.fee' AND state = 'done'",
                    (backend_id,),
                )

            common.wait_until(fees_done, args.count, interval=0.5)
            fees_seconds = time.monotonic() - start
        paid = count_paid(invoice_ids)
        baseline_paid = count_paid(baseline_ids)
    finally:
        stripe.stop()
        common.close_database(args, registry)

    raw_rate = args.count / raw_seconds
    rate = args.count / pipeline_seconds
    print(
        f"payments: {args.count}, invoices paid through webhooks: {paid}, by the baseline: {baseline_paid}"
    )
    print(
        f"raw ORM create+post+reconcile (1 process): {raw_rate:8.1f} payments/s ({raw_seconds:.1f} s)"
    )
    print(
        f"webhooks -> jobs -> reconciled payments:    {rate:8.1f} payments/s ({pipeline_seconds:.1f} s; "
        f"intake {args.count / intake_seconds:.0f} webhooks/s)"
    )
    print(
        f"fees booked from balance transactions: {args.count} after {fees_seconds:.1f} s"
    )
    print(f"ratio pipeline / raw ORM: {rate / raw_rate:.2f} (target >= 1.0)")


if __name__ == "__main__":
    main()
