"""The carrier backend type: tracker webhooks in, per dialect.

In: EasyPost (``tracker.created`` / ``tracker.updated``, ``X-Hmac-Signature``)
or AfterShip (``tracking_update``, ``aftership-hmac-sha256``) webhooks become
canonical ``shipment.event`` documents that the core shipment importer applies
to the pickings' parcels. Out (EasyPost only): shipments, labels and refunds,
see ``integration_backend_outbound.py``.

Each hook handles the ``carrier`` type and leaves the others to ``super()``.
"""

from odoo import fields, models

from odoo.addons.integration_core.exceptions import PermanentError, SignatureError
from odoo.addons.integration_core.models.integration_backend import (
    set_connector_removed,
)
from odoo.addons.integration_core.models.integration_secret_mixin import (
    SecretField,
    SecretSetField,
)

from .. import mapping, signature


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    backend_type = fields.Selection(
        selection_add=[("carrier", "Shipping carrier")],
        ondelete={"carrier": set_connector_removed},
    )
    carrier_dialect = fields.Selection(
        [
            (mapping.EASYPOST, "EasyPost (tracking, shipments and labels)"),
            (mapping.AFTERSHIP, "AfterShip (tracking only)"),
        ],
        string="Carrier API",
        default=mapping.EASYPOST,
        help="The webhooks' signature and body, and whether labels can be bought.",
    )
    carrier_api_key = SecretField(
        string="API Key",
        groups="integration_core.group_integration_manager",
        help="Write-only: stored encrypted, never shown again.",
    )
    carrier_api_key_set = SecretSetField(string="API Key Set")
    carrier_name = fields.Char(
        help="Carrier named on events whose body names none (e.g. USPS).",
    )
    carrier_ids = fields.One2many(
        "delivery.carrier", "integration_backend_id", string="Shipping Methods"
    )

    def _has_sales_settings(self):
        # a carrier ships orders; it never imports them
        if self.backend_type == "carrier":
            return False
        return super()._has_sales_settings()

    def _get_tracking_carriers(self):
        if self.backend_type != "carrier":
            return super()._get_tracking_carriers()
        # tracking-only (AfterShip) follows parcels of any shipping method
        return self.carrier_ids

    def _carrier_status_table(self):
        """Carrier status -> canonical status of this backend's dialect; override
        to read statuses a carrier account reports differently."""
        self.ensure_one()
        return mapping.STATUS_TABLES[self.carrier_dialect or mapping.EASYPOST]

    # -- intake: called by the webhook route, in this order -----------------------
    def _verify_signature(self, raw_body, headers):
        if self.backend_type != "carrier":
            return super()._verify_signature(raw_body, headers)
        verify = signature.VERIFIERS[self.carrier_dialect or mapping.EASYPOST]
        try:
            # the previous secret still counts while the carrier switches over
            verify(self._get_webhook_secrets(), raw_body, headers)
        except signature.CarrierSignatureError as err:
            raise SignatureError(str(err)) from err

    def _get_topic(self, payload, headers):
        if self.backend_type != "carrier":
            return super()._get_topic(payload, headers)
        if not isinstance(payload, dict):
            return None
        topic = mapping.topic(self.carrier_dialect, payload)
        return str(topic) if topic else None

    def _get_idempotency_key(self, payload, headers):
        if self.backend_type != "carrier":
            return super()._get_idempotency_key(payload, headers)
        return mapping.event_id(self.carrier_dialect, payload)

    def _get_external_ref(self, payload, headers):
        if self.backend_type != "carrier":
            return super()._get_external_ref(payload, headers)
        return mapping.tracking_number(self.carrier_dialect, payload)

    def _get_sequence_key(self, payload, headers):
        if self.backend_type != "carrier":
            return super()._get_sequence_key(payload, headers)
        tracker = mapping.tracker_id(self.carrier_dialect, payload)
        return f"tracker:{tracker}" if tracker else None

    def _get_event_at(self, payload, headers):
        if self.backend_type != "carrier":
            return super()._get_event_at(payload, headers)
        # No event time for the inbox's stale check: the parcel's forward-only
        # state machine orders tracking events, so a late one still reaches
        # the importer and is recorded in the picking's history.
        return None

    # -- inbound: one handler per topic -----------------------------------------
    def _get_inbox_handler_methods(self):
        methods = super()._get_inbox_handler_methods()
        if self.backend_type == "carrier":
            topics = (
                mapping.AFTERSHIP_TOPICS
                if self.carrier_dialect == mapping.AFTERSHIP
                else mapping.EASYPOST_TOPICS
            )
            methods.update(dict.fromkeys(topics, "_carrier_handle_tracker"))
        return methods

    def _carrier_handle_tracker(self, message):
        """Map a tracker webhook and let the core shipment importer apply it.

        :returns: the ``stock.picking``
        :raises PermanentError: the payload is not a tracker event of the dialect
        :raises DependencyNotReady: no picking has its tracker or number yet
        """
        try:
            document = mapping.to_canonical_shipment_event(
                self.carrier_dialect,
                message.payload,
                table=self._carrier_status_table(),
                carrier_name=self.carrier_name,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise PermanentError(f"payload cannot be mapped: {err}") from err
        return self._import_canonical("shipment.event", document)
