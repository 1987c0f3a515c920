from odoo import models

from .integration_backend_inbound import FEE_TOPIC


class IntegrationInboxMessage(models.Model):
    _inherit = "integration.inbox.message"

    def _process(self):
        """Events of Odoo's own ``payment_stripe`` transactions are that module's
        to book: recorded as ignored, so nothing is booked twice."""
        backend = self.backend_id
        if backend.backend_type == "stripe" and self.topic != FEE_TOPIC:
            transaction = backend._stripe_foreign_transaction(self.payload)
            if transaction:
                return self._ignore(
                    self.env._(
                        "belongs to payment_stripe transaction %s",
                        transaction.reference,
                    )
                )
        return super()._process()

    def _is_stale(self):
        """Stripe's sequence key is the PaymentIntent, shared by its refunds and
        disputes: only a newer event of the same object makes one stale."""
        if self.backend_id.backend_type != "stripe":
            return super()._is_stale()
        if not (self.sequence_key and self.event_at and self.external_ref):
            return False
        self.flush_model()
        self.env.cr.execute(
            """SELECT 1 FROM integration_inbox_message
               WHERE backend_id = %s AND sequence_key = %s AND state = 'done'
                 AND external_ref = %s AND event_at > %s AND id != %s
               LIMIT 1""",
            (
                self.backend_id.id,
                self.sequence_key,
                self.external_ref,
                self.event_at,
                self.id,
            ),
        )
        return bool(self.env.cr.fetchone())
