"""Shipments through the outbox (EasyPost dialect): one chain of messages per
parcel, each sent, retried and shown like every outbound message.

``shipment/create`` (``POST /v2/shipments``) -> ``shipment/buy`` (``POST
/v2/shipments/<id>/buy``, the label and tracking number) -> ``shipment/label``
(``GET`` the label URL, attached to the picking as a PDF); ``shipment/refund``
(``POST /v2/shipments/<id>/refund``) cancels a bought label. Each answer is
kept by ``_outbox_handle_response``, which queues the next step; a parcel
cancelled meanwhile stops the chain (a label bought after all is refunded).
"""

import base64

from odoo import models

from odoo.addons.integration_core.exceptions import PermanentError

from .. import mapping

CREATE = "shipment/create"
BUY = "shipment/buy"
LABEL = "shipment/label"
REFUND = "shipment/refund"
PDF_MAGIC = b"%PDF-"


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    def _get_outbox_preparer_methods(self):
        methods = super()._get_outbox_preparer_methods()
        if self.backend_type == "carrier":
            methods.update(
                {
                    CREATE: "_carrier_prepare_create",
                    BUY: "_carrier_prepare_buy",
                    LABEL: "_carrier_prepare_label",
                    REFUND: "_carrier_prepare_refund",
                }
            )
        return methods

    def _carrier_response_methods(self):
        """``{topic: method(message, response)}`` keeping what each answer tells."""
        return {
            CREATE: "_carrier_on_created",
            BUY: "_carrier_on_bought",
            LABEL: "_carrier_on_label",
            REFUND: "_carrier_on_refunded",
        }

    def _carrier_headers(self):
        """EasyPost's HTTP Basic authentication: the API key as user name."""
        key = self.sudo()._get_secret("carrier_api_key") or ""
        return {
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        }

    def _outbox_prepare_request(self, message):
        request = super()._outbox_prepare_request(message)
        if self.backend_type == "carrier" and not request.get("external"):
            request["headers"] = dict(
                request.get("headers") or {}, **self._carrier_headers()
            )
        return request

    def _outbox_handle_response(self, message, response):
        if self.backend_type != "carrier":
            return super()._outbox_handle_response(message, response)
        method = self._carrier_response_methods().get(message.topic)
        if method:
            line = self._carrier_line(message)
            getattr(self, method)(line, message, response)
        return None

    def _carrier_line(self, message):
        line = self.env["integration.tracking.line"].browse(message.payload["line_id"])
        if not line.exists():
            raise PermanentError(f"parcel {message.payload['line_id']} was deleted")
        return line

    # -- enqueueing (called by delivery.carrier) ---------------------------------------
    def _carrier_request_shipment(self, line, payload):
        """Queue the shipment of one parcel (sent after commit).

        :returns: the ``integration.outbox.message``
        """
        self.ensure_one()
        if self.carrier_dialect != mapping.EASYPOST:
            raise PermanentError(f"{self.name} tracks parcels only: it sells no label")
        return self._outbox_enqueue(
            CREATE,
            dict(payload, line_id=line.id),
            idempotency_key=self._carrier_shipment_key(line),
            record=line.picking_id,
            sequence_key=f"parcel:{line.id}",
            external_ref=payload["reference"],
        )

    def _carrier_shipment_key(self, line):
        """Once per picking and package: a second validation or a replayed call
        gets the first request; a request after a cancelled one is a new one."""
        key = f"shipment:{line.picking_id.id}:{line.package_id.id or 0}"
        cancelled = line.picking_id.tracking_line_ids.filtered(
            lambda item: (
                item.package_id == line.package_id and item.label_state == "cancelled"
            )
        )
        return f"{key}:{len(cancelled)}" if cancelled else key

    def _carrier_request_refund(self, line):
        """Queue the refund (cancellation) of a parcel's bought label."""
        self.ensure_one()
        return self._outbox_enqueue(
            REFUND,
            {"line_id": line.id, "shipment_id": line.carrier_shipment_ref},
            idempotency_key=f"shipment-refund:{line.id}:{line.carrier_shipment_ref}",
            record=line.picking_id,
            sequence_key=f"parcel:{line.id}",
            external_ref=line.carrier_shipment_ref,
        )

    # -- preparers -------------------------------------------------------------------
    def _carrier_prepare_create(self, message):
        return {
            "method": "POST",
            "path": "v2/shipments",
            "json": mapping.shipment_request(message.payload),
        }

    def _carrier_prepare_buy(self, message):
        payload = message.payload
        path = f"v2/shipments/{payload['shipment_id']}"
        if message.attempt_count > 1:
            # an earlier attempt may have bought it before its answer was lost:
            # buying again is refused, reading it gives the same answer
            current = self._http_request(
                "GET", path, headers=self._carrier_headers()
            ).json()
            if mapping.is_bought(current):
                return {"method": "GET", "path": path}
        return {
            "method": "POST",
            "path": f"{path}/buy",
            "json": {"rate": {"id": payload["rate_id"]}},
        }

    def _carrier_prepare_label(self, message):
        # the label URL is the carrier's file host: no API credentials
        return {"method": "GET", "url": message.payload["label_url"], "external": True}

    def _carrier_prepare_refund(self, message):
        return {
            "method": "POST",
            "path": f"v2/shipments/{message.payload['shipment_id']}/refund",
            "json": {},
        }

    # -- answers -----------------------------------------------------------------------
    def _carrier_on_created(self, line, message, response):
        shipment = response.json()
        line.write({"carrier_shipment_ref": shipment["id"]})
        if line.label_state == "cancelled":
            return
        carrier = line.picking_id.carrier_id
        rate = mapping.choose_rate(
            shipment,
            service=carrier.integration_service or None,
            carrier=carrier.integration_carrier_code or None,
        )
        self._outbox_enqueue(
            BUY,
            {"line_id": line.id, "shipment_id": shipment["id"], "rate_id": rate["id"]},
            idempotency_key=f"shipment-buy:{line.id}:{shipment['id']}",
            record=line.picking_id,
            sequence_key=f"parcel:{line.id}",
            external_ref=shipment["id"],
        )

    def _carrier_on_bought(self, line, message, response):
        purchase = mapping.read_purchase(response.json())
        cancelled = line.label_state == "cancelled"
        line.write(
            {
                "carrier_shipment_ref": purchase["shipment_id"],
                "tracking_number": purchase["tracking_number"],
                "tracking_url": purchase["tracking_url"] or False,
                "carrier_label_url": purchase["label_url"],
                "carrier_rate": purchase["rate"] or False,
                "label_state": "cancelling" if cancelled else "bought",
            }
        )
        line._bind_tracker(self, purchase["tracker_id"])
        if cancelled:
            # the picking was cancelled while the label was being bought
            self._carrier_request_refund(line)
            return
        line.picking_id._carrier_on_parcel_bought(line)
        self._outbox_enqueue(
            LABEL,
            {"line_id": line.id, "label_url": purchase["label_url"]},
            idempotency_key=f"shipment-label:{line.id}:{purchase['shipment_id']}",
            record=line.picking_id,
            sequence_key=f"parcel:{line.id}",
            external_ref=purchase["tracking_number"],
        )

    def _carrier_on_label(self, line, message, response):
        content = response.raw.content
        if not content.startswith(PDF_MAGIC):
            raise PermanentError("the label is not a PDF")
        line.picking_id._carrier_attach_label(line, content)

    def _carrier_on_refunded(self, line, message, response):
        answer = response.json() or {}
        line.write({"label_state": "cancelled"})
        line.picking_id.message_post(
            body=self.env._(
                "Label %(number)s cancelled at %(backend)s (refund %(status)s).",
                number=line.tracking_number or line.carrier_shipment_ref,
                backend=self.name,
                status=answer.get("refund_status") or "submitted",
            )
        )
