import functools
import hashlib
import json
import logging
import time
import uuid
from datetime import timedelta

import psycopg2
from psycopg2 import errorcodes

from odoo import api, fields, models

from odoo.addons.queue_job.exception import RetryableJobError

from .. import tracing
from ..exceptions import (
    DependencyNotReady,
    OutboundDeferred,
    PermanentError,
    RetryableError,
    ReviewRequired,
)
from ..headers import strip_credentials
from ..intake_rules import check_identifiers
from ..sql_logging import expected_sql_failure
from .integration_outbox_message import LOCKED_RETRY

_logger = logging.getLogger(__name__)

# PostgreSQL errors that mean "another transaction was in the way": always retryable.
CONCURRENCY_ERRORS = {
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
}
# Context key: the caller retries its transaction on serialization failures
# (Odoo's HTTP request loop does), so receiving needs no savepoint.
RETRIED_ON_CONFLICT = "integration_retried_on_conflict"
# A message waiting for a dependency retries this many times its attempt budget
# before it is declared dead.
DEPENDENCY_WAIT_FACTOR = 4


class IntegrationInboxMessage(models.Model):
    _name = "integration.inbox.message"
    _description = "Integration Inbound Message"
    _inherit = ["integration.message.mixin"]
    _order = "id desc"

    _attempt_link_field = "inbox_message_id"
    _job_method = "_job_process"
    _in_progress_state = "processing"
    _in_progress_since_field = "processing_started_at"
    _waiting_states = ("queued", "failed")
    _purge_states = ("done", "ignored")
    _transitions = {
        "received": ("queued", "ignored"),
        "queued": ("processing", "ignored", "queued"),
        "processing": ("done", "failed", "dead", "ignored", "queued"),
        "failed": ("queued", "processing", "dead", "ignored"),
        "dead": ("queued", "ignored"),
        "done": ("queued",),
        "ignored": ("queued",),
    }

    state = fields.Selection(
        [
            ("received", "Received"),
            ("queued", "Queued"),
            ("processing", "Processing"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("dead", "Dead"),
            ("ignored", "Ignored"),
        ],
        default="received",
        required=True,
        readonly=True,
        # no index: see init()
        copy=False,
    )
    # indexed for the stale check only, see init()
    sequence_key = fields.Char(
        help="Ordering scope: messages with one key apply in event order."
    )
    event_at = fields.Datetime(help="When the provider says the event happened.")
    headers = fields.Json()
    headers_pretty = fields.Text(
        compute="_compute_headers_pretty", string="Headers (formatted)"
    )
    duplicate_count = fields.Integer(default=0, readonly=True, copy=False)
    received_at = fields.Datetime(default=fields.Datetime.now, readonly=True)
    processing_started_at = fields.Datetime(readonly=True, copy=False)
    done_at = fields.Datetime(readonly=True, copy=False)
    ignore_reason = fields.Char(readonly=True, copy=False)
    dependency_wait_count = fields.Integer(readonly=True, copy=False)
    attempt_ids = fields.One2many(
        "integration.message.attempt", "inbox_message_id", readonly=True
    )

    _sql_constraints = [
        (
            "idempotency_key_backend_unique",
            "unique(backend_id, idempotency_key)",
            "An idempotency key is received once per backend.",
        )
    ]

    def init(self):
        result = super().init()
        # A message's outcome (queued -> done) is a HOT update, which writes no
        # index entry, as long as no index reads a column it changes (the
        # state, the attempt count, dates): the sequence index's condition does
        # not read the state, and filters on the state scan the table, as the
        # dashboard's and the metrics' figures per backend do anyway.
        cr = self.env.cr
        cr.execute(
            """CREATE INDEX IF NOT EXISTS integration_inbox_message_sequence_idx
               ON integration_inbox_message (backend_id, sequence_key, event_at)
               WHERE sequence_key IS NOT NULL"""
        )
        # room on each page for a row's next version, which a HOT update needs
        cr.execute("ALTER TABLE integration_inbox_message SET (fillfactor = 80)")
        return result

    @api.depends("headers")
    def _compute_headers_pretty(self):
        for message in self:
            message.headers_pretty = (
                "\n".join(
                    f"{name}: {value}"
                    for name, value in sorted(message.headers.items())
                )
                if isinstance(message.headers, dict)
                else False
            )

    # -- receive -------------------------------------------------------------------
    @api.model
    def _receive(
        self,
        backend,
        topic,
        payload,
        idempotency_key=None,
        external_ref=None,
        sequence_key=None,
        event_at=None,
        headers=None,
        correlation_id=None,
    ):
        """See :meth:`integration.backend._inbox_receive`.

        :raises IntakeRefused: an identifier is too long for its index
        """
        key = idempotency_key or self._default_idempotency_key(topic, payload)
        values = self._prepare_receive_values(
            backend,
            topic=topic,
            payload=payload,
            idempotency_key=key,
            external_ref=external_ref,
            sequence_key=sequence_key,
            event_at=event_at,
            headers=headers,
            correlation_id=correlation_id,
        )
        check_identifiers(values)
        # The webhook's hot path: one statement inserts the message and its
        # job (nothing when the key is known, a duplicate costs one more
        # statement), no ORM create. A delivery of the same key by a
        # transaction still running makes PostgreSQL wait for it; once that one
        # commits, the row is invisible to a REPEATABLE READ snapshot and the
        # insert fails with a serialization error (in the WSGI intake's
        # autocommit statement, it finds the row and inserts nothing).
        self.flush_model()
        insert = functools.partial(
            self.sudo()._insert_new_with_job,
            values,
            ("backend_id", "idempotency_key"),
            "Process",
        )
        if self.env.context.get(RETRIED_ON_CONFLICT):
            # the webhook route: Odoo retries the whole request on that error,
            # and the retry counts the duplicate (no savepoint round trips)
            message = insert()
        else:
            try:
                with expected_sql_failure():
                    message = insert(savepoint=True)
            except psycopg2.errors.SerializationFailure:
                return self._count_duplicate_committed(backend, key), False
        if not message:
            return self._count_duplicate(backend, key), False
        return message.with_env(self.env), True

    @api.model
    def _prepare_receive_values(self, backend, **fields_values):
        """Column values of a new inbox message, inserted without ``create()``
        (field defaults still apply). Extend to store more fields."""
        headers = fields_values.pop("headers", None)
        external_ref = fields_values.pop("external_ref", None)
        correlation_id = fields_values.pop("correlation_id", None)
        return dict(
            fields_values,
            backend_id=backend.id,
            backend_type=backend.backend_type,
            company_id=backend.company_id.id,
            external_ref=external_ref and str(external_ref),
            headers=strip_credentials(headers) if headers else None,
            correlation_id=correlation_id or str(uuid.uuid4()),
            priority=backend._get_topic_priority(fields_values["topic"]),
            # stored directly as queued with its job: a new message has no
            # earlier job to replace
            state="queued",
        )

    @api.model
    def _default_idempotency_key(self, topic, payload):
        """Key for providers that send none: a digest of topic and payload."""
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"{topic}\n{canonical}".encode()).hexdigest()

    @api.model
    def _count_duplicate(self, backend, key):
        """Count one more delivery of ``key``; return the message or an empty set."""
        self.flush_model()
        self.env.cr.execute(
            """UPDATE integration_inbox_message
               SET duplicate_count = duplicate_count + 1
               WHERE backend_id = %s AND idempotency_key = %s
               RETURNING id""",
            (backend.id, key),
        )
        row = self.env.cr.fetchone()
        if not row:
            return self.browse()
        message = self.browse(row[0])
        message.invalidate_recordset(["duplicate_count"])
        return message

    @api.model
    def _count_duplicate_committed(self, backend, key, tries=5):
        """Count a duplicate stored by a transaction our snapshot cannot see,
        from a fresh transaction."""
        for attempt in range(tries):
            try:
                with self.env.registry.cursor() as cr:
                    cr.execute(
                        """UPDATE integration_inbox_message
                           SET duplicate_count = duplicate_count + 1
                           WHERE backend_id = %s AND idempotency_key = %s
                           RETURNING id""",
                        (backend.id, key),
                    )
                    row = cr.fetchone()
                return self.browse(row[0] if row else ())
            except psycopg2.OperationalError as err:
                if err.pgcode not in CONCURRENCY_ERRORS or attempt == tries - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return self.browse()

    # -- enqueue -------------------------------------------------------------------
    def _enqueue_processing(self, eta=None):
        """Queue one processing job per message (an existing waiting job is replaced)."""
        self._cancel_pending_jobs()
        for message in self:
            if message.state != "queued":
                message._set_state("queued", next_attempt_at=eta or False)
            else:
                message.next_attempt_at = eta or False
            message._delay_job(eta, "Process")

    # -- processing ----------------------------------------------------------------
    def _get_job_channel(self):
        return self.backend_id._get_inbox_channel()

    def _job_process(self):
        """queue_job entry point: one attempt at processing the message."""
        self.ensure_one()
        # the savepoint around the handler comes with the lock (one round trip
        # less); the lock, the savepoint's then, is taken again by the
        # failure's UPDATE after a rollback
        if not self._lock(savepoint=True):
            # a delivery of the same key counting its duplicate (or a job of
            # the same message) holds the row: try again once it has ended,
            # else the message would stay queued without a job (not an attempt)
            raise RetryableJobError(
                "locked by another transaction", seconds=LOCKED_RETRY, ignore_retry=True
            )
        if self.state not in ("queued", "failed"):
            return f"nothing to do in state {self.state}"
        # before any override of _process reads the backend: its settings from
        # the worker's cache, not a wide SELECT
        self._cached_backend()
        return self._process()

    def _process(self):
        backend = self._cached_backend().with_context(**self._message_context())
        handler = backend._get_inbox_handler(self.topic)
        if handler is None and self.attempt_count:
            # it was handled before (a retry, a replay, a stuck message
            # requeued): its handler is gone, which needs someone's attention
            return self._lose_handler()
        if handler is None:
            return self._ignore(self.env._("no handler for topic %s", self.topic))
        if self._is_stale():
            return self._ignore(self.env._("stale: a newer event was already applied"))
        started_at = fields.Datetime.now()
        start = time.monotonic()
        review = error = result = None
        try:
            with self._undo_on_error(), tracing.correlation(self.correlation_id):
                try:
                    result = handler(self.with_context(**self._message_context()))
                except ReviewRequired as err:
                    review = err  # raised inside: the handler's work is kept
        except Exception as err:  # pylint: disable=broad-except
            error = err
        self._start_attempt(started_at)
        outcome = self._attempt_outcome(error, review, result)
        self._record_attempt(started_at, start, outcome)
        return outcome

    def _start_attempt(self, started_at):
        """Mark the attempt begun at ``started_at`` (state ``processing``, one more
        attempt). Called once the handler has run: the ORM writes it with the
        outcome in one UPDATE, and since the job's transaction commits both or
        neither, no other transaction could ever see ``processing`` anyway."""
        self._set_state(
            "processing",
            processing_started_at=started_at,
            attempt_count=self.attempt_count + 1,
        )

    def _attempt_outcome(self, error, review, result):
        """Write the outcome of the attempt that raised ``error`` (None: it
        returned ``result``, or raised ``review``, a ``ReviewRequired``)."""
        if isinstance(error, DependencyNotReady):
            return self._wait_for_dependency(error)
        if isinstance(error, OutboundDeferred):
            return self._postpone(error)
        if isinstance(error, PermanentError):
            return self._fail(error, permanent=True)
        if isinstance(error, RetryableError):
            return self._fail(error, seconds=error.seconds)
        if error is not None:
            # Unknown errors are retried by policy: they are often fixed by a
            # later attempt or a corrected config. Lock and serialization
            # conflicts are normal under a peak and are retried within seconds.
            return self._fail_or_retry_conflict(error)
        return self._refer_for_review(review) if review else self._succeed(result)

    def _is_stale(self):
        """True when a newer event of the same sequence was already applied."""
        if not (self.sequence_key and self.event_at):
            return False
        self.flush_model()
        self.env.cr.execute(
            """SELECT 1 FROM integration_inbox_message
               WHERE backend_id = %s AND sequence_key = %s AND state = 'done'
                 AND event_at > %s AND id != %s
               LIMIT 1""",
            (self.backend_id.id, self.sequence_key, self.event_at, self.id),
        )
        return bool(self.env.cr.fetchone())

    def _ignore(self, reason):
        self._set_state("ignored", ignore_reason=reason, next_attempt_at=False)
        _logger.info("inbox message %s ignored: %s", self.id, reason)
        return "ignored"

    def _lose_handler(self):
        """Dead, with an attempt, when a message processed before finds no
        handler for its topic any more (connector uninstalled, type changed)."""
        started_at = fields.Datetime.now()
        start = time.monotonic()
        self._start_attempt(started_at)
        outcome = self._fail(
            PermanentError(self.env._("no handler for topic %s", self.topic)),
            permanent=True,
        )
        self._record_attempt(started_at, start, outcome)
        return outcome

    def _succeed(self, result):
        values = {
            "done_at": fields.Datetime.now(),
            "next_attempt_at": False,
            "conflict_count": 0,
            # the error of an earlier attempt is history (Attempts tab)
            "last_error": False,
            "last_traceback": False,
        }
        if isinstance(result, models.BaseModel) and len(result) == 1:
            values.update(res_model=result._name, res_id=result.id)
        self._set_state("done", **values)
        return "done"

    def _refer_for_review(self, error):
        """Dead with the handler's reason, linked to the record to review."""
        record = error.record
        values = {"conflict_count": 0}
        if isinstance(record, models.BaseModel) and len(record) == 1:
            values.update(res_model=record._name, res_id=record.id)
        return self._fail(error, permanent=True, values=values)

    def _wait_for_dependency(self, error):
        policy = self.backend_id.retry_policy_id
        waits = self.dependency_wait_count + 1
        values = {
            # a wait is not an attempt: give it back
            "attempt_count": self.attempt_count - 1,
            "dependency_wait_count": waits,
            "last_error": self._truncate_error(
                self.env._("waiting for dependency: %s", error)
            ),
        }
        if waits > policy.max_attempts * DEPENDENCY_WAIT_FACTOR:
            self._set_state("dead", next_attempt_at=False, **values)
            return "dead"
        # grows like the policy, but one step every DEPENDENCY_WAIT_FACTOR waits
        delay = (
            error.seconds
            if error.seconds is not None
            else policy._get_delay(1 + (waits - 1) // DEPENDENCY_WAIT_FACTOR)
        )
        eta = fields.Datetime.now() + timedelta(seconds=delay)
        self._set_state("failed", next_attempt_at=eta, **values)
        self._schedule_retry(eta)
        return "waiting"

    def _postpone(self, error):
        """A call of the handler was not made (the provider's circuit is open,
        or its throttle asks for a longer wait): again when it says, without
        spending an attempt, for as long as the provider is unreachable."""
        eta = fields.Datetime.now() + timedelta(seconds=max(error.seconds or 0, 1.0))
        self._set_state(
            "failed",
            attempt_count=self.attempt_count - 1,
            next_attempt_at=eta,
            last_error=self._truncate_error(str(error)),
        )
        self._schedule_retry(eta)
        return "waiting"

    # -- user actions --------------------------------------------------------------
    def action_retry_now(self):
        """Process failed or dead messages again at once, with a fresh budget."""
        messages = self.filtered(lambda m: m.state in ("failed", "dead"))
        messages._restart_budget({"dependency_wait_count": 0, "conflict_count": 0})
        messages._enqueue_processing()
        return True

    def action_replay(self):
        """Process done, dead or ignored messages again on the same record."""
        messages = self.filtered(lambda m: m.state in ("done", "dead", "ignored"))
        messages._restart_budget(
            {"dependency_wait_count": 0, "conflict_count": 0, "ignore_reason": False}
        )
        messages._enqueue_processing()
        return True

    def action_mark_ignored(self, reason=None):
        """Set the messages aside for good, with the user's reason."""
        reason = reason or self.env._("marked by %s", self.env.user.name)
        messages = self.filtered(lambda m: m.state != "ignored")
        messages._cancel_pending_jobs()
        messages._set_state("ignored", ignore_reason=reason, next_attempt_at=False)
        return True

    # -- crons ---------------------------------------------------------------------

    def _requeue(self):
        self._enqueue_processing()
