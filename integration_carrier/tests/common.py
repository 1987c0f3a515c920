"""What the carrier tests share: a carrier backend per dialect, delivery orders
to track, and webhooks received as the route stores them."""

from odoo import Command
from odoo.tests import TransactionCase

from odoo.addons.integration_core.tests.common import (
    make_backend,
    pick_in_full,
    process,
    receive,
)

from .. import signature

SECRET = "carrier-webhook-secret"
API_KEY = "ep_test_key"


class CarrierMixin:
    """Backends of both dialects, a customer, a product and an EasyPost
    shipping method; put it before the case class in the bases."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.easypost = make_backend(
            cls.env,
            "carrier",
            name="EasyPost",
            carrier_dialect="easypost",
            webhook_secret=SECRET,
            carrier_api_key=API_KEY,
        )
        cls.aftership = make_backend(
            cls.env,
            "carrier",
            name="AfterShip",
            carrier_dialect="aftership",
            webhook_secret=SECRET,
        )
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Jane Doe",
                "street": "1 Main Street",
                "city": "Springfield",
                "zip": "62701",
                "country_id": cls.env.ref("base.us").id,
                "email": "jane@example.com",
            }
        )
        cls.product = cls.env["product.product"].create(
            {
                "name": "Parcel item",
                "default_code": "CARRIER-ITEM",
                "type": "consu",
                "is_storable": True,
                "weight": 0.5,
            }
        )
        cls.delivery_product = cls.env["product.product"].create(
            {"name": "EasyPost shipping", "type": "service"}
        )
        cls.carrier = cls.env["delivery.carrier"].create(
            {
                "name": "EasyPost Priority",
                "delivery_type": "integration",
                "integration_backend_id": cls.easypost.id,
                "integration_service": "Priority",
                "product_id": cls.delivery_product.id,
                "tracking_url": "https://carrier.example.test/t/<shipmenttrackingnumber>",
            }
        )

    def make_picking(self, tracking_ref=None, carrier=None, validate=False, qty=1):
        """An outgoing picking of one product to the customer."""
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "partner_id": self.customer.id,
                "carrier_id": (carrier or self.env["delivery.carrier"]).id or False,
                "carrier_tracking_ref": tracking_ref or False,
                "move_ids": [
                    Command.create(
                        {
                            "name": self.product.name,
                            "product_id": self.product.id,
                            "product_uom_qty": qty,
                            "location_id": self.warehouse.lot_stock_id.id,
                            "location_dest_id": self.env.ref(
                                "stock.stock_location_customers"
                            ).id,
                        }
                    )
                ],
            }
        )
        if validate:
            self.validate(picking)
        return picking

    def validate(self, picking):
        self.env["stock.quant"]._update_available_quantity(
            self.product,
            self.warehouse.lot_stock_id,
            sum(picking.move_ids.mapped("product_uom_qty")),
        )
        picking.action_confirm()
        pick_in_full(picking).button_validate()
        return picking

    def receive(self, backend, payload):
        """A tracker webhook stored as the route does (signature checked), then
        processed by its job; returns the inbox message."""
        import json

        body = json.dumps(payload).encode()
        dialect = backend.carrier_dialect
        headers = {
            signature.HEADERS[dialect].lower(): signature.SIGNERS[dialect](SECRET, body)
        }
        backend._verify_signature(body, headers)
        message = receive(backend, payload, headers)
        if message.state in ("queued", "failed"):
            process(message)
        # read as a later request would (history in its order, newest first)
        self.env.invalidate_all()
        return message


class CarrierCase(CarrierMixin, TransactionCase):
    pass
