import random

from odoo.tests import tagged

from .common import StripeCase


@tagged("post_install", "-at_install")
class TestPayouts(StripeCase):
    def scenario(self, backend):
        """3 paid invoices, a partial refund, their fees and a payout; returns
        the events in the order Stripe sends them."""
        events = []
        intents = []
        for amount in ("100.00", "40.00", "12.50"):
            invoice = self.make_invoice(float(amount))
            intent = self.sim.create_payment(
                amount, metadata={"odoo_invoice": invoice.name}
            )
            intents.append(intent)
            events.append(self.sim.event("payment_intent.succeeded", intent))
        refund = self.sim.create_refund(intents[1], "15.00")
        events.append(self.sim.event("refund.created", refund))
        payout = self.sim.create_payout()
        events.append(self.sim.event("payout.paid", payout))
        return events, intents, refund, payout

    def test_payout_is_one_transfer_of_the_sum_with_its_report(self):
        events, intents, refund, payout = self.scenario(self.backend)
        for event in events:
            self.deliver(event)
        self.run_pending()
        record = self.record_of("integration.stripe.payout", payout["id"])
        self.assertEqual(record.state, "paid")
        # nets: 100 + 40 + 12.5 - 15 less fees (3.20 + 1.46 + 0.66)
        self.assertAlmostEqual(record.amount, 152.5 - 15.0 - 5.32)
        transfer = record.transfer_payment_id
        self.assertEqual(transfer.amount, record.amount)
        self.assertEqual(transfer.journal_id, self.backend.stripe_journal_id)
        self.assertEqual(
            record.bank_payment_id.journal_id, self.backend.stripe_payout_journal_id
        )
        self.assertEqual(record.bank_payment_id.amount, record.amount)
        transfer_account = self.company.transfer_account_id
        self.assertEqual(self.balance(transfer_account), 0.0)
        transfer_lines = (transfer + record.bank_payment_id).move_id.line_ids.filtered(
            lambda line: line.account_id == transfer_account
        )
        self.assertTrue(all(transfer_lines.mapped("reconciled")))
        # the Stripe balance is paid out to the cent
        self.assertEqual(self.balance(self.stripe_account()), 0.0)
        self.assertEqual(self.balance(self.fee_account), 5.32)
        # the report: 3 charges, 1 refund, each with what it was booked as
        lines = record.line_ids
        self.assertEqual(
            sorted(lines.mapped("transaction_type")), ["charge"] * 3 + ["refund"]
        )
        self.assertAlmostEqual(record.net_total, record.amount)
        self.assertAlmostEqual(record.fee_total, 5.32)
        booked = {line.source: (line.res_model, line.res_id) for line in lines}
        for intent in intents:
            charge = self.sim.charge_of(intent)
            self.assertEqual(
                booked[charge["id"]], ("account.payment", self.payment_of(intent).id)
            )
        self.assertEqual(
            booked[refund["id"]], ("account.payment", self.payment_of(refund).id)
        )
        self.assertTrue(
            all(line.move_id for line in lines if line.transaction_type == "charge")
        )
        self.assertTrue(
            self.env["integration.event"].search(
                [("topic", "=", "payout.paid"), ("res_id", "=", record.id)]
            )
        )

    def test_payout_of_one_order_joins_its_flow(self):
        """The payment of an order joins the order's correlation id, and so
        does the transfer of a payout of that payment alone; a payout of
        several orders keeps an id of its own."""
        flows = []
        for amount in ("30.00", "20.00"):
            order = self.make_order(float(amount))
            order.integration_correlation_id = f"order-flow-{amount}"
            flows.append(order.integration_correlation_id)
            intent = self.sim.create_payment(
                amount, metadata={"odoo_order": order.name}
            )
            self.deliver(self.sim.event("payment_intent.succeeded", intent))
            payment = self.payment_of(intent)
            self.assertEqual(payment.integration_correlation_id, flows[-1])
            charge = self.sim.charge_of(intent)
            payout = self.sim.create_payout(txn_ids=[charge["balance_transaction"]])
            message = self.deliver(self.sim.event("payout.paid", payout))
            self.run_pending()
            record = self.record_of("integration.stripe.payout", payout["id"])
            transfer = record.transfer_payment_id + record.bank_payment_id
            self.assertEqual(
                set(transfer.mapped("integration_correlation_id")), {flows[-1]}
            )
            self.assertEqual(message.correlation_id, flows[-1])
        payments = self.env["account.payment"]
        for amount in ("5.00", "6.00"):
            intent = self.sim.create_payment(amount)
            self.deliver(self.sim.event("payment_intent.succeeded", intent))
            payments |= self.payment_of(intent)
        self.run_pending()
        payout = self.sim.create_payout()
        message = self.deliver(self.sim.event("payout.paid", payout))
        self.run_pending()
        record = self.record_of("integration.stripe.payout", payout["id"])
        self.assertEqual(len(set(payments.mapped("integration_correlation_id"))), 2)
        self.assertEqual(
            record.transfer_payment_id.integration_correlation_id,
            message.correlation_id,
        )

    def test_payout_paginates_balance_transactions(self):
        for _i in range(3):
            intent = self.sim.create_payment("1.00")
            self.deliver(self.sim.event("payment_intent.succeeded", intent))
        payout = self.sim.create_payout()
        self.patch(type(self.backend), "_stripe_payout_page_size", lambda backend: 2)
        self.deliver(self.sim.event("payout.paid", payout))
        record = self.record_of("integration.stripe.payout", payout["id"])
        self.assertEqual(len(record.line_ids), 3)
        listings = [
            r
            for r in self.sim.requests
            if r.path.startswith("/v1/balance_transactions?")
        ]
        self.assertEqual(len(listings), 2)
        self.assertIn("starting_after=", listings[1].path)

    def test_failed_payout_reverses_the_transfer(self):
        intent = self.sim.create_payment("10.00")
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        payout = self.sim.create_payout()
        self.deliver(self.sim.event("payout.paid", payout))
        record = self.record_of("integration.stripe.payout", payout["id"])
        self.assertEqual(self.balance(self.stripe_account()), 0.0)
        self.deliver(
            self.sim.event("payout.failed", self.sim.fail_payout(payout["id"]))
        )
        self.assertEqual(record.state, "failed")
        self.assertEqual(record.transfer_payment_id.state, "canceled")
        self.assertEqual(record.bank_payment_id.state, "canceled")
        self.assertEqual(
            self.balance(self.stripe_account()), 10.0 - self.balance(self.fee_account)
        )


@tagged("post_install", "-at_install")
class TestDuplicatesAndShuffling(StripeCase):
    def books(self, backend):
        """What a backend booked, independent of record ids: the balances of
        its Stripe, fee, bank, receivable accounts and the reconciled state of
        every invoice."""
        stripe = backend.stripe_journal_id.default_account_id
        bindings = self.env["integration.binding"].search(
            [("backend_id", "=", backend.id)]
        )
        records = {}
        for binding in bindings:
            records.setdefault(binding.res_model, 0)
            records[binding.res_model] += 1
        return {
            "stripe": self.balance(stripe),
            "bank_payment": sum(
                self.env["integration.stripe.payout"]
                .search([("backend_id", "=", backend.id)])
                .mapped("bank_payment_id.amount")
            ),
            "records": records,
        }

    def events(self, backend):
        events = []
        for amount in ("100.00", "40.00", "12.50"):
            invoice = self.make_invoice(float(amount))
            intent = self.sim.create_payment(
                amount, metadata={"odoo_invoice": invoice.name}
            )
            events.append(self.sim.event("payment_intent.succeeded", intent))
            self.invoices.setdefault(backend.id, []).append(invoice)
        refund = self.sim.create_refund(intent, "2.50", status="pending")
        events.append(self.sim.event("refund.created", refund))
        events.append(
            self.sim.event(
                "refund.updated", self.sim.update_refund(refund["id"], "succeeded")
            )
        )
        second = self.sim.create_refund(intent, "1.00")
        events.append(self.sim.event("refund.created", second))
        dispute = self.sim.create_dispute(intent)
        events.append(self.sim.event("charge.dispute.created", dispute))
        events.append(
            self.sim.event(
                "charge.dispute.funds_withdrawn",
                self.sim.withdraw_dispute_funds(dispute["id"]),
            )
        )
        won = self.sim.close_dispute(dispute["id"], won=True)
        events.append(self.sim.event("charge.dispute.funds_reinstated", won))
        events.append(self.sim.event("charge.dispute.closed", won))
        events.append(self.sim.event("payout.paid", self.sim.create_payout()))
        return events

    def test_every_event_twice_and_shuffled_gives_the_same_books(self):
        self.invoices = {}
        in_order = self.backend
        for event in self.events(in_order):
            self.deliver(event, backend=in_order)
        self.run_pending(in_order)
        shuffled = self.make_stripe_backend("STR2", api_base_url=self.sim.url)
        events = self.events(shuffled) * 2
        random.Random(14).shuffle(events)
        for event in events:
            self.deliver(event, backend=shuffled)
        self.run_pending(shuffled, rounds=10)
        dead = self.env["integration.inbox.message"].search(
            [("backend_id", "in", (in_order + shuffled).ids), ("state", "=", "dead")]
        )
        self.assertFalse(dead, dead.mapped("last_error"))
        self.assertEqual(self.books(shuffled), self.books(in_order))
        # the report links what was booked, even when the payout came first
        lines = (
            self.env["integration.stripe.payout"]
            .search([("backend_id", "=", shuffled.id)])
            .line_ids
        )
        self.assertTrue(lines)
        self.assertTrue(all(line.res_id for line in lines))
        for backend in (in_order, shuffled):
            self.assertEqual(
                [inv.payment_state for inv in self.invoices[backend.id]],
                ["paid", "paid", "paid"],
            )
        self.assertEqual(
            self.balance(in_order.stripe_journal_id.default_account_id), 0.0
        )
