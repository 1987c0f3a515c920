"""Flow control per backend: outbound token bucket rate limit, provider
throttle and circuit breaker, and the intake rate limit of the webhook route.

The decisions are plain functions (:func:`take_token`, :func:`circuit_admit`,
:func:`circuit_record`); :class:`FlowStore` keeps their state in one row per
backend of ``integration_backend_flow``, read and written under ``SELECT ... FOR
UPDATE`` with the database clock, so every worker of every process shares one
bucket and one circuit. Callers use a short transaction of their own (not the
job's) so the row lock is held for milliseconds and the state is visible to the
other workers at once. The table has no foreign key on purpose: that short
transaction must not wait for the transaction that created the backend.
"""

import math
from collections import namedtuple

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

# Pace slightly below the configured rate: requests leave a few milliseconds
# after their slot, and the provider counts arrivals, not our reservations.
PACING_HEADROOM = 0.98

Admission = namedtuple("Admission", "allowed wait retry_in probe clean reason")


# -- pure decisions ------------------------------------------------------------------
def take_token(
    tokens, refilled_at, now, rate, burst, max_wait, headroom=PACING_HEADROOM
):
    """Reserve one token of a bucket refilled at ``rate`` per second up to ``burst``.

    A call may reserve a token not yet refilled (the bucket goes negative) and
    wait for it, up to ``max_wait`` seconds; later callers queue behind it.
    ``headroom`` scales the rate (outbound calls pace slightly below it).

    :returns: ``(tokens, refilled_at, wait, granted)``; when not granted the
        bucket is unchanged apart from its refill and ``wait`` says how long the
        caller would have to wait
    """
    rate = rate * headroom
    burst = max(burst, 1)
    if tokens is None or refilled_at is None:
        tokens, refilled_at = float(burst), now
    tokens = min(float(burst), tokens + max(now - refilled_at, 0.0) * rate)
    wait = 0.0 if tokens >= 1 else (1.0 - tokens) / rate
    if wait > max_wait:
        return tokens, now, wait, False
    return tokens - 1.0, now, wait, True


def circuit_admit(state, opened_until, probe_started, now, probe_timeout):
    """Whether a call may go out now.

    :returns: ``(decision, retry_in)`` with decision ``"pass"``, ``"probe"`` (the
        one half-open trial call) or ``"wait"``
    """
    if state == OPEN:
        if opened_until is not None and now < opened_until:
            return "wait", opened_until - now
        return "probe", 0.0
    if state == HALF_OPEN:
        if probe_started is not None and now < probe_started + probe_timeout:
            # someone else's probe is in flight: check back soon
            return "wait", min(probe_timeout, 5.0)
        return "probe", 0.0
    return "pass", 0.0


def circuit_record(state, failures, success, now, threshold, cooldown):
    """The circuit after a call; ``success`` False means a failure of the provider.

    :returns: ``(state, failures, opened_until)``
    """
    if success:
        return CLOSED, 0, None
    failures += 1
    if state != CLOSED or (threshold > 0 and failures >= threshold):
        return OPEN, failures, now + cooldown
    return CLOSED, failures, None


# -- shared state ----------------------------------------------------------------------
class FlowStore:
    """The ``integration_backend_flow`` rows, through a cursor the caller commits."""

    TABLE = "integration_backend_flow"

    def __init__(self, cr):
        self.cr = cr

    def read_committed(self):
        """Switch the (fresh) transaction to READ COMMITTED: waiting on the row lock
        then reading the latest state is what we want, where Odoo's default
        REPEATABLE READ would fail on a row another worker just updated."""
        self.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")

    def ensure_table(self):
        self.cr.execute(
            """CREATE TABLE IF NOT EXISTS integration_backend_flow (
                   backend_id integer PRIMARY KEY,
                   tokens double precision,
                   refilled_at double precision,
                   throttled_until double precision,
                   circuit_state varchar NOT NULL DEFAULT 'closed',
                   failure_count integer NOT NULL DEFAULT 0,
                   opened_until double precision,
                   probe_started double precision,
                   last_failure text
               )"""
        )
        self.cr.execute(
            """ALTER TABLE integration_backend_flow
               ADD COLUMN IF NOT EXISTS intake_tokens double precision,
               ADD COLUMN IF NOT EXISTS intake_refilled_at double precision"""
        )

    def _lock_row(self, backend_id):
        self.cr.execute(
            "INSERT INTO integration_backend_flow (backend_id) VALUES (%s) "
            "ON CONFLICT (backend_id) DO NOTHING",
            (backend_id,),
        )
        self.cr.execute(
            """SELECT tokens, refilled_at, throttled_until, circuit_state,
                      failure_count, opened_until, probe_started,
                      extract(epoch from clock_timestamp())::double precision
               FROM integration_backend_flow WHERE backend_id = %s FOR UPDATE""",
            (backend_id,),
        )
        return self.cr.fetchone()

    def admit(self, backend_id, rate, burst, max_wait, probe_timeout):
        """Decide on one call of ``backend_id`` and reserve what it takes.

        :returns: an :class:`Admission`; ``wait`` is how long to sleep before
            calling when allowed, ``retry_in`` how long to postpone otherwise
        """
        (
            tokens,
            refilled_at,
            throttled_until,
            state,
            failures,
            opened_until,
            probe_started,
            now,
        ) = self._lock_row(backend_id)
        decision, retry_in = circuit_admit(
            state, opened_until, probe_started, now, probe_timeout
        )
        if decision == "wait":
            return Admission(False, 0.0, retry_in, False, False, "circuit open")
        throttle_wait = max((throttled_until or 0.0) - now, 0.0)
        if throttle_wait > max_wait:
            return Admission(
                False, 0.0, throttle_wait, False, False, "provider throttle"
            )
        wait = throttle_wait
        if rate and rate > 0:
            tokens, refilled_at, bucket_wait, granted = take_token(
                tokens, refilled_at, now, rate, burst, max_wait - throttle_wait
            )
            if not granted:
                return Admission(False, 0.0, bucket_wait, False, False, "rate limit")
            wait = max(wait, bucket_wait)
            self.cr.execute(
                "UPDATE integration_backend_flow SET tokens = %s, refilled_at = %s "
                "WHERE backend_id = %s",
                (tokens, refilled_at, backend_id),
            )
        probe = decision == "probe"
        if probe:
            self.cr.execute(
                "UPDATE integration_backend_flow SET circuit_state = %s, "
                "probe_started = %s WHERE backend_id = %s",
                (HALF_OPEN, now, backend_id),
            )
        clean = state == CLOSED and not failures
        return Admission(True, wait, 0.0, probe, clean, "")

    def record(self, backend_id, success, threshold, cooldown, error=None):
        """Count one call's outcome in the circuit of ``backend_id``."""
        (_t, _r, _th, state, failures, _o, _p, now) = self._lock_row(backend_id)
        state, failures, opened_until = circuit_record(
            state, failures, success, now, threshold, cooldown
        )
        self.cr.execute(
            """UPDATE integration_backend_flow
               SET circuit_state = %s, failure_count = %s, opened_until = %s,
                   probe_started = NULL,
                   last_failure = CASE WHEN %s THEN last_failure ELSE %s END
               WHERE backend_id = %s""",
            (state, failures, opened_until, success, error, backend_id),
        )
        return state

    def take_intake(self, backend_id, per_minute):
        """Count one webhook of ``backend_id`` against ``per_minute`` (a bucket of
        that size refilled evenly over a minute).

        :returns: 0 when accepted, else the whole seconds until one would be
        """
        now = self._lock_row(backend_id)[-1]
        self.cr.execute(
            "SELECT intake_tokens, intake_refilled_at FROM integration_backend_flow "
            "WHERE backend_id = %s",
            (backend_id,),
        )
        tokens, refilled_at = self.cr.fetchone()
        tokens, refilled_at, wait, granted = take_token(
            tokens, refilled_at, now, per_minute / 60.0, per_minute, 0.0, headroom=1.0
        )
        if not granted:
            return max(1, math.ceil(wait))
        self.cr.execute(
            "UPDATE integration_backend_flow "
            "SET intake_tokens = %s, intake_refilled_at = %s WHERE backend_id = %s",
            (tokens, refilled_at, backend_id),
        )
        return 0

    def throttle(self, backend_id, seconds):
        """Hold every call of ``backend_id`` for ``seconds`` (provider asked so)."""
        self._lock_row(backend_id)
        self.cr.execute(
            """UPDATE integration_backend_flow
               SET throttled_until = GREATEST(
                   coalesce(throttled_until, 0),
                   extract(epoch from clock_timestamp()) + %s)
               WHERE backend_id = %s""",
            (float(seconds), backend_id),
        )

    def reset_circuit(self, backend_ids):
        self.cr.execute(
            """UPDATE integration_backend_flow
               SET circuit_state = %s, failure_count = 0, opened_until = NULL,
                   probe_started = NULL
               WHERE backend_id = ANY(%s)""",
            (CLOSED, list(backend_ids)),
        )

    def circuit_states(self, backend_ids):
        """``{backend_id: {circuit_state, failure_count, opened_until, last_failure}}``"""
        self.cr.execute(
            """SELECT backend_id, circuit_state, failure_count, opened_until,
                      last_failure
               FROM integration_backend_flow WHERE backend_id = ANY(%s)""",
            (list(backend_ids),),
        )
        return {
            row[0]: {
                "circuit_state": row[1],
                "failure_count": row[2],
                "opened_until": row[3],
                "last_failure": row[4],
            }
            for row in self.cr.fetchall()
        }

    def forget(self, backend_ids):
        self.cr.execute(
            "DELETE FROM integration_backend_flow WHERE backend_id = ANY(%s)",
            (list(backend_ids),),
        )
