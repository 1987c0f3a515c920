"""Stripe calls out: refunds of credit notes through the outbox.

``POST /v1/refunds`` is form-encoded, as Stripe expects, and carries the
outbox message's idempotency key as ``Idempotency-Key``: a resent call (a
timeout, a retry after a 5xx) returns Stripe's first answer instead of
refunding twice. Stripe's 4xx errors (``card_error``,
``invalid_request_error``) end the message dead with Stripe's own message;
429 and 5xx are retried by the backend's policy.
"""

from urllib.parse import urlencode

from odoo import models

from odoo.addons.integration_core.exceptions import PermanentHttpError

from .. import currency as stripe_currency
from .. import mapping

REFUND_TOPIC = "refunds/create"


class IntegrationBackend(models.Model):
    # one model, split by role like the core's integration_backend_*.py
    _inherit = "integration.backend"  # pylint: disable=consider-merging-classes-inherited

    def _stripe_enqueue_refund(self, credit_note, payment_ref):
        """Queue the Stripe refund of ``credit_note`` on the charge or
        PaymentIntent ``payment_ref`` (sent after commit, once per credit note).

        :returns: the ``integration.outbox.message``
        """
        self.ensure_one()
        code = credit_note.currency_id.name
        amount = stripe_currency.to_minor(
            f"{credit_note.amount_total:.{credit_note.currency_id.decimal_places}f}",
            code,
        )
        key = "payment_intent" if payment_ref.startswith("pi_") else "charge"
        return self._outbox_enqueue(
            REFUND_TOPIC,
            {
                key: payment_ref,
                "amount": amount,
                "metadata": {"odoo_credit_note": credit_note.name},
                "credit_note_id": credit_note.id,
            },
            idempotency_key=f"stripe-refund:{credit_note.id}",
            record=credit_note,
            external_ref=payment_ref,
        )

    def _outbox_supports_idempotency_key(self):
        if not self._is_stripe():
            return super()._outbox_supports_idempotency_key()
        return True

    def _get_outbox_preparer_methods(self):
        methods = super()._get_outbox_preparer_methods()
        if self._is_stripe():
            methods[REFUND_TOPIC] = "_stripe_prepare_refund"
        return methods

    def _stripe_prepare_refund(self, message):
        payload = message.payload
        form = [
            (key, payload[key])
            for key in ("payment_intent", "charge", "amount")
            if payload.get(key)
        ]
        form += [
            (f"metadata[{name}]", value)
            for name, value in (payload.get("metadata") or {}).items()
        ]
        return {
            "method": "POST",
            "path": "v1/refunds",
            "data": urlencode(form).encode(),
            "headers": dict(
                self._stripe_headers(),
                **{"Content-Type": "application/x-www-form-urlencoded"},
            ),
        }

    def _outbox_send(self, message):
        if not self._is_stripe():
            return super()._outbox_send(message)
        try:
            return super()._outbox_send(message)
        except PermanentHttpError as err:
            stripe_message = mapping.stripe_error_message(self._stripe_error_body(err))
            if not stripe_message:
                raise
            raise PermanentHttpError(
                f"Stripe refused the call: {stripe_message}", response=err.response
            ) from err

    def _outbox_handle_response(self, message, response):
        if not self._is_stripe():
            return super()._outbox_handle_response(message, response)
        if message.topic == REFUND_TOPIC:
            refund = response.json() or {}
            credit_note = (
                self.env["account.move"]
                .browse(message.payload.get("credit_note_id"))
                .exists()
            )
            if credit_note and refund.get("id"):
                credit_note.stripe_refund_id = refund["id"]
        return None
