from datetime import UTC, datetime

from odoo.tests import BaseCase, tagged

from odoo.addons.integration_core import canonical, delivery_state

from .. import mapping
from . import carrier_simulator as sim

AT = datetime(2026, 3, 15, 6, 40, tzinfo=UTC)

EASYPOST_EXPECTED = {
    "unknown": "no_update",
    "pre_transit": "shipping_recorded_in_carrier",
    "in_transit": "in_transit",
    "out_for_delivery": "in_transit",
    "delivered": "customer_delivered",
    "available_for_pickup": "warehouse_delivered",
    "return_to_sender": "incidence",
    "failure": "incidence",
    "cancelled": "canceled_shipment",
    "error": "incidence",
}
AFTERSHIP_EXPECTED = {
    "Pending": "shipping_recorded_in_carrier",
    "InfoReceived": "shipping_recorded_in_carrier",
    "InTransit": "in_transit",
    "OutForDelivery": "in_transit",
    "AttemptFail": "incidence",
    "Delivered": "customer_delivered",
    "AvailableForPickup": "warehouse_delivered",
    "Exception": "incidence",
    "Expired": "no_update",
}


@tagged("post_install", "-at_install")
class TestStatusMapping(BaseCase):
    def test_easypost_statuses(self):
        self.assertEqual(set(mapping.EASYPOST_STATUSES), set(EASYPOST_EXPECTED))
        for raw, state in EASYPOST_EXPECTED.items():
            with self.subTest(raw):
                self.assertEqual(mapping.delivery_state("easypost", raw), state)
                document = mapping.easypost_event(
                    sim.easypost_tracker_event("trk_1", "9400", raw, AT)
                )
                canonical.validate("shipment.event", document)
                self.assertEqual(document["raw_status"], raw)
                self.assertEqual(delivery_state.state_of(document["status"]), state)

    def test_aftership_tags(self):
        self.assertEqual(set(mapping.AFTERSHIP_TAGS), set(AFTERSHIP_EXPECTED))
        for raw, state in AFTERSHIP_EXPECTED.items():
            with self.subTest(raw):
                self.assertEqual(mapping.delivery_state("aftership", raw), state)
                document = mapping.aftership_event(
                    sim.aftership_tracking_update("as_1", "1Z999", raw, AT)
                )
                canonical.validate("shipment.event", document)
                self.assertEqual(document["raw_substatus"], f"{raw}_001")
                self.assertEqual(delivery_state.state_of(document["status"]), state)

    def test_unknown_status_means_no_update(self):
        self.assertEqual(mapping.delivery_state("easypost", "teleported"), "no_update")
        self.assertEqual(mapping.delivery_state("aftership", "Teleported"), "no_update")

    def test_table_is_overridable(self):
        table = dict(mapping.AFTERSHIP_TAGS, Expired="exception")
        self.assertEqual(
            mapping.delivery_state("aftership", "Expired", table), "incidence"
        )
        document = mapping.aftership_event(
            sim.aftership_tracking_update("as_1", "1Z999", "Expired", AT), table=table
        )
        self.assertEqual(document["status"], "exception")

    def test_easypost_event_document(self):
        payload = sim.easypost_tracker_event(
            "trk_9",
            "9400111",
            "in_transit",
            AT,
            message="Departed USPS facility",
            est_delivery=AT.replace(day=17),
        )
        document = canonical.validate("shipment.event", mapping.easypost_event(payload))
        self.assertEqual(document["tracking_number"], "9400111")
        self.assertEqual(document["tracker_id"], "trk_9")
        self.assertEqual(document["occurred_at"], "2026-03-15T06:40:00+00:00")
        self.assertEqual(document["estimated_delivery"], "2026-03-17T06:40:00+00:00")
        self.assertEqual(document["description"], "Departed USPS facility")
        self.assertEqual(document["location"]["city"], "Chicago")
        self.assertEqual(document["location"]["country_code"], "US")
        self.assertEqual(mapping.tracker_id("easypost", payload), "trk_9")
        self.assertEqual(mapping.event_id("easypost", payload), payload["id"])
        self.assertEqual(mapping.topic("easypost", payload), "tracker.updated")

    def test_aftership_event_document(self):
        payload = sim.aftership_tracking_update("as_7", "1Z7", "InTransit", AT)
        document = canonical.validate(
            "shipment.event", mapping.aftership_event(payload)
        )
        self.assertEqual(document["tracker_id"], "as_7")
        self.assertEqual(document["carrier"], "ups")
        self.assertEqual(mapping.event_id("aftership", payload), payload["event_id"])
        self.assertEqual(mapping.topic("aftership", payload), "tracking_update")

    def test_not_a_tracker_fails(self):
        with self.assertRaises(ValueError):
            mapping.easypost_event(
                {"id": "evt", "created_at": "x", "result": {"object": "Batch"}}
            )
        with self.assertRaises(KeyError):
            mapping.aftership_event({"event": "tracking_update"})


@tagged("post_install", "-at_install")
class TestShipmentCalls(BaseCase):
    def test_choose_rate_by_service_else_cheapest(self):
        shipment = {
            "id": "shp_1",
            "rates": [
                {"id": "a", "service": "Priority", "carrier": "USPS", "rate": "7.58"},
                {"id": "b", "service": "Ground", "carrier": "USPS", "rate": "5.20"},
            ],
        }
        self.assertEqual(mapping.choose_rate(shipment, "Priority")["id"], "a")
        self.assertEqual(mapping.choose_rate(shipment)["id"], "b")
        self.assertEqual(mapping.choose_rate(shipment, "Express")["id"], "b")
        with self.assertRaises(ValueError):
            mapping.choose_rate({"id": "shp_2", "rates": []})

    def test_read_purchase_needs_a_label(self):
        with self.assertRaises(ValueError):
            mapping.read_purchase({"id": "shp_1", "tracking_code": None})

    def test_simulator_label_is_a_pdf(self):
        pdf = sim.minimal_pdf("USPS 9400 (test)")
        self.assertTrue(pdf.startswith(b"%PDF-1.4"))
        self.assertTrue(pdf.rstrip().endswith(b"%%EOF"))
        self.assertIn(b"startxref", pdf)
