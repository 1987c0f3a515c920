from datetime import timedelta

from odoo import api, fields, models

from .. import delivery_state as states
from ..canonical import parse_time
from ..exceptions import DependencyNotReady

TRACKING_LINE = "integration.tracking.line"


class IntegrationShipmentImporter(models.AbstractModel):
    """Canonical shipment events onto the parcels of the delivery order they track.

    Every carrier's events go through here: the parcel (tracking line) is found
    by the carrier's tracker id first, else by tracking number among the recent
    pickings of the backend's carriers; its state moves forward only
    (:mod:`integration_core.delivery_state`), every event is kept in the
    picking's history, and the picking's state is derived from its parcels.
    """

    _name = "integration.shipment.importer"
    _inherit = "integration.importer"
    _description = "Integration Shipment Importer"

    @api.model
    def _import_shipment_event(self, backend, document):
        """Record a tracking event on its parcel and update the picking.

        An event older than the parcel's state, or one that would move it back
        (a late ``in_transit`` after the delivery), is recorded in the history
        and changes nothing else; the same event twice is recorded once.

        :returns: the ``stock.picking``
        :raises DependencyNotReady: no picking has this tracking number (yet)
        """
        line = self._find_tracking_line(backend, document)
        if not line:
            raise DependencyNotReady(
                f"no delivery order with tracking number {document['tracking_number']}"
            )
        picking = line.picking_id
        # the event joins the flow of the order the picking ships
        self = self._adopt_correlation(picking)  # pylint: disable=self-cls-assignment
        values = self._prepare_event_values(backend, line, document)
        if self._is_recorded(line, values):
            return picking
        values["outcome"] = states.decide(
            line.delivery_state,
            line.delivery_state_at,
            values["delivery_state"],
            values["occurred_at"],
            regressions=self._get_allowed_regressions(backend),
        )
        self.env["integration.tracking.event"].sudo().create(values)
        if values["outcome"] == states.APPLIED:
            line.sudo().write(self._prepare_line_values(values, document))
        self._update_picking(backend, picking, values, document)
        return picking

    # -- finding the parcel ------------------------------------------------------------
    @api.model
    def _find_tracking_line(self, backend, document):
        """The tracking line of the event: the one bound to its tracker id, else
        the parcel of its tracking number on :meth:`_find_picking`'s picking
        (created if needed, and bound to the tracker id from then on).

        :returns: an ``integration.tracking.line``, empty when no picking matches
        """
        tracker = document.get("tracker_id")
        Binding = self.env["integration.binding"].sudo()
        line = Binding._find_record(backend, TRACKING_LINE, tracker)
        if line:
            return line
        picking = self._find_picking(backend, document)
        if not picking:
            return self.env[TRACKING_LINE]
        line = self._get_parcel(backend, picking, document)
        line._bind_tracker(backend, tracker)
        return line

    @api.model
    def _find_picking(self, backend, document):
        """The outgoing picking of the event's tracking number, among the recent
        pickings of the backend's carriers (tracking numbers are reused): the
        newest one whose parcel of that number is not tracked by another
        tracker id.

        :returns: the ``stock.picking``, or an empty one
        """
        number = document["tracking_number"]
        tracker = document.get("tracker_id")
        domain = self._picking_domain(backend)

        def other_tracker(picking):
            return tracker and any(
                line.tracking_number == number
                and line.tracker_ref
                and line.tracker_ref != tracker
                for line in picking.tracking_line_ids
            )

        Picking = self.env["stock.picking"]
        lines = self.env[TRACKING_LINE].search(
            [("tracking_number", "=", number), ("picking_id", "any", domain)],
            order="id desc",
        )
        for picking in lines.picking_id:
            if not other_tracker(picking):
                return picking
        candidates = Picking.search(
            domain + [("carrier_tracking_ref", "ilike", number)], order="id desc"
        )
        for picking in candidates:
            if number in picking._get_tracking_numbers() and not other_tracker(picking):
                return picking
        return Picking

    @api.model
    def _picking_domain(self, backend):
        """Pickings a tracking event of ``backend`` may be about."""
        since = fields.Datetime.now() - timedelta(
            days=backend._get_tracking_window_days()
        )
        domain = [
            ("company_id", "=", backend.company_id.id),
            ("picking_type_code", "=", "outgoing"),
            # shipped recently, or created recently and not shipped yet
            "|",
            ("date_done", ">=", since),
            ("create_date", ">=", since),
        ]
        carriers = backend._get_tracking_carriers()
        if carriers:
            domain.append(("carrier_id", "in", carriers.ids))
        return domain

    @api.model
    def _get_parcel(self, backend, picking, document):
        """The picking's tracking line of the event's parcel (one per tracking
        number; created for a number the picking does not list yet)."""
        number = document["tracking_number"]
        lines = picking._sync_tracking_lines(backend)
        reference = document.get("parcel_reference")
        line = lines.filtered(lambda item: item.tracking_number == number)
        if reference and len(line) > 1:
            line = (
                line.filtered(lambda item: item.parcel_reference == reference) or line
            )
        if line:
            return line[:1]
        return (
            self.env[TRACKING_LINE]
            .sudo()
            .create(
                {
                    "picking_id": picking.id,
                    "backend_id": backend.id,
                    "tracking_number": number,
                    "parcel_reference": reference or False,
                }
            )
        )

    # -- the state machine -------------------------------------------------------------
    @api.model
    def _get_delivery_state(self, backend, document):
        """The delivery state of the event (see ``delivery_state.CANONICAL_STATES``)."""
        return states.state_of(document["status"])

    @api.model
    def _get_allowed_regressions(self, backend):
        """``{(from state, to state)}`` an event may move a parcel back by."""
        return states.ALLOWED_REGRESSIONS

    @api.model
    def _prepare_event_values(self, backend, line, document):
        """``integration.tracking.event`` values of the event (without outcome)."""
        location = document.get("location") or {}
        place = location.get("description") or ", ".join(
            part
            for part in (
                location.get("city"),
                location.get("region"),
                location.get("country_code"),
            )
            if part
        )
        return {
            "line_id": line.id,
            "occurred_at": parse_time(document["occurred_at"]),
            "status": document["status"],
            "delivery_state": self._get_delivery_state(backend, document),
            "tracking_state": document.get("raw_status") or document["status"],
            "tracking_substate": document.get("raw_substatus") or False,
            "location": place or False,
            "description": document.get("description") or False,
        }

    @api.model
    def _is_recorded(self, line, values):
        """Whether the parcel's history has this event already (a carrier
        repeating it under a new event id)."""
        return bool(
            self.env["integration.tracking.event"].search_count(
                [
                    ("line_id", "=", line.id),
                    ("occurred_at", "=", values["occurred_at"]),
                    ("status", "=", values["status"]),
                    ("tracking_state", "=", values["tracking_state"]),
                    ("tracking_substate", "=", values["tracking_substate"]),
                ],
                limit=1,
            )
        )

    @api.model
    def _prepare_line_values(self, values, document):
        line_values = {
            "delivery_state": values["delivery_state"],
            "delivery_state_at": values["occurred_at"],
            "tracking_state": values["tracking_state"],
            "tracking_substate": values["tracking_substate"],
        }
        if document.get("estimated_delivery"):
            line_values["estimated_delivery"] = parse_time(
                document["estimated_delivery"]
            )
        if document.get("tracking_url"):
            line_values["tracking_url"] = document["tracking_url"]
        return line_values

    @api.model
    def _update_picking(self, backend, picking, values, document):
        """Derive the picking's state from its parcels, and tell people and
        subscribers when it changes."""
        previous = picking.delivery_state
        state = states.aggregate(picking.tracking_line_ids.mapped("delivery_state"))
        picking_values = {}
        if values["outcome"] == states.APPLIED:
            picking_values.update(
                tracking_state=values["tracking_state"],
                tracking_substate=values["tracking_substate"],
                delivery_state_at=max(
                    values["occurred_at"],
                    picking.delivery_state_at or values["occurred_at"],
                ),
            )
            if document.get("estimated_delivery"):
                picking_values["delivery_estimated_at"] = parse_time(
                    document["estimated_delivery"]
                )
        if state != previous:
            picking_values["delivery_state"] = state
            if states.is_delivered(state):
                picking_values["date_delivered"] = values["occurred_at"]
        if picking_values:
            picking.sudo().write(picking_values)
        if state != previous:
            self._on_delivery_state_changed(backend, picking, previous, document)

    @api.model
    def _on_delivery_state_changed(self, backend, picking, previous, document):
        """The picking's state changed: a significant change (delivered, at a
        pickup point, an incidence, cancelled) posts a chatter message; an
        incidence asks a person (one activity per picking); the delivery
        publishes ``shipment.delivered``."""
        if picking.delivery_state in states.SIGNIFICANT_STATES:
            self._post_delivery_state(picking, document)
        if picking.delivery_state == states.INCIDENCE:
            self._schedule_review(
                picking,
                self.env._("Delivery incidence"),
                [
                    self.env._(
                        "%(number)s: %(raw)s %(description)s",
                        number=document["tracking_number"],
                        raw=document.get("raw_status") or document["status"],
                        description=document.get("description") or "",
                    )
                ],
            )
        if states.is_delivered(picking.delivery_state):
            self._publish(
                "shipment.delivered",
                backend,
                picking,
                tracking_number=document["tracking_number"],
                carrier=document["carrier"],
                sale_order_id=picking.sale_id.id or False,
            )

    @api.model
    def _post_delivery_state(self, picking, document):
        """The chatter message of a significant change of the picking's state."""
        labels = dict(states.DELIVERY_STATES)
        picking.message_post(
            body=self.env._(
                "%(carrier)s: %(state)s (%(raw)s) %(description)s",
                carrier=document["carrier"],
                state=labels.get(picking.delivery_state, picking.delivery_state),
                raw=document.get("raw_status") or document["status"],
                description=document.get("description") or "",
            )
        )
