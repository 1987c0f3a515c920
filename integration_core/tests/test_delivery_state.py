from datetime import datetime, timedelta

from odoo.tests import BaseCase, tagged

from .. import delivery_state as ds

T0 = datetime(2026, 3, 15, 8, 0)
LATER = T0 + timedelta(hours=2)


@tagged("post_install", "-at_install")
class TestDeliveryState(BaseCase):
    def test_every_canonical_status_has_a_state(self):
        codes = {code for code, _label in ds.DELIVERY_STATES}
        self.assertEqual(set(ds.RANKS), codes)
        for status, state in ds.CANONICAL_STATES.items():
            with self.subTest(status):
                self.assertIn(state, codes)
        self.assertEqual(ds.state_of("teleported"), ds.NO_UPDATE)

    def test_forward_moves_apply_whatever_their_time(self):
        self.assertEqual(ds.decide(False, None, ds.IN_TRANSIT, T0), ds.APPLIED)
        self.assertEqual(
            ds.decide(ds.IN_TRANSIT, LATER, ds.CUSTOMER_DELIVERED, T0), ds.APPLIED
        )

    def test_a_late_in_transit_never_moves_a_delivered_parcel_back(self):
        for when in (T0, LATER):
            self.assertEqual(
                ds.decide(ds.CUSTOMER_DELIVERED, T0, ds.IN_TRANSIT, when), ds.REFUSED
            )

    def test_same_progress_applies_when_newer(self):
        self.assertEqual(ds.decide(ds.IN_TRANSIT, T0, ds.INCIDENCE, LATER), ds.APPLIED)
        self.assertEqual(ds.decide(ds.INCIDENCE, LATER, ds.IN_TRANSIT, T0), ds.STALE)

    def test_explicit_regressions_only(self):
        self.assertEqual(
            ds.decide(ds.CUSTOMER_DELIVERED, T0, ds.INCIDENCE, LATER), ds.APPLIED
        )
        self.assertEqual(
            ds.decide(ds.CUSTOMER_DELIVERED, LATER, ds.INCIDENCE, T0), ds.REFUSED
        )
        # the delivery scan of a parcel already returned arrives late
        self.assertEqual(
            ds.decide(ds.INCIDENCE, LATER, ds.CUSTOMER_DELIVERED, T0), ds.STALE
        )
        self.assertEqual(
            ds.decide(ds.CUSTOMER_DELIVERED, T0, ds.SHIPPING_RECORDED, LATER),
            ds.REFUSED,
        )
        self.assertEqual(ds.decide(ds.IN_TRANSIT, T0, ds.NO_UPDATE, LATER), ds.REFUSED)

    def test_picking_state_from_its_parcels(self):
        self.assertFalse(ds.aggregate([]))
        self.assertEqual(
            ds.aggregate([ds.CUSTOMER_DELIVERED, ds.IN_TRANSIT]), ds.IN_TRANSIT
        )
        self.assertEqual(
            ds.aggregate([ds.CUSTOMER_DELIVERED, ds.CUSTOMER_DELIVERED]),
            ds.CUSTOMER_DELIVERED,
        )
        # a parcel the carrier has not reported on yet keeps the picking open
        self.assertEqual(
            ds.aggregate([ds.CUSTOMER_DELIVERED, False]), ds.SHIPPING_RECORDED
        )
        self.assertEqual(
            ds.aggregate([ds.CUSTOMER_DELIVERED, ds.INCIDENCE]), ds.INCIDENCE
        )
        self.assertEqual(
            ds.aggregate([ds.CANCELED, ds.CUSTOMER_DELIVERED]), ds.CUSTOMER_DELIVERED
        )
        self.assertEqual(ds.aggregate([ds.CANCELED]), ds.CANCELED)
