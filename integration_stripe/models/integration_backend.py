"""The Stripe backend type: settings, webhook intake and the API adapter.

In: Stripe POSTs events signed with ``Stripe-Signature`` (see
:mod:`..signature`); each event type has a handler in
``integration_backend_inbound.py`` that maps the event (:mod:`..mapping`)
and lets the core importers book it. Out: credit notes marked for Stripe are
refunded through the outbox (``integration_backend_outbound.py``). Every call
to Stripe goes through :meth:`_stripe_request` on the core HTTP layer (rate
limit, circuit breaker, timeouts).

Each hook handles the ``stripe`` type and leaves the others to ``super()``.
"""

from odoo import api, fields, models

from odoo.addons.integration_core.exceptions import (
    SignatureError,
    TransientHttpError,
)
from odoo.addons.integration_core.models.integration_backend import (
    set_connector_removed,
)
from odoo.addons.integration_core.models.integration_secret_mixin import (
    SecretField,
    SecretSetField,
)

from .. import mapping, signature

STRIPE_API_URL = "https://api.stripe.com"
# the version new endpoints are pinned to when this connector was written;
# events are rendered in the endpoint's version, whatever the account's
DEFAULT_API_VERSION = "2024-06-20"
STRIPE_DEFAULTS = {
    "api_base_url": STRIPE_API_URL,
    "reconcile_enabled": True,
    "reconcile_interval_hours": 1,
    "reconcile_from_checkpoint": True,
    "reconcile_auto_heal": True,
}
TOPIC_PRIORITIES = {
    "payment_intent.succeeded": 5,
    "charge.succeeded": 5,
    "refund.created": 6,
    "refund.updated": 6,
    "refund.failed": 6,
    "payout.paid": 8,
    "payout.failed": 8,
}


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    backend_type = fields.Selection(
        selection_add=[("stripe", "Stripe")],
        ondelete={"stripe": set_connector_removed},
    )
    # -- connection ------------------------------------------------------------------
    stripe_api_key = SecretField(
        string="Stripe Secret Key",
        groups="integration_core.group_integration_manager",
        help="sk_live_... or a restricted key (rk_...). Write-only: stored "
        "encrypted, never shown again.",
    )
    stripe_api_key_set = SecretSetField(string="Secret Key Set")
    stripe_api_version = fields.Char(
        string="Stripe API Version",
        default=DEFAULT_API_VERSION,
        help="The API version the webhook endpoint is pinned to: Stripe renders "
        "events in it, and calls are made in it (Stripe-Version header).",
    )
    stripe_signature_tolerance = fields.Integer(
        string="Signature Tolerance (s)",
        default=signature.DEFAULT_TOLERANCE,
        help="How far the signed timestamp may lie from Odoo's clock, before or "
        "after; older or later deliveries are refused (replays).",
    )
    # -- accounting --------------------------------------------------------------------
    stripe_journal_id = fields.Many2one(
        "account.journal",
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
        help="Bank journal of the Stripe balance: payments, refunds, fees and "
        "disputes are booked on its account.",
    )
    stripe_fee_account_id = fields.Many2one(
        "account.account",
        string="Fee Expense Account",
        domain="[('account_type', 'in', ('expense', 'expense_direct_cost'))]",
    )
    stripe_dispute_account_id = fields.Many2one(
        "account.account",
        string="Lost Disputes Account",
        help="Where the amount of a lost dispute is written off; empty: the fee "
        "expense account.",
    )
    stripe_payout_journal_id = fields.Many2one(
        "account.journal",
        string="Payout Bank Journal",
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
        help="The bank account Stripe pays out to.",
    )
    stripe_invoice_policy = fields.Selection(
        [
            ("invoice", "Create and post the invoice"),
            ("leave", "Leave the payment to match by hand"),
        ],
        string="Paid Order Without Invoice",
        default="invoice",
        required=True,
    )
    stripe_unmatched_policy = fields.Selection(
        [
            ("suspense", "Post to the suspense account"),
            ("draft", "Leave the payment draft"),
        ],
        string="Unmatched Payments",
        default="suspense",
        required=True,
        help="Payments matching no invoice or order are listed in Needs Matching.",
    )
    stripe_credit_note_policy = fields.Selection(
        [
            ("create", "Create and post the credit note"),
            ("leave", "Leave the refund to match by hand"),
        ],
        string="Refund Without Credit Note",
        default="create",
        required=True,
    )
    stripe_match_reference_text = fields.Boolean(
        string="Match Invoice Number in Description",
        default=True,
        help="A payment without metadata pays the open invoice of the same "
        "amount whose number appears in its description.",
    )
    stripe_match_amount_email = fields.Boolean(
        string="Match Amount and Email",
        default=True,
        help="A payment without metadata pays the only open invoice of the same "
        "amount for the customer of the payer's email.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [
            # lost events are pulled back hourly by the core's scheduled
            # reconciliation (``integration_backend_reconcile.py``)
            dict(STRIPE_DEFAULTS, **vals)
            if vals.get("backend_type") == "stripe"
            else vals
            for vals in vals_list
        ]
        return super().create(vals_list)

    def _is_stripe(self):
        return self.backend_type == "stripe"

    def _has_sales_settings(self):
        if not self._is_stripe():
            return super()._has_sales_settings()
        return False

    # -- webhook intake --------------------------------------------------------------
    def _verify_signature(self, raw_body, headers):
        if not self._is_stripe():
            return super()._verify_signature(raw_body, headers)
        try:
            signature.verify(
                raw_body,
                headers.get("stripe-signature"),
                self._get_webhook_secrets(),
                tolerance=self.stripe_signature_tolerance
                or signature.DEFAULT_TOLERANCE,
            )
        except signature.StripeSignatureError as err:
            raise SignatureError(str(err)) from err

    def _get_idempotency_key(self, payload, headers):
        if not self._is_stripe():
            return super()._get_idempotency_key(payload, headers)
        event_id = payload.get("id") if isinstance(payload, dict) else None
        return str(event_id) if event_id else None

    def _get_topic(self, payload, headers):
        if not self._is_stripe():
            return super()._get_topic(payload, headers)
        topic = payload.get("type") if isinstance(payload, dict) else None
        return topic if isinstance(topic, str) and topic else None

    def _get_external_ref(self, payload, headers):
        if not self._is_stripe():
            return super()._get_external_ref(payload, headers)
        obj = mapping.get(payload, "data.object", required=False, root="$")
        ref = obj.get("id") if isinstance(obj, dict) else None
        return str(ref) if ref else None

    def _get_sequence_key(self, payload, headers):
        if not self._is_stripe():
            return super()._get_sequence_key(payload, headers)
        try:
            return mapping.sequence_key(payload)
        except (KeyError, TypeError):
            return None

    def _get_event_at(self, payload, headers):
        if not self._is_stripe():
            return super()._get_event_at(payload, headers)
        return mapping.event_time(payload)

    def _get_correlation_id(self, payload, headers):
        if not self._is_stripe():
            return super()._get_correlation_id(payload, headers)
        request = payload.get("request") if isinstance(payload, dict) else None
        request_id = request.get("id") if isinstance(request, dict) else None
        return request_id or super()._get_correlation_id(payload, headers)

    def _get_topic_priority(self, topic):
        if self._is_stripe() and topic in TOPIC_PRIORITIES:
            return TOPIC_PRIORITIES[topic]
        return super()._get_topic_priority(topic)

    # -- API adapter -----------------------------------------------------------------
    def _stripe_headers(self):
        headers = {"Stripe-Version": self.stripe_api_version or DEFAULT_API_VERSION}
        key = self.sudo()._get_secret("stripe_api_key")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _stripe_request(self, method, path, params=None):
        """One call to Stripe's API through the core HTTP layer.

        :returns: the decoded JSON answer
        :raises TransientHttpError: network, 429, 5xx (retried by policy)
        :raises PermanentHttpError: any other 4xx
        """
        self.ensure_one()
        response = self._http_request(
            method, path, params=params, headers=self._stripe_headers()
        )
        return response.json() or {}

    def _stripe_list(self, path, params):
        """Every item of a Stripe list, page after page (``starting_after`` the
        last id while ``has_more``), in Stripe's order."""
        items = []
        while True:
            page = self._stripe_list_page(path, params)
            data = page.get("data") or []
            items += data
            if not page.get("has_more") or not data:
                return items
            params = dict(params, starting_after=data[-1]["id"])

    def _stripe_list_throttle_retries(self):
        """How many 429s in a row one list page may meet before it fails (each
        retry first waits the ``Retry-After`` the backend holds, within the
        backend's maximum wait)."""
        return 3

    def _stripe_list_page(self, path, params):
        """One page of a list; a 429 waits the backend's hold and asks again.

        :raises TransientHttpError: network, 5xx, or 429 more times in a row
            than :meth:`_stripe_list_throttle_retries`
        """
        retries = self._stripe_list_throttle_retries()
        while True:
            try:
                return self._stripe_request("GET", path, params=params)
            except TransientHttpError as err:
                if not err.throttled or retries <= 0:
                    raise
                retries -= 1

    def action_stripe_check_api_key(self):
        """``GET /v1/balance`` with the secret key: says whether Stripe takes it."""
        self.ensure_one()
        try:
            balance = self._stripe_request("GET", "v1/balance")
        except Exception as err:  # pylint: disable=broad-except
            # any failure is the answer the user asked for
            title, message, kind = (
                self.env._("Stripe refused the key"),
                mapping.stripe_error_message(self._stripe_error_body(err)) or str(err),
                "danger",
            )
        else:
            available = ", ".join(
                f"{item.get('amount')} {str(item.get('currency', '')).upper()}"
                for item in balance.get("available") or ()
            )
            title, message, kind = (
                self.env._("Stripe key accepted"),
                self.env._("Available balance (minor units): %s", available or "-"),
                "success",
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind},
        }

    @staticmethod
    def _stripe_error_body(error):
        response = getattr(error, "response", None)
        try:
            return response.json() if response is not None else None
        except ValueError:
            return None
