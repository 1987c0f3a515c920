import time
from urllib.parse import parse_qs

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import process

from . import stripe_simulator as sim
from .common import StripeCase


@tagged("post_install", "-at_install")
class TestOutboundRefunds(StripeCase):
    def paid_invoice(self, amount):
        invoice = self.make_invoice(amount)
        intent = self.sim.create_payment(
            f"{amount:.2f}", metadata={"odoo_invoice": invoice.name}
        )
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        return invoice, intent

    def credit_note(self, invoice, amount=None):
        reversal = invoice._reverse_moves([{"ref": "Goodwill"}])
        if amount is not None:
            reversal.invoice_line_ids.price_unit = amount
        reversal.stripe_refund = True
        return reversal

    def outbox(self, note):
        return self.env["integration.outbox.message"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("res_model", "=", "account.move"),
                ("res_id", "=", note.id),
            ]
        )

    def test_credit_note_refunds_the_charge_once(self):
        invoice, intent = self.paid_invoice(80.0)
        note = self.credit_note(invoice, 30.0)
        note.action_post()
        message = self.outbox(note)
        self.assertEqual(message.topic, "refunds/create")
        self.assertEqual(process(message), "sent", message.last_error)
        call = [r for r in self.sim.requests if r.path == "/v1/refunds"][-1]
        self.assertEqual(
            call.headers["Content-Type"], "application/x-www-form-urlencoded"
        )
        self.assertEqual(call.headers["Idempotency-Key"], message.idempotency_key)
        self.assertEqual(call.headers["Authorization"], "Bearer sk_test_simulator")
        form = parse_qs(call.body.decode())
        self.assertEqual(form["payment_intent"], [intent["id"]])
        self.assertEqual(form["amount"], ["3000"])
        self.assertEqual(form["metadata[odoo_credit_note]"], [note.name])
        self.assertTrue(note.stripe_refund_id.startswith("re_"))
        # the same call again (a retry after a lost answer) replays Stripe's answer
        headers = {
            k: v
            for k, v in call.headers.items()
            if k in ("Authorization", "Idempotency-Key", "Content-Type")
        }
        replay = self.sim._respond(
            sim.Recorded("POST", "/v1/refunds", headers, call.body, None, 0)
        )
        self.assertEqual(replay.body["id"], note.stripe_refund_id)
        other = self.sim._respond(
            sim.Recorded("POST", "/v1/refunds", headers, b"amount=1", None, 0)
        )
        self.assertEqual(other.status, 400)
        self.assertEqual(len(self.sim.refunds), 1)
        # Stripe's refund.created then books the refund against this credit note
        refund = self.sim.refunds[note.stripe_refund_id]
        self.deliver(self.sim.event("refund.created", refund))
        self.assertEqual(note.payment_state, "paid")
        self.assertEqual(self.payment_of(refund).amount, 30.0)

    def test_stripe_errors_are_dead_with_stripes_message(self):
        invoice, _intent = self.paid_invoice(10.0)
        note = self.credit_note(invoice, 10.0)
        note.action_post()
        # refunded elsewhere meanwhile: nothing left to refund
        self.sim.charges[next(iter(self.sim.charges))]["amount_refunded"] = 1000
        message = self.outbox(note)
        self.assertEqual(process(message), "dead")
        self.assertIn("invalid_request_error/amount_too_large", message.last_error)
        self.assertIn("greater than unrefunded amount", message.last_error)

    def test_throttled_and_server_errors_are_retried(self):
        invoice, _intent = self.paid_invoice(10.0)
        note = self.credit_note(invoice)
        note.action_post()
        message = self.outbox(note)
        self.sim.server.script(sim.Reply(500, {"error": {"type": "api_error"}}))
        self.assertEqual(process(message), "failed")
        self.assertIn("500", message.last_error)
        self.sim.throttle(1, retry_after=1)
        self.assertEqual(process(message), "failed")
        self.assertIn("429", message.last_error)
        time.sleep(1.1)  # the Retry-After hold of the whole backend
        self.assertEqual(process(message), "sent", message.last_error)
        self.assertEqual(len(self.sim.refunds), 1)

    def test_credit_note_of_an_invoice_not_paid_through_stripe(self):
        invoice = self.make_invoice(10.0)
        note = self.credit_note(invoice)
        with self.assertRaisesRegex(Exception, "not paid through Stripe"):
            note.action_post()
