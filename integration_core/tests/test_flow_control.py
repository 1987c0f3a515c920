import unittest
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from odoo.addons.integration_core import flow_control as fc
from odoo.addons.integration_core import http_client


class TestHttpClassification(unittest.TestCase):
    def test_classes(self):
        self.assertEqual(http_client.classify_status(200), http_client.SUCCESS)
        self.assertEqual(http_client.classify_status(204), http_client.SUCCESS)
        for status in (408, 425, 500, 502, 503, 504):
            self.assertEqual(http_client.classify_status(status), http_client.RETRY)
        self.assertEqual(http_client.classify_status(429), http_client.THROTTLED)
        for status in (400, 401, 403, 404, 409, 422):
            self.assertEqual(http_client.classify_status(status), http_client.PERMANENT)

    def test_retry_after_seconds_and_date(self):
        self.assertEqual(http_client.parse_retry_after("2"), 2.0)
        self.assertEqual(http_client.parse_retry_after(" 1.5 "), 1.5)
        self.assertIsNone(http_client.parse_retry_after(None))
        self.assertIsNone(http_client.parse_retry_after("soon"))
        now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
        date = format_datetime(now + timedelta(seconds=90), usegmt=True)
        self.assertEqual(http_client.parse_retry_after(date, now=now), 90.0)
        past = format_datetime(now - timedelta(seconds=90), usegmt=True)
        self.assertEqual(http_client.parse_retry_after(past, now=now), 0.0)

    def test_build_url(self):
        self.assertEqual(
            http_client.build_url("http://h/api/", "/stock"), "http://h/api/stock"
        )
        self.assertEqual(http_client.build_url(None, "https://x/y"), "https://x/y")
        with self.assertRaises(ValueError):
            http_client.build_url(None, "stock")


class TestTokenBucket(unittest.TestCase):
    def test_burst_then_paced(self):
        tokens, at = None, None
        waits = []
        for _ in range(4):
            tokens, at, wait, granted = fc.take_token(tokens, at, 100.0, 5, 2, 10)
            self.assertTrue(granted)
            waits.append(round(wait, 3))
        interval = 1 / (5 * fc.PACING_HEADROOM)
        self.assertEqual(waits[:2], [0.0, 0.0])
        self.assertAlmostEqual(waits[2], interval, places=3)
        self.assertAlmostEqual(waits[3], 2 * interval, places=3)

    def test_refill_capped_at_burst(self):
        tokens, at, wait, _granted = fc.take_token(-3.0, 0.0, 1000.0, 5, 3, 10)
        self.assertEqual((tokens, wait), (2.0, 0.0))

    def test_wait_too_long_not_reserved(self):
        tokens, _at, wait, granted = fc.take_token(-10.0, 100.0, 100.0, 1, 1, 5)
        self.assertFalse(granted)
        self.assertEqual(tokens, -10.0)
        self.assertAlmostEqual(wait, 11 / fc.PACING_HEADROOM, places=3)

    def test_intake_limit_per_minute_without_headroom(self):
        """The intake limit: a bucket of N refilled evenly over a minute."""
        tokens, at = None, None
        granted = []
        for _ in range(4):
            tokens, at, wait, ok = fc.take_token(tokens, at, 0.0, 3 / 60, 3, 0.0, 1.0)
            granted.append(ok)
        self.assertEqual(granted, [True, True, True, False])
        self.assertAlmostEqual(wait, 20.0)
        # 20 s later exactly one more is accepted
        tokens, at, _wait, ok = fc.take_token(tokens, at, 20.0, 3 / 60, 3, 0.0, 1.0)
        self.assertTrue(ok)


class TestCircuit(unittest.TestCase):
    def test_opens_after_threshold(self):
        state, failures = fc.CLOSED, 0
        for _ in range(2):
            state, failures, until = fc.circuit_record(
                state, failures, False, 10, 3, 60
            )
            self.assertEqual(state, fc.CLOSED)
        state, failures, until = fc.circuit_record(state, failures, False, 10, 3, 60)
        self.assertEqual((state, failures, until), (fc.OPEN, 3, 70))

    def test_open_waits_then_one_probe(self):
        self.assertEqual(fc.circuit_admit(fc.OPEN, 70, None, 50, 40), ("wait", 20))
        self.assertEqual(fc.circuit_admit(fc.OPEN, 70, None, 70, 40), ("probe", 0.0))
        # a probe in flight: others wait
        decision, _retry = fc.circuit_admit(fc.HALF_OPEN, 70, 71, 72, 40)
        self.assertEqual(decision, "wait")
        # the probe died without an answer: another one may try
        self.assertEqual(
            fc.circuit_admit(fc.HALF_OPEN, 70, 71, 112, 40), ("probe", 0.0)
        )

    def test_probe_outcome(self):
        self.assertEqual(
            fc.circuit_record(fc.HALF_OPEN, 3, True, 80, 3, 60), (fc.CLOSED, 0, None)
        )
        self.assertEqual(
            fc.circuit_record(fc.HALF_OPEN, 3, False, 80, 3, 60), (fc.OPEN, 4, 140)
        )

    def test_threshold_zero_never_opens(self):
        self.assertEqual(
            fc.circuit_record(fc.CLOSED, 99, False, 0, 0, 60), (fc.CLOSED, 100, None)
        )
