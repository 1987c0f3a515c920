"""Retry delay computation: capped exponential backoff with proportional jitter."""

import random


def backoff_delay(
    attempt, initial_delay, backoff_factor, max_delay, jitter=0.0, rng=random
):
    """Return the delay in seconds before retry number ``attempt`` (1-based).

    The nominal delay is ``initial_delay * backoff_factor ** (attempt - 1)`` capped
    at ``max_delay``; ``jitter`` (0.1 = +/-10%) spreads retries of a burst so they do
    not all hit the provider at the same second. The jittered value never exceeds
    ``max_delay * (1 + jitter)`` and is never negative.
    """
    attempt = max(int(attempt), 1)
    nominal = float(initial_delay) * float(backoff_factor) ** (attempt - 1)
    nominal = min(nominal, float(max_delay))
    if jitter:
        nominal *= 1.0 + rng.uniform(-jitter, jitter)
    return max(nominal, 0.0)


def backoff_bounds(attempt, initial_delay, backoff_factor, max_delay, jitter=0.0):
    """Return the (lowest, highest) delay ``backoff_delay`` can give for ``attempt``."""
    nominal = backoff_delay(attempt, initial_delay, backoff_factor, max_delay)
    return nominal * (1.0 - jitter), nominal * (1.0 + jitter)


# Lock and serialization conflicts clear as soon as the other transaction ends:
# they are retried this soon, whatever the retry policy says.
CONFLICT_MAX_DELAY = 2.0


def conflict_delay(retry, rng=random):
    """Return the delay in seconds before retry number ``retry`` (1-based) of a
    message that met a concurrent transaction: 0.5 to 1 s the first time, then
    up to ``CONFLICT_MAX_DELAY``. The spread keeps the transactions that met from
    meeting again at the same instant."""
    high = min(max(int(retry), 1), CONFLICT_MAX_DELAY)
    return rng.uniform(high / 2, high)
