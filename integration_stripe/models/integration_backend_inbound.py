"""Stripe events in: one handler per event type, and the fee look-up.

Bookings are idempotent per Stripe object through the bindings: a payment
per PaymentIntent (and its charge), a refund payment per refund, a fee entry
per balance transaction, a dispute record per dispute, a payout record per
payout. Events of one object are state snapshots: the latest one books all
that happened, so an older one delivered late is skipped as stale.
"""

from odoo import models

from odoo.addons.integration_core.exceptions import (
    DependencyNotReady,
    PermanentError,
    PermanentHttpError,
)

from .. import mapping

FEE_TOPIC = "stripe.fee"
MOVE_MODEL = "account.move"


class IntegrationBackend(models.Model):
    # one model, split by role like the core's integration_backend_*.py
    _inherit = "integration.backend"  # pylint: disable=consider-merging-classes-inherited

    def _get_inbox_handler_methods(self):
        methods = super()._get_inbox_handler_methods()
        if self._is_stripe():
            methods.update(
                dict.fromkeys(mapping.PAYMENT_TOPICS, "_stripe_handle_payment")
            )
            methods["payment_intent.payment_failed"] = "_stripe_handle_payment_failed"
            methods.update(
                dict.fromkeys(mapping.REFUND_TOPICS, "_stripe_handle_refund")
            )
            methods.update(
                dict.fromkeys(mapping.DISPUTE_TOPICS, "_stripe_handle_dispute")
            )
            methods.update(
                dict.fromkeys(mapping.PAYOUT_TOPICS, "_stripe_handle_payout")
            )
            methods[FEE_TOPIC] = "_stripe_handle_fee"
        return methods

    def _stripe_map(self, to_values, payload):
        """``to_values(payload)``; an event it cannot read fails for good."""
        try:
            return to_values(payload)
        except (ValueError, TypeError, AttributeError, KeyError) as err:
            raise PermanentError(f"payload cannot be mapped: {err}") from err

    def _stripe_importer(self, model="integration.payment.importer"):
        return self.env[model]._for_backend(self)

    # -- coexistence with payment_stripe ---------------------------------------------
    def _stripe_foreign_transaction(self, payload):
        """The ``payment_stripe`` transaction an event belongs to (its PaymentIntent
        or refund id is the transaction's provider reference, or its description
        the transaction's reference), or None."""
        Transaction = self.env.get("payment.transaction")
        if Transaction is None or "provider_reference" not in Transaction._fields:
            return None
        try:
            intent, description, object_id = mapping.odoo_transaction_refs(payload)
        except (KeyError, TypeError):
            return None
        refs = [ref for ref in (intent, object_id) if ref]
        domain = [("provider_reference", "in", refs)] if refs else []
        if description:
            domain = (
                ["|", ("reference", "=", description)] + domain
                if domain
                else [("reference", "=", description)]
            )
        if not domain:
            return None
        return (
            Transaction.sudo().search(
                [("provider_id.code", "=", "stripe")] + domain, limit=1
            )
            or None
        )

    # -- payments --------------------------------------------------------------------
    def _stripe_handle_payment(self, message):
        """A succeeded PaymentIntent (or a charge without one) becomes a posted
        payment through the core importer; its fee is looked up apart.

        :returns: the ``account.payment``
        """
        obj = self._stripe_map(mapping.event_object, message.payload)
        if obj.get("object") == "charge" and obj.get("payment_intent"):
            # its PaymentIntent's own event books it
            return None
        document = self._stripe_map(mapping.to_canonical_payment, message.payload)
        payment = self._import_canonical("payment", document)
        # the payment's binding is named after its charge (the canonical
        # reference): payout reports find it by the charge id
        charge = document["extra"].get("charge")
        if charge:
            self._inbox_receive(
                FEE_TOPIC,
                {
                    "charge": charge,
                    "balance_transaction": document["extra"].get("balance_transaction"),
                    "payment_external_id": document["external_id"],
                },
                f"fee:{charge}",
                external_ref=charge,
                correlation_id=message.correlation_id,
            )
        return payment

    def _stripe_handle_payment_failed(self, message):
        """A failed attempt moves no money: recorded, nothing booked."""
        self._stripe_map(mapping.event_object, message.payload)
        return None

    # -- fees ------------------------------------------------------------------------
    def _stripe_handle_fee(self, message):
        """Book the fee of a charge from its balance transaction.

        :raises DependencyNotReady: Stripe has no balance transaction for the
            charge yet (asynchronous payment methods settle later)
        """
        payload = message.payload
        txn_id = payload.get("balance_transaction")
        if not txn_id:
            charge = self._stripe_get_or_wait(f"v1/charges/{payload['charge']}")
            txn_id = mapping.object_id(charge.get("balance_transaction"))
            if not txn_id:
                raise DependencyNotReady(
                    f"charge {payload['charge']} has no balance transaction yet"
                )
        txn = self._stripe_get_or_wait(f"v1/balance_transactions/{txn_id}")
        values = self._stripe_map(mapping.balance_transaction_values, txn)
        return self._stripe_book_fee(values)

    def _stripe_get_or_wait(self, path):
        """GET ``path``; Stripe's 404 (not there yet) waits instead of failing."""
        try:
            return self._stripe_request("GET", path)
        except PermanentHttpError as err:
            if err.response is not None and err.response.status == 404:
                raise DependencyNotReady(f"{path} is not available yet") from err
            raise

    def _stripe_book_fee(self, txn):
        """The fee entry of balance transaction ``txn`` (plain values), once.

        :returns: the ``account.move``, or None for a transaction without fee
        """
        Binding = self.env["integration.binding"]
        existing = Binding._find_record(self, MOVE_MODEL, txn["id"])
        if existing:
            return existing
        if not txn["fee"]:
            return None
        journal, fee_account = self._stripe_fee_accounts()
        move = self._stripe_importer()._book_fee(
            journal,
            fee_account,
            txn["fee"],
            self.env._(
                "Stripe fee %(txn)s (%(obj)s)", txn=txn["id"], obj=txn["source"]
            ),
            currency=self._stripe_currency(txn["currency"]),
        )
        Binding._bind(self, move, txn["id"], external_name=txn["id"])
        return move

    def _stripe_fee_accounts(self):
        if not (self.stripe_journal_id and self.stripe_fee_account_id):
            raise PermanentError(
                "set the Stripe journal and the fee expense account on the backend"
            )
        return self.stripe_journal_id, self.stripe_fee_account_id

    def _stripe_currency(self, code):
        return self._stripe_importer()._find_currency(self, code)

    # -- refunds ---------------------------------------------------------------------
    def _stripe_handle_refund(self, message):
        """A refund object's state: succeeded books it once (an outbound payment
        reconciled with a credit note), failed or canceled cancels that booking,
        pending waits for the next refund event.

        :raises DependencyNotReady: the refunded payment is not booked yet
        """
        values = self._stripe_map(mapping.refund_values, message.payload)
        importer = self._stripe_importer("integration.refund.importer")
        if values["status"] == "succeeded":
            return importer._import_payment_refund(self, values)
        if values["status"] in ("failed", "canceled"):
            return (
                importer._cancel_payment_refund(
                    self,
                    values["external_id"],
                    self.env._("Stripe refund %s failed.", values["external_id"]),
                )
                or None
            )
        return None

    # -- disputes --------------------------------------------------------------------
    def _stripe_handle_dispute(self, message):
        """Any event of a dispute applies the dispute as it is now.

        :returns: the ``integration.stripe.dispute``
        :raises DependencyNotReady: the disputed payment is not booked yet
        """
        values = self._stripe_map(mapping.dispute_values, message.payload)
        return self.env["integration.stripe.dispute"]._stripe_apply(self, values)

    # -- payouts ---------------------------------------------------------------------
    def _stripe_handle_payout(self, message):
        """``payout.paid`` books the payout's transfer with its report;
        ``payout.failed`` reverses it.

        :returns: the ``integration.stripe.payout``
        """
        values = self._stripe_map(mapping.payout_values, message.payload)
        return self.env["integration.stripe.payout"]._stripe_apply(self, values)

    def _stripe_payout_page_size(self):
        """Balance transactions asked per page (Stripe's maximum)."""
        return 100

    def _stripe_payout_transactions(self, payout_id):
        """Every balance transaction of a payout, page after page
        (``starting_after`` the last id while ``has_more``)."""
        return self._stripe_list(
            "v1/balance_transactions",
            {"payout": payout_id, "limit": self._stripe_payout_page_size()},
        )
