from datetime import UTC, datetime, timedelta

from odoo.tests import tagged

from . import carrier_simulator as sim
from .common import CarrierCase

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def at(hours):
    return T0 + timedelta(hours=hours)


@tagged("post_install", "-at_install")
class TestTracking(CarrierCase):
    def event(self, tracker, code, status, hours, **kwargs):
        return sim.easypost_tracker_event(tracker, code, status, at(hours), **kwargs)

    def delivered_events(self, picking):
        return self.env["integration.event"].search(
            [
                ("topic", "=", "shipment.delivered"),
                ("res_model", "=", "stock.picking"),
                ("res_id", "=", picking.id),
            ]
        )

    def test_journey_onto_the_picking(self):
        picking = self.make_picking("9400A", carrier=self.carrier)
        for n, status in enumerate(sim.EASYPOST_JOURNEY):
            message = self.receive(
                self.easypost,
                self.event("trk_a", "9400A", status, n, est_delivery=at(30)),
            )
            self.assertEqual(message.state, "done", message.last_error)
            self.assertEqual(message._get_record(), picking)
        self.assertEqual(picking.delivery_state, "customer_delivered")
        self.assertEqual(picking.tracking_state, "delivered")
        self.assertEqual(picking.delivery_state_at, at(3).replace(tzinfo=None))
        self.assertEqual(picking.date_delivered, at(3).replace(tzinfo=None))
        self.assertEqual(picking.delivery_estimated_at, at(30).replace(tzinfo=None))
        history = picking.tracking_event_ids
        self.assertEqual(
            history.mapped("tracking_state"),
            ["delivered", "out_for_delivery", "in_transit", "pre_transit"],
            "newest first",
        )
        self.assertEqual(history[0].location, "Chicago, IL, US")
        self.assertEqual(history[0].description, "Delivered")
        self.assertEqual(set(history.mapped("outcome")), {"applied"})
        line = picking.tracking_line_ids
        self.assertEqual(len(line), 1)
        self.assertEqual(line.tracker_ref, "trk_a")
        self.assertEqual(
            self.env["integration.binding"]._find_record(
                self.easypost, "integration.tracking.line", "trk_a"
            ),
            line,
        )
        self.assertEqual(len(self.delivered_events(picking)), 1)
        # a chatter message for the significant change only (the delivery);
        # progress in transit is in the history
        notes = picking.message_ids.filtered(lambda m: "USPS:" in (m.body or ""))
        self.assertEqual(len(notes), 1)
        self.assertIn("Customer delivered", notes.body)

    def test_duplicates_and_reordering_keep_the_furthest_state(self):
        picking = self.make_picking("9400B", carrier=self.carrier)
        events = [
            self.event("trk_b", "9400B", status, n)
            for n, status in enumerate(sim.EASYPOST_JOURNEY)
        ]
        # delivered first, then the rest late, each twice
        for payload in [
            events[3],
            events[3],
            events[1],
            events[0],
            events[2],
            events[1],
        ]:
            message = self.receive(self.easypost, payload)
            self.assertIn(message.state, ("done",), message.last_error)
        self.assertEqual(picking.delivery_state, "customer_delivered")
        self.assertEqual(picking.tracking_state, "delivered")
        history = picking.tracking_event_ids
        self.assertEqual(len(history), 4, "a duplicate is recorded once")
        self.assertEqual(history[0].tracking_state, "delivered")
        self.assertEqual(set(history[1:].mapped("outcome")), {"refused"})
        # the same tracking event again under a new event id
        self.receive(self.easypost, dict(events[1], id="evt_again"))
        self.assertEqual(len(picking.tracking_event_ids), 4)
        self.assertEqual(len(self.delivered_events(picking)), 1)

    def test_refused_regression_is_recorded(self):
        picking = self.make_picking("9400C", carrier=self.carrier)
        self.receive(self.easypost, self.event("trk_c", "9400C", "delivered", 1))
        self.receive(self.easypost, self.event("trk_c", "9400C", "in_transit", 2))
        self.assertEqual(picking.delivery_state, "customer_delivered")
        refused = picking.tracking_event_ids[0]
        self.assertEqual(refused.tracking_state, "in_transit")
        self.assertEqual(refused.outcome, "refused")

    def test_return_after_delivery_is_an_incidence(self):
        picking = self.make_picking("9400D", carrier=self.carrier)
        self.receive(self.easypost, self.event("trk_d", "9400D", "delivered", 1))
        self.receive(self.easypost, self.event("trk_d", "9400D", "return_to_sender", 2))
        self.assertEqual(picking.delivery_state, "incidence")
        self.receive(self.easypost, self.event("trk_d", "9400D", "failure", 3))
        activities = picking.activity_ids.filtered(
            lambda a: a.summary == "Delivery incidence"
        )
        self.assertEqual(len(activities), 1, "one activity per picking")
        self.assertIn("return_to_sender", activities.note)

    def test_reused_tracking_code_resolved_by_tracker_id(self):
        old = self.make_picking("9400REUSED", carrier=self.carrier)
        self.receive(self.easypost, self.event("trk_old", "9400REUSED", "delivered", 1))
        self.assertEqual(old.delivery_state, "customer_delivered")
        new = self.make_picking("9400REUSED", carrier=self.carrier)
        self.receive(
            self.easypost, self.event("trk_new", "9400REUSED", "in_transit", 5)
        )
        self.assertEqual(new.delivery_state, "in_transit")
        self.assertEqual(new.tracking_line_ids.tracker_ref, "trk_new")
        # a late event of the old tracker still finds the old picking
        self.receive(
            self.easypost,
            self.event(
                "trk_old", "9400REUSED", "delivered", 2, status_detail="left_at_door"
            ),
        )
        self.assertEqual(old.tracking_event_ids[0].tracking_substate, "left_at_door")
        self.assertEqual(len(new.tracking_event_ids), 1)
        self.assertEqual(new.delivery_state, "in_transit")

    def test_old_pickings_and_other_carriers_are_not_matched(self):
        old = self.make_picking("9400OLD", carrier=self.carrier)
        self.env.cr.execute(
            "UPDATE stock_picking SET create_date = now() - interval '200 days' "
            "WHERE id = %s",
            (old.id,),
        )
        old.invalidate_recordset(["create_date"])
        other_carrier = self.make_picking("9400OTHER")
        for code in ("9400OLD", "9400OTHER"):
            message = self.receive(
                self.easypost, self.event(f"trk_{code}", code, "in_transit", 1)
            )
            self.assertEqual(message.state, "failed")
            self.assertIn("waiting for dependency", message.last_error)
        self.assertFalse(old.delivery_state or other_carrier.delivery_state)

    def test_multi_parcel_picking_delivered_when_every_parcel_is(self):
        picking = self.make_picking("9400P1,9400P2", carrier=self.carrier)
        self.receive(self.easypost, self.event("trk_p1", "9400P1", "delivered", 1))
        self.assertEqual(len(picking.tracking_line_ids), 2)
        self.assertNotEqual(picking.delivery_state, "customer_delivered")
        self.assertFalse(self.delivered_events(picking))
        self.receive(self.easypost, self.event("trk_p2", "9400P2", "in_transit", 2))
        self.assertEqual(picking.delivery_state, "in_transit")
        self.receive(self.easypost, self.event("trk_p2", "9400P2", "delivered", 3))
        self.assertEqual(picking.delivery_state, "customer_delivered")
        self.assertEqual(
            set(picking.tracking_line_ids.mapped("delivery_state")),
            {"customer_delivered"},
        )
        self.assertEqual(len(self.delivered_events(picking)), 1)

    def test_aftership_journey(self):
        picking = self.make_picking("1ZAS1")
        for payload in sim.journey("aftership", "as_1", "1ZAS1", start=at(0)):
            message = self.receive(self.aftership, payload)
            self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(picking.delivery_state, "customer_delivered")
        self.assertEqual(picking.tracking_state, "Delivered")
        self.assertEqual(picking.tracking_substate, "Delivered_001")
        self.assertEqual(picking.tracking_line_ids.tracker_ref, "as_1")
        attempt = sim.aftership_tracking_update("as_1", "1ZAS1", "AttemptFail", at(1))
        self.assertEqual(self.receive(self.aftership, attempt).state, "done")
        self.assertEqual(picking.delivery_state, "customer_delivered")

    def test_unmappable_event_is_dead(self):
        payload = {
            "id": "evt_bad",
            "description": "tracker.updated",
            "result": {"id": "trk"},
        }
        message = self.receive(self.easypost, payload)
        self.assertEqual(message.state, "dead")
        self.assertIn("payload cannot be mapped", message.last_error)

    def test_picking_form_shows_tracking_and_request(self):
        arch = self.env["stock.picking"].get_views([(False, "form")])["views"]["form"][
            "arch"
        ]
        for name in (
            "delivery_state",
            "tracking_state",
            "delivery_estimated_at",
            "tracking_event_ids",
            "carrier_request_state",
            "label_attachment_id",
        ):
            self.assertIn(f'name="{name}"', arch)
