import json

from odoo import fields, models
from odoo.exceptions import UserError

# kilograms -> ounces (EasyPost weighs parcels in ounces)
OUNCES_PER_KG = 35.27396195


class DeliveryCarrier(models.Model):
    """Shipping method ``integration``: shipments through a carrier backend.

    Odoo's delivery interface, answered without calling the carrier: sending a
    picking queues one shipment request per parcel in the backend's outbox, so
    the validation never waits for the carrier; the tracking number, the
    tracking link and the label land on the picking when the requests are sent.
    """

    _inherit = "delivery.carrier"

    delivery_type = fields.Selection(
        selection_add=[("integration", "Carrier backend")],
        ondelete={
            "integration": lambda records: records.write(
                {"delivery_type": "fixed", "fixed_price": 0}
            )
        },
    )
    integration_backend_id = fields.Many2one(
        "integration.backend",
        string="Carrier Backend",
        domain="[('backend_type', '=', 'carrier')]",
        ondelete="restrict",
    )
    integration_service = fields.Char(
        string="Carrier Service",
        help="The service to buy (e.g. Priority); empty: the cheapest rate.",
    )
    integration_carrier_code = fields.Char(
        string="Carrier Code",
        help="Only rates of this carrier account (e.g. USPS); empty: any.",
    )

    # -- Odoo's delivery interface -----------------------------------------------------
    def integration_rate_shipment(self, order):
        """The shipping method's fixed price (the carrier's rate is known only
        when the shipment is created)."""
        return {
            "success": True,
            "price": self.fixed_price,
            "error_message": False,
            "warning_message": False,
        }

    def integration_send_shipping(self, pickings):
        """Queue the shipment of each parcel of ``pickings``.

        :returns: one ``{"exact_price", "tracking_number"}`` per picking; the
            tracking number is False until the carrier answers
        """
        backend = self.integration_backend_id
        if not backend:
            raise UserError(
                self.env._("Shipping method %s has no carrier backend.", self.name)
            )
        results = []
        for picking in pickings:
            for line, package in picking._carrier_parcels(backend):
                if not line.label_state:
                    line.write({"label_state": "requested"})
                    backend._carrier_request_shipment(
                        line, self._integration_shipment_payload(picking, package)
                    )
            # sending again (Odoo's Send to Shipper) retries what failed
            picking._carrier_requests().filtered(
                lambda message: message.state in ("failed", "dead")
            ).action_retry_now()
            results.append(
                {"exact_price": picking.carrier_price or 0.0, "tracking_number": False}
            )
        return results

    def integration_get_tracking_link(self, picking):
        """The carrier's tracking page of each parcel: a URL, or Odoo's JSON list
        of ``[number, url]`` when the picking has several parcels."""
        links = []
        for line in picking.tracking_line_ids.filtered("tracking_number"):
            url = line.tracking_url or (
                self.tracking_url
                and self.tracking_url.replace(
                    "<shipmenttrackingnumber>", line.tracking_number
                )
            )
            if url and line.label_state != "cancelled":
                links.append([line.tracking_number, url])
        if not links:
            return False
        return links[0][1] if len(links) == 1 else json.dumps(links)

    def integration_cancel_shipment(self, pickings):
        """Cancel the parcels' shipments: a request not answered yet is dropped,
        a bought label is refunded through the outbox."""
        for picking in pickings:
            # warehouse users cancel; the backend and the outbox are the suite's
            picking.sudo()._carrier_cancel_parcels()

    # -- the request ---------------------------------------------------------------
    def _integration_address(self, partner):
        return {
            "name": partner.name,
            "company": partner.commercial_company_name or None,
            "street": partner.street,
            "street2": partner.street2,
            "city": partner.city,
            "zip": partner.zip,
            "state": partner.state_id.code,
            "country": partner.country_id.code,
            "phone": partner.phone,
            "email": partner.email,
        }

    def _integration_shipment_payload(self, picking, package):
        """The outbox payload of one parcel's shipment (see
        ``mapping.shipment_request``)."""
        warehouse = picking.picking_type_id.warehouse_id
        sender = warehouse.partner_id or picking.company_id.partner_id
        weight = (
            (package.shipping_weight or package.weight)
            if package
            else (picking.shipping_weight or picking.weight)
        )
        return {
            "picking_id": picking.id,
            "reference": f"{picking.name}/{package.name}" if package else picking.name,
            "to_address": self._integration_address(picking.partner_id),
            "from_address": self._integration_address(sender),
            "weight_oz": round(max(weight or 0.0, 0.03) * OUNCES_PER_KG, 1),
        }
