from odoo import api, fields, models

from .. import canonical
from ..exceptions import PermanentError
from ..intake_rules import IntakeRefused, parse_event_time

# Topics the generic type takes with a canonical document as ``data``.
GENERIC_TOPICS = {
    "order.created": "order",
    "order.updated": "order",
    "order.cancelled": "order.cancellation",
    "refund.created": "refund",
    "payment.succeeded": "payment",
    "shipment.updated": "shipment.event",
}
# the document's own time of each version, for the stale check
EVENT_TIMES = {
    "order": "updated_at",
    "order.cancellation": "cancelled_at",
    "shipment.event": "occurred_at",
}
# Canonical document kind -> (importer model, method)
IMPORTERS = {
    "order": ("integration.order.importer", "_import_order"),
    "order.cancellation": ("integration.order.importer", "_import_cancellation"),
    "refund": ("integration.refund.importer", "_import_refund"),
    "payment": ("integration.payment.importer", "_import_payment"),
    "shipment.event": ("integration.shipment.importer", "_import_shipment_event"),
}


class IntegrationBackend(models.Model):
    """Canonical commerce documents in, for every backend type: the backend's
    *Sales* settings the core importers apply them with, their validation, and
    the importer of each kind. Any system that posts JSON can feed Odoo through
    a generic backend, and every connector maps its payloads to these documents
    instead of writing records."""

    _inherit = "integration.backend"  # pylint: disable=consider-merging-classes-inherited

    show_sales_settings = fields.Boolean(compute="_compute_show_sales_settings")
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        help="Warehouse of imported orders (a location mapped to a warehouse "
        "wins); empty: the company's first.",
    )
    team_id = fields.Many2one("crm.team", string="Sales Team")
    default_carrier_id = fields.Many2one(
        "delivery.carrier",
        string="Delivery Method of Imported Orders",
        help="Set on the orders this channel imports, so their delivery orders "
        "ship through it (a carrier backend's method buys their labels); "
        "empty: none.",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist",
        help="Used for orders in its currency; orders in another currency use "
        "(or create) a pricelist of their currency.",
    )
    currency_id = fields.Many2one(related="pricelist_id.currency_id", string="Currency")
    confirm_policy = fields.Selection(
        [
            ("confirm", "Confirm at once"),
            ("paid", "Confirm when paid"),
            ("quotation", "Leave as quotation"),
        ],
        string="Order Confirmation",
        default="confirm",
        required=True,
    )
    missing_sku_policy = fields.Selection(
        [("fail", "Fail the message"), ("create", "Create the product")],
        string="Unknown SKU",
        default="fail",
        required=True,
    )
    guest_partner_id = fields.Many2one(
        "res.partner",
        string="Guest Checkout Customer",
        help="Customer of orders placed without a customer account; their "
        "addresses become its contacts. Empty: match or create by email.",
    )
    shipping_product_id = fields.Many2one(
        "product.product",
        domain="[('type', '=', 'service')]",
    )
    discount_policy = fields.Selection(
        [("line", "Discount on the line"), ("product", "Separate discount line")],
        string="Discounts",
        default="line",
        required=True,
        help="Separate lines keep the totals exact to the cent; line discounts "
        "are percentages rounded to the Discount precision.",
    )
    discount_product_id = fields.Many2one(
        "product.product",
        domain="[('type', '=', 'service')]",
    )
    tax_map_ids = fields.One2many(
        "integration.tax.map", "backend_id", string="Tax Mapping"
    )
    tax_fallback = fields.Selection(
        [
            ("fail", "Fail the message"),
            ("rate", "Use a sale tax of the same rate"),
            ("none", "No tax"),
        ],
        string="Unmapped Taxes",
        default="rate",
        required=True,
    )
    payment_map_ids = fields.One2many(
        "integration.payment.map", "backend_id", string="Payment Gateways"
    )
    post_refunds = fields.Boolean(
        string="Post Credit Notes",
        help="Post refund credit notes and pay them through the gateway's journal.",
    )
    invoice_policy = fields.Selection(
        [
            ("manual", "Invoice manually"),
            ("delivery", "Invoice on delivery"),
        ],
        string="Invoicing",
        default="manual",
        required=True,
        help="Invoice on delivery: when the carrier confirms that a delivery "
        "order of an order of this channel reached the customer, its delivered "
        "quantities are invoiced and the invoice is posted, once.",
    )
    binding_ids = fields.One2many("integration.binding", "backend_id")

    @api.depends("backend_type")
    def _compute_show_sales_settings(self):
        for backend in self:
            backend.show_sales_settings = backend._has_sales_settings()

    def _has_sales_settings(self):
        """Whether this backend's type imports orders (shows the Sales tab);
        connectors that never do return False for their type."""
        return self.backend_type != "removed"

    def _get_tracking_carriers(self):
        """The shipping methods whose parcels this backend tracks (tracking
        events look for their picking among these carriers' only); empty:
        pickings of any carrier."""
        return self.env["delivery.carrier"]

    def _get_tracking_window_days(self):
        """Days a picking may be found by its tracking number: carriers reuse
        tracking numbers, an older picking of the same number is not this
        parcel."""
        return 90

    def _get_location_warehouse(self, location):
        """Warehouse of the channel's fulfilment ``location`` id (the canonical
        order's ``location``), or an empty recordset for the backend's own.
        Connectors with a location table override it."""
        return self.env["stock.warehouse"]

    def _bind_product(self, product, variant_id):
        """Bind ``product`` to the channel's ``variant_id`` (the canonical line's
        ``variant_id``), so later orders find it by that id. Connectors storing
        more per product binding override it."""
        return self.env["integration.binding"]._bind(self, product, variant_id)

    def _get_service_product(self, field_name, code, name):
        """The product in ``field_name``, found by internal reference ``code`` or
        created (a service named ``name``) on first use."""
        product = self[field_name]
        if not product:
            Product = self.env["product.product"].sudo()
            product = Product.search([("default_code", "=", code)], limit=1)
            if not product:
                product = Product.create(
                    {"name": name, "default_code": code, "type": "service"}
                )
            self.sudo()[field_name] = product
        return product

    def _get_shipping_product(self):
        """Product of imported shipping lines."""
        return self._get_service_product(
            "shipping_product_id", "INTEGRATION-SHIPPING", self.env._("Shipping")
        )

    def _get_discount_product(self):
        """Product of separate discount lines (discount policy ``product``)."""
        return self._get_service_product(
            "discount_product_id", "INTEGRATION-DISCOUNT", self.env._("Discount")
        )

    # -- canonical documents in -----------------------------------------------------

    def _get_inbox_handler_methods(self):
        methods = super()._get_inbox_handler_methods()
        if self.backend_type == "generic":
            methods.update(dict.fromkeys(GENERIC_TOPICS, "_inbox_handle_canonical"))
        return methods

    def _inbox_handle_canonical(self, message):
        """A generic delivery: its ``data`` is the canonical document."""
        return self._import_canonical(
            GENERIC_TOPICS[message.topic], message.payload["data"]
        )

    def _canonical_kind(self, payload):
        """Kind of a generic delivery's canonical document, or None."""
        if self.backend_type != "generic" or not isinstance(payload, dict):
            return None
        return GENERIC_TOPICS.get(payload.get("type"))

    def _get_external_ref(self, payload, headers):
        kind = self._canonical_kind(payload)
        data = payload.get("data") if kind else None
        if not isinstance(data, dict):
            return super()._get_external_ref(payload, headers)
        ref = data.get("tracking_number" if kind == "shipment.event" else "external_id")
        return str(ref) if isinstance(ref, str | int) and ref != "" else None

    def _get_event_at(self, payload, headers):
        kind = self._canonical_kind(payload)
        data = payload.get("data") if kind else None
        field = EVENT_TIMES.get(kind)
        if isinstance(data, dict) and field:
            # the versions of one object apply in the order of their own time
            moment = parse_event_time(data.get(field) or data.get("created_at"))
            if moment:
                return moment
        return super()._get_event_at(payload, headers)

    def _check_payload(self, topic, payload):
        """Refuse at intake a delivery that can never be processed; called by
        the webhook route before the message is stored.

        :raises IntakeRefused: the reason names the first failing JSON path
        """
        kind = GENERIC_TOPICS.get(topic) if self.backend_type == "generic" else None
        if kind is None:
            return
        try:
            canonical.validate(kind, payload.get("data"))
        except canonical.CanonicalError as err:
            raise IntakeRefused(f"$.data{err.path[1:]}: {err.reason}") from err

    def _validate_canonical(self, kind, document):
        """The validated (normalised) canonical document.

        :raises PermanentError: it does not follow its schema; the reason
            names the first failing JSON path
        """
        try:
            return canonical.validate(kind, document)
        except canonical.CanonicalError as err:
            raise PermanentError(f"invalid {kind} document: {err}") from err

    def _get_canonical_importer(self, kind):
        """``(importer model, method name)`` applying documents of ``kind``."""
        return IMPORTERS[kind]

    def _import_canonical(self, kind, document, **kwargs):
        """Validate a canonical document and apply it with its importer.

        :returns: the record it created or changed
        :raises PermanentError: invalid document, or what the importer raises
            (``DependencyNotReady``, ``ReviewRequired``...)
        """
        self.ensure_one()
        document = self._validate_canonical(kind, document)
        model, method = self._get_canonical_importer(kind)
        importer = self.env[model]._for_backend(self)
        return getattr(importer, method)(self, document, **kwargs)
