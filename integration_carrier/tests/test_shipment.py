import time
from datetime import UTC, datetime

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import LocalServerMixin, process

from . import carrier_simulator as sim
from .common import API_KEY, CarrierCase

SHIPPED_EMAIL = "your order has been shipped"


@tagged("post_install", "-at_install")
class TestShipment(LocalServerMixin, CarrierCase):
    def setUp(self):
        super().setUp()
        self.sim = sim.CarrierSimulator(api_key=API_KEY).start()
        self.addCleanup(self.sim.stop)
        self.easypost.write(
            {"api_base_url": self.sim.url, "read_timeout": 2.0, "connect_timeout": 1.0}
        )
        self.env.company.stock_move_email_validation = True

    def outbox(self, picking, topic=None):
        domain = [("res_model", "=", "stock.picking"), ("res_id", "=", picking.id)]
        if topic:
            domain.append(("topic", "=", topic))
        return self.env["integration.outbox.message"].search(domain, order="id")

    def send_chain(self, picking):
        """Send the picking's waiting messages, and the ones their answers queue,
        like the job runner (a retry is run at once)."""
        outcomes = []
        for _round in range(10):
            todo = self.outbox(picking).filtered(
                lambda m: m.state in ("pending", "failed")
            )
            if not todo:
                break
            for message in todo:
                message.next_attempt_at = False
                outcomes.append((message.topic, process(message)))
        self.env.invalidate_all()
        return outcomes

    def shipped_emails(self, picking):
        return picking.message_ids.filtered(lambda m: SHIPPED_EMAIL in (m.body or ""))

    def test_label_tracking_number_and_link(self):
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        self.assertEqual(picking.state, "done")
        self.assertFalse(self.sim.ledger, "the validation calls nobody")
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertFalse(self.shipped_emails(picking), "the email waits for tracking")
        create = self.outbox(picking)
        self.assertEqual(create.topic, "shipment/create")
        self.assertEqual(create.idempotency_key, f"shipment:{picking.id}:0")
        self.assertEqual(picking.carrier_request_state, "pending")
        # validating again (a replayed call) requests nothing more
        picking.send_to_shipper()
        self.assertEqual(self.outbox(picking), create)

        outcomes = self.send_chain(picking)
        self.assertEqual(
            outcomes,
            [
                ("shipment/create", "sent"),
                ("shipment/buy", "sent"),
                ("shipment/label", "sent"),
            ],
        )
        shipment = next(iter(self.sim.shipments.values()))
        self.assertEqual(shipment["selected_rate"]["service"], "Priority")
        self.assertEqual(shipment["parcel"]["weight"], 17.6)
        self.assertEqual(picking.carrier_tracking_ref, shipment["tracking_code"])
        self.assertEqual(
            picking.carrier_tracking_url, shipment["tracker"]["public_url"]
        )
        line = picking.tracking_line_ids
        self.assertEqual(line.label_state, "done")
        self.assertEqual(line.tracker_ref, shipment["tracker"]["id"])
        label = line.label_attachment_id
        self.assertEqual(
            label.name, f"LabelShipping-integration-{shipment['tracking_code']}.pdf"
        )
        self.assertEqual((label.res_model, label.res_id), ("stock.picking", picking.id))
        self.assertTrue(label.raw.startswith(b"%PDF-"))
        self.assertEqual(picking.carrier_request_state, "done")
        self.assertEqual(
            self.outbox(picking, "shipment/label").response_body[:5], "<PDF,"
        )
        email = self.shipped_emails(picking)
        self.assertEqual(len(email), 1)
        self.assertIn(shipment["tracker"]["public_url"], email.body)
        # the carrier's tracker events find the parcel by its tracker id
        self.receive(
            self.easypost,
            sim.easypost_tracker_event(
                shipment["tracker"]["id"],
                shipment["tracking_code"],
                "in_transit",
                datetime.now(UTC),
            ),
        )
        self.assertEqual(picking.delivery_state, "in_transit")

    def test_carrier_down_validates_at_once_and_labels_after_recovery(self):
        self.sim.set_mode(sim.OUTAGE)
        self.sim.outage_retry_after = None
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        self.assertEqual(picking.state, "done")
        create = self.outbox(picking)
        self.assertEqual(process(create), "failed")
        self.assertEqual(create.response_status, 503)
        self.assertTrue(create.next_attempt_at, "retried by policy")
        picking.invalidate_recordset()
        self.assertEqual(picking.carrier_request_state, "failed")
        self.assertIn("503", picking.carrier_request_error)
        self.sim.set_mode(sim.NORMAL)
        # Odoo's Send to Shipper retries it at once
        picking.send_to_shipper()
        self.assertEqual(create.state, "pending")
        self.send_chain(picking)
        self.assertEqual(create.state, "sent")
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertEqual(picking.tracking_line_ids.label_state, "done")
        self.assertTrue(picking.tracking_line_ids.label_attachment_id)

    def test_slow_carrier_does_not_hold_the_validation(self):
        self.sim.set_mode(sim.SLOW)
        self.easypost.read_timeout = 0.3
        picking = self.make_picking(carrier=self.carrier)
        start = time.monotonic()
        self.validate(picking)
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(picking.state, "done")
        self.assertFalse(self.sim.ledger)
        create = self.outbox(picking)
        self.assertEqual(process(create), "failed")
        self.assertIn("timeout", create.last_error)
        self.sim.set_mode(sim.NORMAL)
        self.easypost.read_timeout = 2.0
        self.send_chain(picking)
        self.assertEqual(picking.tracking_line_ids.label_state, "done")

    def test_cancel_before_the_label_was_bought(self):
        self.sim.set_mode(sim.OUTAGE)
        self.sim.outage_retry_after = None
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        create = self.outbox(picking)
        self.assertEqual(process(create), "failed")
        picking.cancel_shipment()
        self.assertEqual(create.state, "cancelled")
        self.assertEqual(picking.tracking_line_ids.label_state, "cancelled")
        self.sim.set_mode(sim.NORMAL)
        self.assertEqual(self.send_chain(picking), [])
        self.assertFalse(self.sim.shipments)

    def test_cancel_while_the_label_is_being_bought(self):
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        self.assertEqual(process(self.outbox(picking, "shipment/create")), "sent")
        buy = self.outbox(picking, "shipment/buy")
        # the buy call is on its way when the user cancels: its answer refunds
        picking.tracking_line_ids.label_state = "cancelled"
        self.assertEqual(process(buy), "sent")
        refund = self.outbox(picking, "shipment/refund")
        self.assertEqual(process(refund), "sent")
        self.assertFalse(self.outbox(picking, "shipment/label"))
        self.assertEqual(
            next(iter(self.sim.shipments.values()))["refund_status"], "submitted"
        )

    def test_cancel_after_the_label_was_bought(self):
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        self.send_chain(picking)
        number = picking.carrier_tracking_ref
        self.assertTrue(number)
        picking.cancel_shipment()
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertEqual(picking.tracking_line_ids.label_state, "cancelling")
        refund = self.outbox(picking, "shipment/refund")
        self.assertEqual(process(refund), "sent", refund.last_error)
        self.assertEqual(picking.tracking_line_ids.label_state, "cancelled")
        shipment = next(iter(self.sim.shipments.values()))
        self.assertEqual(shipment["refund_status"], "submitted")
        self.assertEqual(
            [e["path"].rsplit("/", 1)[-1] for e in self.sim.received("POST")],
            ["shipments", "buy", "refund"],
        )
        # shipped again after all: a new request, a new label
        picking.send_to_shipper()
        self.assertEqual(
            self.outbox(picking, "shipment/create")[-1].idempotency_key,
            f"shipment:{picking.id}:0:1",
        )
        self.send_chain(picking)
        self.assertEqual(len(picking.tracking_line_ids), 2)
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertNotEqual(picking.carrier_tracking_ref, number)

    def test_buy_retried_after_a_lost_answer_reads_the_shipment(self):
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        process(self.outbox(picking, "shipment/create"))
        buy = self.outbox(picking, "shipment/buy")
        shipment_id = buy.payload["shipment_id"]
        # bought at the carrier, but the answer never came back
        status, _body = self.sim._buy(
            self.sim.shipments[shipment_id], buy.payload["rate_id"]
        )
        self.assertEqual(status, 200)
        buy.attempt_count = 1
        self.assertEqual(process(buy), "sent", buy.last_error)
        self.assertEqual(
            picking.carrier_tracking_ref,
            self.sim.shipments[shipment_id]["tracking_code"],
        )

    def test_wrong_api_key_is_dead(self):
        self.easypost.carrier_api_key = "wrong"
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        create = self.outbox(picking)
        self.assertEqual(process(create), "dead")
        self.assertEqual(create.response_status, 401)
        picking.invalidate_recordset()
        self.assertEqual(picking.carrier_request_state, "dead")

    def test_one_shipment_per_package(self):
        picking = self.make_picking(carrier=self.carrier, qty=2)
        self.env["stock.quant"]._update_available_quantity(
            self.product, self.warehouse.lot_stock_id, 2
        )
        picking.action_confirm()
        picking.action_assign()
        first = picking.move_line_ids
        first.quantity = 1
        second = first.copy({"quantity": 1, "picking_id": picking.id})
        packages = self.env["stock.quant.package"].create(
            [{"name": "PACK-A"}, {"name": "PACK-B"}]
        )
        first.result_package_id = packages[0]
        second.result_package_id = packages[1]
        picking.move_ids.picked = True
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        creates = self.outbox(picking, "shipment/create")
        self.assertEqual(
            sorted(creates.mapped("idempotency_key")),
            sorted(f"shipment:{picking.id}:{package.id}" for package in packages),
        )
        self.send_chain(picking)
        lines = picking.tracking_line_ids
        self.assertEqual(len(lines), 2)
        self.assertEqual(set(lines.mapped("label_state")), {"done"})
        self.assertEqual(
            picking.carrier_tracking_ref.split(","), lines.mapped("tracking_number")
        )
        links = picking.get_multiple_carrier_tracking()
        self.assertEqual(
            [number for number, _url in links], lines.mapped("tracking_number")
        )
        self.assertEqual(len(self.shipped_emails(picking)), 1)
        # delivered when both parcels are
        for line in lines:
            self.assertNotEqual(picking.delivery_state, "customer_delivered")
            self.receive(
                self.easypost,
                sim.easypost_tracker_event(
                    line.tracker_ref,
                    line.tracking_number,
                    "delivered",
                    datetime.now(UTC),
                ),
            )
        self.assertEqual(picking.delivery_state, "customer_delivered")

    def test_warehouse_user_ships_and_cancels(self):
        user = self.env["res.users"].create(
            {
                "name": "Warehouse clerk",
                "login": "carrier-clerk",
                "email": "clerk@example.com",
                "groups_id": [(6, 0, [self.env.ref("stock.group_stock_user").id])],
            }
        )
        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking.with_user(user))
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.with_user(user).carrier_request_state, "pending")
        self.send_chain(picking)
        picking.with_user(user).cancel_shipment()
        self.assertEqual(picking.tracking_line_ids.label_state, "cancelling")

    def test_carrier_reusing_a_tracking_code(self):
        first = self.make_picking(carrier=self.carrier)
        self.validate(first)
        self.send_chain(first)
        code = first.carrier_tracking_ref
        self.sim.reuse_tracking_code(code)
        second = self.make_picking(carrier=self.carrier)
        self.validate(second)
        self.send_chain(second)
        self.assertEqual(second.carrier_tracking_ref, code)
        trackers = [p.tracking_line_ids.tracker_ref for p in (first, second)]
        self.assertNotEqual(trackers[0], trackers[1])
        now = datetime.now(UTC)
        self.receive(
            self.easypost,
            sim.easypost_tracker_event(trackers[1], code, "in_transit", now),
        )
        self.receive(
            self.easypost,
            sim.easypost_tracker_event(trackers[0], code, "delivered", now),
        )
        self.assertEqual(first.delivery_state, "customer_delivered")
        self.assertEqual(second.delivery_state, "in_transit")

    def test_tracked_event_once_the_label_gives_the_number(self):
        """Validated before the carrier answers: the picking awaits its
        tracking number, and ``picking.tracked`` says when it has it, once."""

        def events(topic):
            return self.env["integration.event"].search(
                [
                    ("topic", "=", topic),
                    ("res_model", "=", "stock.picking"),
                    ("res_id", "=", picking.id),
                ]
            )

        picking = self.make_picking(carrier=self.carrier)
        self.validate(picking)
        self.assertTrue(picking._integration_awaits_tracking())
        self.assertEqual(len(events("picking.done")), 1)
        self.assertFalse(events("picking.tracked"))
        self.send_chain(picking)
        self.assertFalse(picking._integration_awaits_tracking())
        tracked = events("picking.tracked")
        self.assertEqual(len(tracked), 1)
        self.assertEqual(
            tracked.payload["tracking_number"], picking.carrier_tracking_ref
        )
        # a picking shipped another way never waits
        other = self.make_picking(tracking_ref="TRK-OWN", validate=True)
        self.assertFalse(other._integration_awaits_tracking())
