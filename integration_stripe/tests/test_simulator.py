import unittest

import requests

from odoo.addons.integration_stripe import signature

from . import stripe_simulator as sim


class TestSimulator(unittest.TestCase):
    """The Stripe stand-in other tests, the demo and the benchmark rely on."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stripe = sim.StripeSimulator(api_key="sk_test_sim").start()
        cls.addClassCleanup(cls.stripe.stop)
        cls.session = requests.Session()
        cls.session.headers["Authorization"] = "Bearer sk_test_sim"

    def get(self, path, **params):
        return self.session.get(self.stripe.url + path, params=params, timeout=5)

    def test_signs_like_stripe_with_every_secret(self):
        body = b'{"id": "evt_1"}'
        header = sim.sign(["whsec_a", "whsec_b"], body, 1700000000)
        self.assertEqual(header.count("v1="), 2)
        for secret in ("whsec_a", "whsec_b"):
            signature.verify(body, header, [secret], now=1700000000)

    def test_sender_duplicates_and_reorders(self):
        sender = sim.WebhookSender(
            "http://127.0.0.1:9", "whsec_a", duplicates=1.0, reorder=4
        )
        events = [{"id": f"evt_{i}"} for i in range(8)]
        delivered = sender.shuffled(events)
        self.assertEqual(len(delivered), 16)
        self.assertEqual(
            sorted(e["id"] for e in delivered[::2]), sorted(e["id"] for e in events)
        )
        self.assertNotEqual(
            [e["id"] for e in delivered[::2]], [e["id"] for e in events]
        )

    def test_balance_transactions_paginate_and_can_be_held(self):
        for _i in range(3):
            self.stripe.create_payment("2.00")
        payout = self.stripe.create_payout()
        first = self.get(
            "/v1/balance_transactions", payout=payout["id"], limit=2
        ).json()
        self.assertTrue(first["has_more"])
        rest = self.get(
            "/v1/balance_transactions",
            payout=payout["id"],
            limit=2,
            starting_after=first["data"][-1]["id"],
        ).json()
        self.assertFalse(rest["has_more"])
        # 3 charges and the payout's own transaction
        self.assertEqual(len(first["data"]) + len(rest["data"]), 4)
        txn = first["data"][0]["id"]
        self.stripe.hold_balance_transactions(txn)
        self.assertEqual(self.get(f"/v1/balance_transactions/{txn}").status_code, 404)
        self.stripe.release_balance_transactions()
        self.assertEqual(self.get(f"/v1/balance_transactions/{txn}").json()["id"], txn)
        self.assertEqual(self.get("/v1/balance").status_code, 200)

    def test_refunds_are_idempotent_and_throttling_says_when(self):
        intent = self.stripe.create_payment("9.00")
        url = self.stripe.url + "/v1/refunds"
        headers = {"Idempotency-Key": "key-1"}
        body = {"payment_intent": intent["id"], "amount": "300"}
        first = self.session.post(url, data=body, headers=headers, timeout=5)
        again = self.session.post(url, data=body, headers=headers, timeout=5)
        self.assertEqual(first.json()["id"], again.json()["id"])
        self.assertEqual(again.headers["Idempotent-Replayed"], "true")
        other = self.session.post(
            url, data=dict(body, amount="100"), headers=headers, timeout=5
        )
        self.assertEqual(other.status_code, 400)
        self.assertEqual(other.json()["error"]["type"], "idempotency_error")
        self.stripe.throttle(1, retry_after=2)
        throttled = self.get("/v1/balance")
        self.assertEqual(throttled.status_code, 429)
        self.assertEqual(throttled.headers["Retry-After"], "2")
        # the ledger of what it received
        self.assertEqual(self.stripe.requests[-1].path, "/v1/balance")
        unauthorized = requests.get(self.stripe.url + "/v1/balance", timeout=5)
        self.assertEqual(unauthorized.status_code, 401)
