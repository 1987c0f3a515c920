import contextlib
import functools
import json
import logging
import time
import traceback
import uuid
import weakref
from datetime import datetime, timedelta

import psycopg2

from odoo import api, fields, models, sql_db, tools
from odoo.exceptions import AccessError
from odoo.tools import SQL

from odoo.addons.queue_job import delay as queue_job_delay
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.models.base import Base as QueueJobBase
from odoo.addons.queue_job.utils import must_run_without_delay

from ..backoff import conflict_delay
from ..exceptions import IllegalTransition
from ..sql_insert import (
    cache_row,
    flush_with_insert,
    insert_column_values,
    insert_row,
    insert_rows_linked,
    row_values,
)

_logger = logging.getLogger(__name__)

# Columns of a new job's row that depend on its message: the others are the same
# for every new job of a message model, user and stored context.
MESSAGE_JOB_COLUMNS = frozenset(
    {
        "uuid",
        "name",
        "func_string",
        "date_created",
        "records",
        "identity_key",
        "priority",
        "channel",
        "eta",
    }
)

# {cursor: (name, statement count)}: the savepoint :meth:`_lock` opened with
# the lock, and how many statements the cursor had run then
_LOCK_SAVEPOINTS = weakref.WeakKeyDictionary()
ERROR_MAX_LENGTH = 4000
# the id of the stand-in record a job row is built for before its message is
# inserted (:meth:`IntegrationMessageMixin._insert_new_with_job`): the largest
# id PostgreSQL's serial ids reach, never a real message's
ID_HOLE = 2**31 - 1
# Errors meaning "another transaction was in the way": the same work succeeds
# once that transaction has ended (a unique violation here is two transactions
# creating the same binding or partner at once).
CONFLICT_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.UniqueViolation,
)


class IntegrationMessageMixin(models.AbstractModel):
    """What inbox and outbox messages share: backend, payload, state machine,
    attempts, the produced or source record and the queue_job plumbing."""

    _name = "integration.message.mixin"
    _description = "Integration Message (shared fields)"
    _order = "id desc"

    # {state: states reachable from it}; subclasses define their own.
    _transitions = {}
    # attempt field pointing to the message, and the queue_job entry point
    _attempt_link_field = None
    _job_method = None
    # state of a message whose job is running, and the field telling since when
    _in_progress_state = None
    _in_progress_since_field = None
    # states waiting for a job to run, and states the retention cron deletes
    _waiting_states = ()
    _purge_states = ()

    # Messages are the hottest table of the suite: every index costs each
    # webhook. The unique (backend_id, idempotency_key) index of the concrete
    # models serves lookups by backend and by key; topic and company filters are
    # not selective enough to use one.
    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade"
    )
    backend_type = fields.Selection(related="backend_id.backend_type", store=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    topic = fields.Char(required=True)
    # the raw payload holds personal data: managers only; users read
    # payload_pretty, masked by the backend's paths
    payload = fields.Json(groups="integration_core.group_integration_manager")
    payload_pretty = fields.Text(
        compute="_compute_payload_pretty", string="Payload (formatted)"
    )
    idempotency_key = fields.Char(required=True)
    external_ref = fields.Char(index=True, help="Id of the external object.")
    correlation_id = fields.Char(index=True, copy=False)
    priority = fields.Integer(default=10)
    attempt_count = fields.Integer(
        string="Attempts",
        readonly=True,
        copy=False,
        help="Attempts made, before and after manual retries; waits for a "
        "dependency and conflicts with concurrent transactions are listed under "
        "Attempts without counting.",
    )
    attempt_budget_start = fields.Integer(
        readonly=True,
        copy=False,
        help="Attempt count at the last manual retry or replay: the retry "
        "policy's attempts are counted from there.",
    )
    conflict_count = fields.Integer(
        readonly=True,
        copy=False,
        help="Conflicts with concurrent transactions in a row, each retried "
        "within seconds without spending an attempt.",
    )
    next_attempt_at = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    last_traceback = fields.Text(
        readonly=True, copy=False, groups="integration_core.group_integration_manager"
    )
    # one index on (res_model, res_id), see init()
    res_model = fields.Char(string="Record Model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="res_model", readonly=True
    )
    record_display_name = fields.Char(compute="_compute_record_labels", string="Record")
    record_model_label = fields.Char(
        compute="_compute_record_labels", string="Record Type"
    )

    def init(self):
        if self._abstract:
            return
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON %s (res_model, res_id) "
                "WHERE res_id IS NOT NULL",
                SQL.identifier(f"{self._table}_record_idx"),
                SQL.identifier(self._table),
            )
        )

    @api.depends("payload")
    @api.depends_context("uid")
    def _compute_payload_pretty(self):
        # personal data (backend's masked paths) is hidden from non-managers
        for message in self:
            payload = message.sudo().payload
            if payload is not None and message.backend_id:
                payload = message.backend_id._mask_payload(payload)
            message.payload_pretty = (
                json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
                if payload is not None
                else False
            )

    @api.depends("topic", "idempotency_key")
    def _compute_display_name(self):
        for message in self:
            message.display_name = (
                f"{message.topic or ''} [{message.idempotency_key or ''}]"
            )

    def _cached_backend(self):
        """The message's backend; when this transaction has not read it yet, its
        stored settings come from the per-worker cache the webhook route reads
        (``_intake_cache_values``, cleared on any backend change) instead of a wide
        SELECT on every job."""
        self.ensure_one()
        backend = self.backend_id
        if backend and not self.env.cache.contains(
            backend, backend._fields["backend_type"]
        ):
            backend._cache_intake_settings()
        return backend

    def _message_context(self):
        """Context keys telling handlers, hooks and log lines which message runs."""
        self.ensure_one()
        return {
            "integration_message_id": self.id,
            "integration_message_model": self._name,
            "integration_correlation_id": self.correlation_id,
        }

    # -- state machine -------------------------------------------------------------
    def _set_state(self, state, **values):
        """Move the messages to ``state``; the only way their state changes."""
        for message in self:
            if state not in self._transitions.get(message.state, ()):
                raise IllegalTransition(
                    self.env._(
                        "Message %(message)s cannot go from %(from)s to %(to)s.",
                        message=message.display_name,
                        **{"from": message.state, "to": state},
                    )
                )
        self.write(dict(values, state=state))

    @api.model
    def _truncate_error(self, text):
        text = text or ""
        return (
            text if len(text) <= ERROR_MAX_LENGTH else text[:ERROR_MAX_LENGTH] + "..."
        )

    # -- linked record -------------------------------------------------------------
    @api.depends("res_model", "res_id")
    @api.depends_context("uid")
    def _compute_record_labels(self):
        # what the smart button reads: "SO042 / Sales Order", not the model name
        for message in self:
            record = message._get_record() if message.res_id else None
            message.record_model_label = (
                self.env["ir.model"].sudo()._get(record._name).name if record else False
            )
            try:
                message.record_display_name = record.display_name if record else False
            except AccessError:
                message.record_display_name = f"#{record.id}"

    def _get_record(self):
        """The record produced (inbox) or described (outbox) by this message."""
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        return self.env[self.res_model].browse(self.res_id).exists() or None

    def action_open_record(self):
        self.ensure_one()
        record = self._get_record()
        if not record:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    # -- jobs ----------------------------------------------------------------------
    def _job_identity(self):
        self.ensure_one()
        return f"{self._name}:{self.id}"

    def _cancel_pending_jobs(self):
        """Cancel the jobs waiting to run for these messages (before a requeue
        or once superseded), in one statement: what queue_job's
        ``button_cancelled`` writes, without loading each job. Message jobs have
        no dependent jobs (:meth:`_delay_job` chains none)."""
        if not self:
            return
        jobs = self.env["queue.job"].sudo()
        jobs.flush_model()
        self.env.cr.execute(
            """UPDATE queue_job
               SET state = 'cancelled', date_cancelled = %s, result = %s
               WHERE identity_key = ANY(%s) AND state IN ('pending', 'enqueued')""",
            (
                fields.Datetime.now(),
                self.env._("Cancelled by %s", self.env.user.name),
                [message._job_identity() for message in self],
            ),
        )
        jobs.invalidate_model(["state", "date_cancelled", "result"])

    def _get_job_channel(self):
        """queue_job channel of the message's jobs."""
        raise NotImplementedError

    def _delay_job(self, eta=None, label="Run", new=False):
        """Queue the message's job; queue_job only sees it once this transaction
        commits, and the identity key keeps one waiting job per message.

        ``new``: the message was created in this transaction, so it has no job
        yet; queue_job's look-ups for a job of the same identity or uuid are
        skipped and the job row is inserted in one statement (intake hot path).

        :returns: the queue_job ``Job``, or None when its row was inserted directly
        """
        self.ensure_one()
        records = self._job_records()
        options = self._job_options(eta, label)
        if new and records._inserts_job_rows():
            insert_column_values(
                self.env["queue.job"], records._job_row_values(options)
            )
            return None
        delayable = records.delayable(**options)
        getattr(delayable, self._job_method)()
        delayable.delay()
        return delayable._generated_job

    def _job_records(self):
        # the message's company: queue_job reads it from the context instead
        # of the user's record
        return self.sudo().with_company(self.company_id or self.env.company)

    def _job_options(self, eta, label):
        """The options of ``delayable()`` for the message's job."""
        return {
            "channel": self._get_job_channel(),
            "priority": self.priority,
            "eta": eta,
            "identity_key": self._job_identity(),
            "description": f"{label} {self.topic} ({self._job_owner_name()})",
        }

    def _inserts_job_rows(self):
        """Whether a new message's job row is written from the row template
        (:meth:`_job_row_template`) instead of through queue_job's Job: not when
        jobs run at once, nor when queue_job's ``trap_jobs()`` traps them (tests),
        nor when the model customises the job's stored values."""
        cls = type(self)
        return (
            queue_job_delay.Job is Job
            and not must_run_without_delay(self.env)
            and cls._job_store_values is QueueJobBase._job_store_values
            and not hasattr(cls, f"_job_store_values_for_{self._job_method}")
        )

    def _job_row_values(self, options):
        """The column values of the message's first job row, as queue_job
        would store it for ``options`` (those of ``delayable()``), without
        building its Job: the row template's columns, then the message's own."""
        jobs = self.env["queue.job"]
        jobs_fields = jobs._fields
        own = {
            "uuid": str(uuid.uuid4()),
            "name": options["description"],
            "func_string": f"{self!r}.{self._job_method}()",
            # queue_job's clock for this column
            "date_created": datetime.now(),
            "records": self,
            "identity_key": options["identity_key"],
            "priority": options["priority"],
            "channel": options["channel"],
            "eta": options["eta"] or False,
        }
        # what queue_job's Job reads off the environment
        key = (
            self.env.uid,
            self.env.su,
            self.env.context.get("company_id"),
            repr(sorted(self._job_prepare_context_before_enqueue().items())),
        )
        column_values = dict(self._job_row_template(key))
        for name, value in own.items():
            column_values[name] = jobs_fields[name].convert_to_column_insert(
                value, jobs
            )
        return column_values

    @api.model
    def _insert_new_with_job(self, values, conflict_columns, label, savepoint=False):
        """Insert a new message of ``values`` (as :func:`insert_row` takes
        them) and its first job row in one statement, when
        :meth:`_inserts_job_rows`; else through :func:`insert_row` and
        :meth:`_delay_job`. Empty when ``conflict_columns`` found a message.
        With ``savepoint``, what fails is rolled back in a savepoint (opened
        by the statement itself: :func:`execute_in_savepoint`).

        The job row names the message's id, known once it is inserted: it is
        built for a stand-in record of that id (:data:`ID_HOLE`) holding
        ``values`` in the cache, so that the job hooks read what they would
        off the real message, and the id is put in its place by the
        statement."""
        values, column_values = row_values(self, values)
        stand_in = self.browse(ID_HOLE)
        if not stand_in._inserts_job_rows():
            guard = (
                self.env.cr.savepoint(flush=False)
                if savepoint
                else contextlib.nullcontext()
            )
            with guard:
                message = insert_row(self, values, conflict_columns)
                if message:
                    message._delay_job(None, label, new=True)
            return message
        cache_row(stand_in, values, json=True)
        try:
            job_values = stand_in._job_records()._job_row_values(
                stand_in._job_options(None, label)
            )
        finally:
            stand_in.invalidate_recordset()
        message_id = insert_rows_linked(
            self,
            column_values,
            conflict_columns,
            self.env["queue.job"],
            job_values,
            ID_HOLE,
            savepoint=savepoint,
        )
        if message_id is None:
            return self.browse()
        message = self.browse(message_id)
        cache_row(message, values)
        return message

    @api.model
    @tools.ormcache("key")
    def _job_row_template(self, key):
        """The column values queue_job stores for every new job of this model,
        user and stored context (``key``), read once per worker off a Job
        queue_job builds for ``self``; :data:`MESSAGE_JOB_COLUMNS` are left to
        :meth:`_job_row_values`."""
        delayable = self.delayable(identity_key="template", description="template")
        getattr(delayable, self._job_method)()
        values = delayable._build_job()._store_values(create=True)
        jobs = self.env["queue.job"]
        return tuple(
            (name, jobs._fields[name].convert_to_column_insert(value, jobs, values))
            for name, value in values.items()
            if name not in MESSAGE_JOB_COLUMNS
        )

    def _job_owner_name(self):
        """Who the job works for, in its description."""
        return self.backend_id.name

    def _get_retry_policy(self):
        """The retry policy of this message's failures: its backend's."""
        return self.backend_id.retry_policy_id

    def _schedule_retry(self, eta):
        self._delay_job(eta, "Retry")

    def _lock(self, savepoint=False):
        """Lock the message row for this transaction; False if someone else has it.

        Its values are read afresh once locked: under sudo (a job), in the same
        statement, the fields :meth:`_lock_read_fields` lists go to the cache.
        With ``savepoint``, the same statement first opens a savepoint, which
        :meth:`_undo_on_error` uses when nothing ran in between: the lock is
        then the savepoint's, so its rollback releases the lock too.
        """
        self.ensure_one()
        cache = self.env.cache
        # pending writes are flushed once the row is ours: read after them
        fold = self.env.su and not cache.has_dirty_fields(self)
        read, columns = self._lock_columns() if fold else ((), SQL("id"))
        cr = self.env.cr
        # the transaction's clock, which the first write() reads, comes with
        # the lock instead of in a statement of its own (a test cursor keeps
        # its own clock)
        clock = isinstance(cr, sql_db.Cursor) and cr._now is None
        if clock:
            columns = SQL("%s, (now() AT TIME ZONE 'UTC')", columns)
        # SKIP LOCKED answers "taken" with no row instead of an error: no
        # savepoint round trips on every job
        query = SQL(
            "SELECT %s FROM %s WHERE id = %s FOR UPDATE SKIP LOCKED",
            columns,
            SQL.identifier(self._table),
            self.id,
        )
        if savepoint:
            name = uuid.uuid4().hex
            query = SQL("SAVEPOINT %s; %s", SQL.identifier(name), query)
        cr.execute(query)
        row = cr.fetchone()
        if not row:
            return False
        if savepoint:
            _LOCK_SAVEPOINTS[cr] = (name, cr.sql_log_count)
            # the transaction's end ends the savepoint (and counts no statement)
            forget = functools.partial(_LOCK_SAVEPOINTS.pop, cr, None)
            cr.postcommit.add(forget)
            cr.postrollback.add(forget)
        if clock:
            cr._now, row = row[-1], row[:-1]
        # what the cache holds may predate the lock
        self.invalidate_recordset()
        for field, value in zip(read, row[1:], strict=True):
            # the format the ORM's own fetch caches: the column's value
            cache.insert_missing(self, field, (value,))
        return True

    @tools.ormcache()
    def _lock_columns(self):
        """``(fields, select list)`` of :meth:`_lock` under sudo, built once
        per worker."""
        read = tuple(self._lock_read_fields())
        names = ["id", *(field.name for field in read)]
        return read, SQL(", ").join(SQL.identifier(name) for name in names)

    def _lock_read_fields(self):
        """Fields :meth:`_lock` reads with the lock under sudo: the plain
        columns the ORM would prefetch on the first read of a field.

        Only under sudo: otherwise field groups and record rules apply, which
        the ORM's own read enforces.
        """
        return [
            field
            for field in self._fields.values()
            if field.store
            and field.column_type
            and field.prefetch is True
            and field.name != "id"
            # these read a computed expression, not the column
            and not field.translate
            and not field.company_dependent
            and field.type != "binary"
        ]

    @contextlib.contextmanager
    def _undo_on_error(self):
        """Run the block in a savepoint: what it did is undone, its pending
        writes dropped, when it raises (the error goes on).

        Unlike ``cr.savepoint()``, the savepoint is not released after a
        success: the transaction's end releases it, and a RELEASE is one
        round trip more on every job. The block's pending writes are flushed
        inside it, so that their errors are the block's errors. The savepoint
        :meth:`_lock` opened is the block's when no statement ran since (the
        pending writes flushed before it included).
        """
        cr = self.env.cr
        cr.flush()
        opened = _LOCK_SAVEPOINTS.pop(cr, None)
        if opened and opened[1] == cr.sql_log_count:
            name = SQL.identifier(opened[0])
        else:
            name = SQL.identifier(uuid.uuid4().hex)
            cr.execute(SQL("SAVEPOINT %s", name))
        try:
            yield
            cr.flush()
        except BaseException:
            cr.clear()
            cr.execute(SQL("ROLLBACK TO SAVEPOINT %s", name))
            raise

    # -- failures ------------------------------------------------------------------
    def _fail(self, error, permanent=False, seconds=None, values=None):
        """Count a failed attempt: ``failed`` with a retry job by the backend's
        policy (or after ``seconds``), or ``dead`` once permanent or out of budget.

        :returns: the outcome, ``"failed"`` or ``"dead"``
        """
        policy = self._get_retry_policy()
        values = dict(
            values or {},
            last_error=self._truncate_error(self._describe_error(error)),
            last_traceback="".join(traceback.format_exception(error)),
        )
        spent = self._attempts_in_budget()
        if permanent or spent >= policy.max_attempts:
            self._set_state("dead", next_attempt_at=False, **values)
            _logger.warning(
                "%s %s dead: %s", self._description, self.id, values["last_error"]
            )
            return "dead"
        delay = seconds if seconds is not None else policy._get_delay(spent)
        eta = fields.Datetime.now() + timedelta(seconds=delay)
        self._set_state("failed", next_attempt_at=eta, **values)
        self._schedule_retry(eta)
        return "failed"

    def _attempts_in_budget(self):
        """Attempts the retry policy counts: those since the last manual retry."""
        self.ensure_one()
        return self.attempt_count - self.attempt_budget_start

    def _restart_budget(self, values=None):
        """Give the messages a fresh retry budget (manual retry or replay),
        keeping the count of the attempts made (the Attempts tab lists them)."""
        for message in self:
            message.write(
                dict(values or {}, attempt_budget_start=message.attempt_count)
            )

    @api.model
    def _is_conflict(self, error):
        """True when ``error`` means a concurrent transaction was in the way."""
        return isinstance(error, CONFLICT_ERRORS) or isinstance(
            error.__cause__, CONFLICT_ERRORS
        )

    def _fail_or_retry_conflict(self, error):
        """Count a failed attempt (:meth:`_fail`), except a conflict with a
        concurrent transaction: that one is retried within a second or two
        without spending an attempt, up to the policy's ``conflict_retries``
        times in a row, and only then by the policy's delays.

        :returns: ``"conflict"``, ``"failed"`` or ``"dead"``
        """
        retry = self.conflict_count + 1
        policy = self._get_retry_policy()
        if not self._is_conflict(error) or retry > policy.conflict_retries:
            return self._fail(error, values={"conflict_count": 0})
        eta = fields.Datetime.now() + timedelta(seconds=conflict_delay(retry))
        self._set_state(
            "failed",
            next_attempt_at=eta,
            # a conflict says nothing about the message: give the attempt back
            attempt_count=self.attempt_count - 1,
            conflict_count=retry,
            last_error=self._truncate_error(
                self.env._(
                    "concurrent transaction, retry %(retry)s of %(max)s soon: "
                    "%(error)s",
                    retry=retry,
                    max=policy.conflict_retries,
                    error=self._describe_error(error),
                )
            ),
            last_traceback="".join(traceback.format_exception(error)),
        )
        self._schedule_retry(eta)
        return "conflict"

    @api.model
    def _describe_error(self, error):
        if isinstance(error, psycopg2.Error):
            return f"{type(error).__name__}: {error.pgerror or error}".strip()
        return f"{type(error).__name__}: {error}"

    def _record_attempt(self, started_at, start, outcome, note=False, **values):
        """Log one attempt; ``note`` explains an outcome that has no error (e.g.
        a delivery adopted from what the provider already held)."""
        error = (
            self.last_error
            if outcome in ("failed", "dead", "waiting", "conflict")
            else note
        )
        # no create(): the log is written on every attempt and nothing
        # computes from it; its INSERT goes with the UPDATE of the outcome
        flush_with_insert(
            self,
            self.env["integration.message.attempt"].sudo(),
            dict(
                values,
                **{
                    self._attempt_link_field: self.id,
                    "started_at": started_at,
                    "duration_ms": int((time.monotonic() - start) * 1000),
                    "outcome": outcome,
                    "error": error,
                    "traceback": self.last_traceback if error else False,
                },
            ),
        )
        if "attempt_ids" in self._fields:
            self.invalidate_recordset(["attempt_ids"])

    # -- crons ---------------------------------------------------------------------
    def _requeue(self):
        """Queue the messages' jobs again (stuck recovery)."""
        raise NotImplementedError

    @api.model
    def _cron_recover_stuck(self, stuck_minutes=None):
        """Requeue messages whose job died: left in progress, or waiting and
        overdue with no live job."""
        minutes = stuck_minutes or int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("integration_core.stuck_minutes", 15)
        )
        limit = fields.Datetime.now() - timedelta(minutes=minutes)
        stuck = self.search(
            [
                "|",
                "&",
                ("state", "=", self._in_progress_state),
                (self._in_progress_since_field, "<", limit),
                "&",
                ("state", "in", self._waiting_states),
                "|",
                ("next_attempt_at", "<", limit),
                "&",
                ("next_attempt_at", "=", False),
                ("write_date", "<", limit),
            ]
        )
        live = set(
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("identity_key", "in", [m._job_identity() for m in stuck]),
                    (
                        "state",
                        "in",
                        ("wait_dependencies", "pending", "enqueued", "started"),
                    ),
                ]
            )
            .mapped("identity_key")
        )
        orphans = stuck.filtered(
            lambda m: (
                m.state == self._in_progress_state or m._job_identity() not in live
            )
        )
        for message in orphans:
            _logger.warning(
                "requeuing stuck %s %s (%s)", self._name, message.id, message.state
            )
        orphans._requeue()
        return orphans

    @api.model
    def _cron_purge(self, batch_size=1000):
        """Delete finished messages older than their backend's retention; failed
        and dead ones are kept."""
        purged = 0
        backends = (
            self.env["integration.backend"].with_context(active_test=False).search([])
        )
        for backend in backends:
            limit = fields.Datetime.now() - timedelta(days=backend.retention_days)
            while True:
                batch = self.search(
                    [
                        ("backend_id", "=", backend.id),
                        ("state", "in", self._purge_states),
                        ("write_date", "<", limit),
                    ],
                    limit=batch_size,
                )
                if not batch:
                    break
                purged += len(batch)
                batch.unlink()
        return purged
