from odoo import api, models

from ..canonical import parse_time
from ..exceptions import DependencyNotReady


class IntegrationShipmentImporter(models.AbstractModel):
    """Canonical shipment events onto the delivery order they track."""

    _name = "integration.shipment.importer"
    _inherit = "integration.importer"
    _description = "Integration Shipment Importer"

    @api.model
    def _import_shipment_event(self, backend, document):
        """Record a tracking event on its picking; an event older than the one
        recorded changes nothing (carriers send them out of order).

        :returns: the ``stock.picking``
        :raises DependencyNotReady: no picking has this tracking number (yet)
        """
        picking = self._find_picking(backend, document)
        if not picking:
            raise DependencyNotReady(
                f"no delivery order with tracking number {document['tracking_number']}"
            )
        occurred_at = parse_time(document["occurred_at"])
        if picking.shipment_status_at and occurred_at < picking.shipment_status_at:
            return picking
        picking.write(
            {
                "shipment_status": document["status"],
                "shipment_status_at": occurred_at,
                "shipment_estimated_delivery": parse_time(
                    document.get("estimated_delivery")
                ),
            }
        )
        if document["status"] == "delivered":
            self._publish(
                "shipment.delivered",
                backend,
                picking,
                tracking_number=document["tracking_number"],
                carrier=document["carrier"],
                sale_order_id=picking.sale_id.id or False,
            )
        picking.message_post(
            body=self.env._(
                "%(carrier)s: %(status)s %(description)s",
                carrier=document["carrier"],
                status=dict(
                    picking._fields["shipment_status"]._description_selection(self.env)
                )[document["status"]],
                description=document.get("description") or "",
            )
        )
        return picking

    @api.model
    def _find_picking(self, backend, document):
        """The company's outgoing picking of the event's tracking number."""
        return self.env["stock.picking"].search(
            [
                ("carrier_tracking_ref", "=", document["tracking_number"]),
                ("company_id", "=", backend.company_id.id),
                ("picking_type_code", "=", "outgoing"),
            ],
            order="id desc",
            limit=1,
        )
