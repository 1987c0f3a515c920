import random
import unittest

from odoo.addons.integration_core.backoff import (
    CONFLICT_MAX_DELAY,
    backoff_bounds,
    backoff_delay,
    conflict_delay,
)


class TestBackoff(unittest.TestCase):
    def test_exponential_growth(self):
        delays = [backoff_delay(n, 30, 2.0, 3600) for n in range(1, 6)]
        self.assertEqual(delays, [30, 60, 120, 240, 480])

    def test_capped_at_max_delay(self):
        self.assertEqual(backoff_delay(20, 30, 2.0, 3600), 3600)

    def test_jitter_within_bounds(self):
        rng = random.Random(42)
        low, high = backoff_bounds(3, 30, 2.0, 3600, 0.1)
        self.assertEqual((round(low), round(high)), (108, 132))
        samples = [backoff_delay(3, 30, 2.0, 3600, 0.1, rng=rng) for _ in range(500)]
        self.assertTrue(all(low <= s <= high for s in samples))
        self.assertGreater(max(samples) - min(samples), 10, "jitter spreads delays")

    def test_attempt_below_one_is_first(self):
        self.assertEqual(backoff_delay(0, 30, 2.0, 3600), 30)

    def test_conflict_delay_within_two_seconds_and_spread(self):
        rng = random.Random(7)
        first = [conflict_delay(1, rng=rng) for _ in range(200)]
        later = [conflict_delay(n, rng=rng) for n in range(2, 10) for _ in range(50)]
        self.assertTrue(all(0.5 <= d <= 1.0 for d in first))
        self.assertTrue(all(1.0 <= d <= CONFLICT_MAX_DELAY for d in later))
        self.assertGreater(max(first) - min(first), 0.3, "jitter spreads retries")
