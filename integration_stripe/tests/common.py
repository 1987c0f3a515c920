"""Fixtures of the Stripe connector tests: a company's Stripe and bank
journals, a backend pointed at the simulator, and helpers feeding events
through the real intake hooks and inbox pipeline."""

import json

from odoo import Command
from odoo.tests import TransactionCase

from odoo.addons.integration_core.tests.common import (
    LocalServerMixin,
    make_backend,
    make_retry_policy,
    receive,
)
from odoo.addons.integration_core.tests.common import process as process_message

from . import stripe_simulator as sim

WEBHOOK_SECRET = "whsec_test_stripe_current"
API_KEY = "sk_test_simulator"


class StripeCase(LocalServerMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.policy = make_retry_policy(cls.env, name="Stripe test policy")
        cls.partner = cls.env["res.partner"].create(
            {"name": "Stripe Customer", "email": "buyer@example.com"}
        )
        cls.fee_account = cls.env["account.account"].create(
            {"name": "Stripe fees", "code": "626100", "account_type": "expense"}
        )
        cls.loss_account = cls.env["account.account"].create(
            {"name": "Lost disputes", "code": "626200", "account_type": "expense"}
        )
        cls.product = cls.env["product.product"].create(
            {
                "name": "Consulting",
                "type": "service",
                "list_price": 100.0,
                "invoice_policy": "order",
                "taxes_id": [Command.clear()],
            }
        )
        cls.backend = cls.make_stripe_backend("STRP")

    @classmethod
    def make_stripe_backend(cls, code, **values):
        journal = cls.env["account.journal"].create(
            {"name": f"Stripe {code}", "code": code, "type": "bank"}
        )
        bank = cls.env["account.journal"].create(
            {"name": f"Bank {code}", "code": f"B{code[:4]}", "type": "bank"}
        )
        defaults = {
            "name": f"Test Stripe {code}",
            "retry_policy_id": cls.policy.id,
            "webhook_secret": WEBHOOK_SECRET,
            "stripe_api_key": API_KEY,
            "stripe_journal_id": journal.id,
            "stripe_payout_journal_id": bank.id,
            "stripe_fee_account_id": cls.fee_account.id,
            "stripe_dispute_account_id": cls.loss_account.id,
            "api_base_url": "http://127.0.0.1:9",
        }
        return make_backend(cls.env, "stripe", **dict(defaults, **values))

    def setUp(self):
        super().setUp()
        self.sim = sim.StripeSimulator(api_key=API_KEY).start()
        self.addCleanup(self.sim.stop)
        self.backend.api_base_url = self.sim.url

    # -- accounting fixtures -----------------------------------------------------
    def currency(self, code):
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", code)])
        )
        currency.active = True
        return currency

    def make_invoice(self, amount, currency=None, partner=None):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": (partner or self.partner).id,
                "currency_id": (currency or self.company.currency_id).id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    def make_order(self, amount):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.partner.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )
        order.action_confirm()
        return order

    # -- inbox ---------------------------------------------------------------------
    def deliver(self, event, backend=None, process=True, secrets=None):
        """Verify and store a delivery as the webhook route does, then run its job."""
        backend = backend or self.backend
        body = json.dumps(event).encode()
        headers = {"stripe-signature": sim.sign(secrets or [WEBHOOK_SECRET], body)}
        backend._verify_signature(body, headers)
        message = receive(backend, json.loads(body), headers)
        if process and message.state in ("queued", "failed"):
            process_message(message)
        return message

    def run_pending(self, backend=None, rounds=6):
        """Process every queued or waiting message of the backend (fee look-ups
        included) until none is left to do, as the job runner would."""
        backend = backend or self.backend
        Message = self.env["integration.inbox.message"]
        for _round in range(rounds):
            messages = Message.search(
                [
                    ("backend_id", "=", backend.id),
                    ("state", "in", ("queued", "failed")),
                ],
                order="id",
            )
            if not messages:
                return
            for message in messages:
                process_message(message)

    def record_of(self, model, external_id, backend=None):
        return self.env["integration.binding"]._find_record(
            backend or self.backend, model, external_id
        )

    def payment_of(self, stripe_object, backend=None):
        return self.record_of("account.payment", stripe_object["id"], backend)

    # -- journal items -------------------------------------------------------------
    def balance(self, account, backend=None):
        """Balance of ``account`` over posted items (company currency)."""
        lines = self.env["account.move.line"].search(
            [("account_id", "=", account.id), ("parent_state", "=", "posted")]
        )
        return round(sum(lines.mapped("balance")), 6)

    def stripe_account(self, backend=None):
        return (backend or self.backend).stripe_journal_id.default_account_id

    def assert_lines(self, move, expected):
        """``expected``: ``{account: balance}`` of ``move``'s items."""
        actual = {}
        for line in move.line_ids:
            actual[line.account_id] = actual.get(line.account_id, 0.0) + line.balance
        self.assertEqual(
            {account.code: round(value, 6) for account, value in actual.items()},
            {account.code: round(value, 6) for account, value in expected.items()},
        )
