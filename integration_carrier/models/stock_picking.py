from markupsafe import Markup

from odoo import api, fields, models

OUTBOX_STATES = ("pending", "sending", "failed", "dead")


class StockPicking(models.Model):
    """Delivery orders shipped through a carrier backend: the shipment requests
    of their parcels, the labels when they come, and the delivery email once
    the tracking number is known."""

    _inherit = "stock.picking"

    carrier_request_state = fields.Selection(
        [
            ("pending", "Waiting for the carrier"),
            ("failed", "Failed, retrying"),
            ("dead", "Failed"),
            ("done", "Labels received"),
        ],
        string="Shipment Request",
        compute="_compute_carrier_request",
    )
    carrier_request_error = fields.Text(
        string="Shipment Request Error", compute="_compute_carrier_request"
    )
    integration_email_pending = fields.Boolean(
        readonly=True,
        copy=False,
        help="The delivery email waits for the carrier's tracking number.",
    )

    @api.depends("tracking_line_ids.label_state")
    def _compute_carrier_request(self):
        for picking in self:
            if not (
                isinstance(picking.id, int)
                and picking.tracking_line_ids.filtered("label_state")
            ):
                picking.carrier_request_state = False
                picking.carrier_request_error = False
                continue
            waiting = picking._carrier_requests().filtered(
                lambda m: m.state in OUTBOX_STATES
            )
            states = set(waiting.mapped("state"))
            picking.carrier_request_state = next(
                (s for s in ("dead", "failed") if s in states),
                "pending" if states else "done",
            )
            failing = waiting.filtered(lambda m: m.state in ("failed", "dead"))
            picking.carrier_request_error = failing[:1].last_error or False

    def _carrier_requests(self):
        """The picking's outbound messages to its carrier backends, newest first."""
        self.ensure_one()
        return (
            self.env["integration.outbox.message"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("backend_type", "=", "carrier"),
                ],
                order="id desc",
            )
        )

    def _is_integration_shipped(self):
        self.ensure_one()
        return (
            self.carrier_id.delivery_type == "integration"
            and self.picking_type_code == "outgoing"
        )

    # -- Odoo's shipping flow ----------------------------------------------------------
    def send_to_shipper(self):
        if not self._is_integration_shipped():
            return super().send_to_shipper()
        result = self.carrier_id.send_shipping(self)[0]
        self.carrier_price = self.carrier_id.with_context(
            order=self.sale_id
        )._apply_margins(result["exact_price"])
        self.message_post(
            body=self.env._(
                "Shipment requested from %(backend)s: the tracking number and "
                "the label follow when the carrier answers.",
                backend=self.carrier_id.integration_backend_id.name,
            )
        )
        self._add_delivery_cost_to_so()
        return None

    def _send_confirmation_email(self):
        # Shipments of a carrier backend are only requested here (Odoo's
        # send_to_shipper, answered later); the delivery email says the tracking
        # number, so it goes when the carrier gave it.
        requested = self.filtered(
            lambda p: (
                p._is_integration_shipped()
                and not p.carrier_tracking_ref
                and p.carrier_id.integration_level == "rate_and_ship"
                and p.picking_type_id.print_label
            )
        )
        for picking in requested:
            picking.sudo().send_to_shipper()
            if picking.company_id.stock_move_email_validation:
                picking.integration_email_pending = True
        return super(StockPicking, self - requested)._send_confirmation_email()

    def _carrier_parcels(self, backend):
        """``[(tracking line, package)]``: one parcel per package of the picking,
        or the picking itself without packages."""
        self.ensure_one()
        Line = self.env["integration.tracking.line"].sudo()
        packages = self.move_line_ids.result_package_id
        parcels = []
        for package in packages or [self.env["stock.quant.package"]]:
            # a cancelled shipment stays as it was: a new request is a new parcel
            line = self.tracking_line_ids.filtered(
                lambda item, package=package: (
                    item.package_id == package
                    and item.label_state not in (False, "cancelled")
                )
            )[:1]
            if not line:
                line = Line.create(
                    {
                        "picking_id": self.id,
                        "backend_id": backend.id,
                        "package_id": package.id or False,
                        "parcel_reference": package.name or self.name,
                    }
                )
            parcels.append((line, package))
        return parcels

    def _integration_awaits_tracking(self):
        if not self._is_integration_shipped():
            return super()._integration_awaits_tracking()
        return any(
            not line.tracking_number
            for line in self.tracking_line_ids
            if line.label_state in ("requested", "bought", "done")
        )

    def _carrier_on_parcel_bought(self, line):
        """A parcel's label is bought: its tracking number joins the picking's;
        once every parcel has one, the delivery email goes out and a validated
        picking publishes ``picking.tracked``."""
        self.ensure_one()
        lines = self.tracking_line_ids.filtered(
            lambda item: item.label_state and item.label_state != "cancelled"
        )
        numbers = [item.tracking_number for item in lines if item.tracking_number]
        self.carrier_tracking_ref = ",".join(numbers)
        self.message_post(
            body=self.env._(
                "Tracking number %(number)s from %(carrier)s.",
                number=line.tracking_number,
                carrier=self.carrier_id.name,
            )
        )
        if not all(item.tracking_number for item in lines):
            return
        if self.integration_email_pending:
            self.integration_email_pending = False
            self._send_confirmation_email()
        if self.state == "done":
            self._publish_tracked()

    def _carrier_attach_label(self, line, content):
        """Attach a parcel's PDF label to the picking, as Odoo's carriers do."""
        self.ensure_one()
        prefix = self.carrier_id._get_delivery_label_prefix()
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": f"{prefix}-{line.tracking_number}.pdf",
                    "raw": content,
                    "mimetype": "application/pdf",
                    "res_model": self._name,
                    "res_id": self.id,
                }
            )
        )
        line.write({"label_attachment_id": attachment.id, "label_state": "done"})
        self.message_post(
            body=self.env._("Label of %s", line.tracking_number),
            attachment_ids=attachment.ids,
        )
        return attachment

    def _carrier_cancel_parcels(self):
        """Cancel the picking's shipments: pending requests are dropped, bought
        labels refunded (through the outbox)."""
        self.ensure_one()
        backend = self.carrier_id.integration_backend_id
        Outbox = self.env["integration.outbox.message"].sudo()
        for line in self.tracking_line_ids.filtered(
            lambda item: item.label_state in ("requested", "bought", "done")
        ):
            bought = line.label_state in ("bought", "done")
            waiting = Outbox.search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("sequence_key", "=", f"parcel:{line.id}"),
                    ("state", "in", ("pending", "failed", "dead")),
                ]
            )
            waiting.action_mark_ignored(
                self.env._("shipment of %s cancelled", self.name)
            )
            if bought:
                line.write({"label_state": "cancelling"})
                (line.backend_id or backend)._carrier_request_refund(line)
            else:
                # a request being sent now finds the parcel cancelled and
                # refunds what it bought
                line.write({"label_state": "cancelled"})
        self.message_post(
            body=Markup("%s") % self.env._("Shipment cancellation requested.")
        )

    def action_cancel(self):
        for picking in self.filtered(lambda p: p._is_integration_shipped()):
            if picking.tracking_line_ids.filtered("label_state"):
                picking.sudo()._carrier_cancel_parcels()
        return super().action_cancel()
