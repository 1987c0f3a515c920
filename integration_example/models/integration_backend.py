# integration_example/models/integration_backend.py
"""The example shop's backend type: the complete minimal connector.

In: the shop POSTs webhooks signed with ``X-Example-Signature`` (hex
HMAC-SHA256 of the body with the backend's webhook secret); ``sale.new``
becomes a canonical order that the core importer turns into a sale order.
Out: stock levels are POSTed to ``<API Base URL>/stock``.

Each hook handles the ``example`` type and leaves the others to ``super()``.
"""

from odoo import fields, models

from odoo.addons.integration_core.exceptions import PermanentError, SignatureError
from odoo.addons.integration_core.models.integration_backend import (
    set_connector_removed,
)
from odoo.addons.integration_core.signatures import (
    constant_time_equals,
    hmac_sha256_hex,
)

from .. import mapping


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    backend_type = fields.Selection(
        selection_add=[("example", "Example shop")],
        # uninstalling archives the backends, their messages stay readable
        ondelete={"example": set_connector_removed},
    )

    # -- intake: called by the webhook route, in this order -----------------------
    def _verify_signature(self, raw_body, headers):
        if self.backend_type != "example":
            return super()._verify_signature(raw_body, headers)
        received = (headers.get("x-example-signature") or "").strip().lower()
        if not received:
            raise SignatureError("missing X-Example-Signature")
        secrets = self._get_webhook_secrets()
        if not secrets:
            raise SignatureError("no webhook secret configured")
        # the previous secret still counts while the shop switches to the new one
        if not any(
            constant_time_equals(hmac_sha256_hex(secret, raw_body), received)
            for secret in secrets
        ):
            raise SignatureError("X-Example-Signature does not match")

    def _get_topic(self, payload, headers):
        if self.backend_type != "example":
            return super()._get_topic(payload, headers)
        return headers.get("x-example-topic") or None

    def _get_idempotency_key(self, payload, headers):
        if self.backend_type != "example":
            return super()._get_idempotency_key(payload, headers)
        # None: the pipeline keys the delivery on a digest of topic and payload
        return headers.get("x-example-delivery") or None

    def _get_external_ref(self, payload, headers):
        if self.backend_type != "example":
            return super()._get_external_ref(payload, headers)
        ref = payload.get("order_ref") if isinstance(payload, dict) else None
        return str(ref) if ref else None

    # -- inbound: one handler per topic -----------------------------------------
    def _get_inbox_handler_methods(self):
        methods = super()._get_inbox_handler_methods()
        if self.backend_type == "example":
            methods["sale.new"] = "_example_handle_sale"
        return methods

    def _example_handle_sale(self, message):
        """Map a new shop order and let the core importer apply it.

        :returns: the ``sale.order``
        :raises PermanentError: the payload is not an order of the shop
        """
        try:
            document = mapping.to_canonical_order(message.payload)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            # no retry can fix a payload: dead at once, with the reason
            raise PermanentError(f"payload cannot be mapped: {err}") from err
        return self._import_canonical("order", document)

    # -- outbound: one preparer per topic ---------------------------------------
    def _get_outbox_preparer_methods(self):
        methods = super()._get_outbox_preparer_methods()
        if self.backend_type == "example":
            methods["stock/update"] = "_example_prepare_stock_update"
        return methods

    def _example_prepare_stock_update(self, message):
        """The call setting one SKU's stock level in the shop."""
        return {
            "method": "POST",
            "path": "stock",
            "json": {
                "sku": message.payload["sku"],
                "quantity": message.payload["quantity"],
            },
        }

    def _example_push_stock(self, product, quantity):
        """Queue the shop's stock level of ``product`` (sent after commit).

        :returns: the ``integration.outbox.message``
        """
        self.ensure_one()
        return self._outbox_enqueue(
            "stock/update",
            {"sku": product.default_code, "quantity": quantity},
            # a burst of levels for one SKU ends in one call, the latest
            coalesce_key=f"stock:{product.default_code}",
            record=product,
        )
