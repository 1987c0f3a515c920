import json
import logging
import time
import uuid
from datetime import timedelta

import psycopg2

from odoo import api, fields, models

from odoo.addons.queue_job.exception import RetryableJobError

from .. import http_client, tracing
from ..exceptions import (
    AlreadyDelivered,
    OutboundDeferred,
    PermanentError,
    PermanentHttpError,
    RetryableError,
    TransientHttpError,
)
from ..sql_logging import expected_sql_failure

_logger = logging.getLogger(__name__)

# cr.precommit.data key: the waiting message each coalesce key was last given
# in this transaction, with what it was given
WAITING_IN_TRANSACTION = "integration_outbox_waiting"
# Seconds after its predecessor's next attempt a message checks again.
PREDECESSOR_RECHECK = 2.0
# Seconds before a send job finding its message locked elsewhere tries again.
LOCKED_RETRY = 2


class IntegrationOutboxMessage(models.Model):
    _name = "integration.outbox.message"
    _description = "Integration Outbound Message"
    _inherit = ["integration.message.mixin"]
    _order = "id desc"
    _attempt_link_field = "outbox_message_id"
    _job_method = "_job_send"
    _in_progress_state = "sending"
    # a send attempt writes the message when it starts
    _in_progress_since_field = "write_date"
    _waiting_states = ("pending", "failed")
    _purge_states = ("sent", "superseded", "cancelled")

    _transitions = {
        "pending": ("sending", "superseded", "cancelled", "pending"),
        "sending": ("sent", "failed", "dead", "pending"),
        "failed": ("pending", "sending", "dead", "superseded", "cancelled"),
        "dead": ("pending", "cancelled"),
        "sent": ("pending",),
        "superseded": (),
        "cancelled": ("pending",),
    }

    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("dead", "Dead"),
            ("superseded", "Superseded"),
            ("cancelled", "Cancelled"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
        copy=False,
    )
    coalesce_key = fields.Char(
        index=True,
        help="Messages of one key replace each other while waiting: only the "
        "latest is sent.",
    )
    sequence_key = fields.Char(
        index=True, help="Messages of one key are sent in enqueue order."
    )
    superseded_by_id = fields.Many2one(
        "integration.outbox.message", readonly=True, copy=False, index="btree_not_null"
    )
    response_status = fields.Integer(readonly=True, copy=False)
    response_body = fields.Text(readonly=True, copy=False)
    sent_at = fields.Datetime(readonly=True, copy=False)
    coalesce_window = fields.Integer(
        readonly=True,
        copy=False,
        help="Seconds the burst of this message's coalesce key waited for newer "
        "values before going out.",
    )
    attempt_ids = fields.One2many(
        "integration.message.attempt", "outbox_message_id", readonly=True
    )

    _sql_constraints = [
        (
            "idempotency_key_backend_unique",
            "unique(backend_id, idempotency_key)",
            "An outbound idempotency key is used once per backend.",
        )
    ]

    @api.model
    def _enqueue(
        self,
        backend,
        topic,
        payload,
        idempotency_key=None,
        coalesce_key=None,
        record=None,
        sequence_key=None,
        external_ref=None,
    ):
        """See :meth:`integration.backend._outbox_enqueue`."""
        if idempotency_key:
            # an explicit key enqueues once: a replayed event or message that
            # enqueues again gets the message it enqueued the first time
            existing = self.sudo().search(
                [
                    ("backend_id", "=", backend.id),
                    ("idempotency_key", "=", idempotency_key),
                ],
                limit=1,
            )
            if existing:
                return existing.with_env(self.env)
        values = {
            "backend_id": backend.id,
            # related fields given up front: no recompute UPDATE after the INSERT
            "backend_type": backend.backend_type,
            "company_id": backend.company_id.id,
            "topic": topic,
            "payload": payload,
            # a generated key is unique without knowing the new row's id
            "idempotency_key": idempotency_key
            or f"{backend.backend_type}-out-{uuid.uuid4().hex}",
            "coalesce_key": coalesce_key,
            "sequence_key": sequence_key,
            "external_ref": external_ref and str(external_ref),
            "correlation_id": self.env.context.get("integration_correlation_id"),
            "priority": backend._get_topic_priority(topic),
        }
        if record:
            values.update(res_model=record._name, res_id=record.id)
            correlation = getattr(record, "integration_correlation_id", False)
            values["correlation_id"] = values["correlation_id"] or correlation or False
        memo_key = request = None
        if coalesce_key and not idempotency_key:
            memo_key = (backend.id, coalesce_key)
            request = self._enqueue_request_signature(values)
            waiting = self._waiting_in_transaction(memo_key, request)
            if waiting:
                return waiting.with_env(self.env)
        message = self._enqueue_message(backend, values, coalesce_key, idempotency_key)
        if memo_key:
            self.env.cr.precommit.data.setdefault(WAITING_IN_TRANSACTION, {})[
                memo_key
            ] = (message.id, request)
        return message

    @api.model
    def _enqueue_request_signature(self, values):
        """What an enqueue asks for, to compare with the coalesce key's last
        one in this transaction."""
        return json.dumps(
            [
                values[name]
                for name in (
                    "topic",
                    "payload",
                    "sequence_key",
                    "external_ref",
                    "res_model",
                    "res_id",
                )
                if name in values
            ],
            sort_keys=True,
            default=str,
        )

    @api.model
    def _waiting_in_transaction(self, memo_key, request):
        """The message this transaction gave the same request for the same
        coalesce key, when it still waits as it was left (not attempted,
        sent or rolled back to a savepoint since): enqueueing it again changes
        nothing, so a burst of identical requests in one transaction (a level
        to read at send time, asked for by every stock change) costs one
        SELECT each instead of a lock and an update. Its row stays locked by
        this transaction (created or updated by it) until the commit."""
        message_id, last_request = self.env.cr.precommit.data.get(
            WAITING_IN_TRANSACTION, {}
        ).get(memo_key, (None, None))
        if not message_id or last_request != request:
            return self.browse()
        self.flush_model()
        self.env.cr.execute(
            "SELECT 1 FROM integration_outbox_message"
            " WHERE id = %s AND state = 'pending'"
            " AND COALESCE(attempt_count, 0) = 0",
            (message_id,),
        )
        return self.browse(message_id) if self.env.cr.fetchone() else self.browse()

    @api.model
    def _enqueue_message(self, backend, values, coalesce_key, idempotency_key):
        """The message carrying ``values``: a waiting one of ``coalesce_key``
        updated in place, or a new one superseding the older waiting ones."""
        topic, payload = values["topic"], values["payload"]
        older = self._lock_coalescible(backend, coalesce_key) if coalesce_key else None
        if older:
            values["payload"] = self.sudo()._coalesce_payload(older, payload)
            waiting = older.sorted("id")[-1]
            if not idempotency_key and waiting._can_update_in_place(topic):
                return waiting._update_in_place(backend, values, older - waiting)
        eta = None
        if older is not None:
            # a burst keeps its window; a new one gets the key's next
            values["coalesce_window"] = (
                max(older.mapped("coalesce_window"))
                if older
                else self._coalesce_window(backend, coalesce_key)
            )
            eta = self._coalesce_eta(backend, older, values["coalesce_window"])
        values["next_attempt_at"] = eta or False
        message = self.sudo().create(values)
        if older:
            self.sudo()._coalesce(older, message)
        message._delay_job(eta, "Send", new=True)
        return message.with_env(self.env)

    def _can_update_in_place(self, topic):
        """Whether a new value of this waiting message's coalesce key can replace
        its payload instead of superseding it: it was never attempted (so its
        idempotency key never reached the provider with another body) and the
        new value has the same topic."""
        self.ensure_one()
        return (
            self.state == "pending" and not self.attempt_count and self.topic == topic
        )

    def _update_in_place(self, backend, values, others):
        """Give this waiting message the values of a newer message of its
        coalesce key, keeping its key, its correlation and its job: one UPDATE
        instead of an INSERT, a job and a superseded message. ``others``, older
        waiting messages of the key, are superseded by it.

        :returns: this message
        """
        self.ensure_one()
        eta = self._coalesce_eta(backend, others | self) or False
        job_eta = self.next_attempt_at
        self.write(
            {
                name: values[name]
                for name in ("payload", "res_model", "res_id", "external_ref")
                if name in values
            }
            | {"sequence_key": values.get("sequence_key"), "next_attempt_at": eta}
        )
        if others:
            self._coalesce(others, self)
        if eta != job_eta:
            self._enqueue_sending(eta or None)
        return self.with_env(self.env)

    @api.model
    def _coalesce_eta(self, backend, older_pending, window=None):
        """When a coalescible message goes out: when the burst it takes over goes
        out (the first send time of a burst holds), else ``window`` seconds (by
        default the backend's coalesce delay) from now."""
        if not backend.coalesce_delay:
            return None
        waiting = [eta for eta in older_pending.mapped("next_attempt_at") if eta]
        seconds = window or backend.coalesce_delay
        return min(waiting, default=fields.Datetime.now() + timedelta(seconds=seconds))

    @api.model
    def _coalesce_window(self, backend, coalesce_key):
        """Seconds a new burst of ``coalesce_key`` waits for newer values: the
        backend's coalesce delay, doubled over the key's last burst while the key
        keeps changing (a value within one window after the last send), up to the
        backend's ``coalesce_max_delay``. A key that changes all the time then
        costs one call per ``coalesce_max_delay`` instead of one per delay."""
        delay = backend.coalesce_delay
        ceiling = backend.coalesce_max_delay
        if not delay or ceiling <= delay:
            return delay
        self.flush_model(["coalesce_window", "sent_at", "state"])
        self.env.cr.execute(
            """SELECT coalesce_window, sent_at FROM integration_outbox_message
               WHERE backend_id = %s AND coalesce_key = %s AND state = 'sent'
               ORDER BY id DESC LIMIT 1""",
            (backend.id, coalesce_key),
        )
        last = self.env.cr.fetchone()
        if not last or not last[1]:
            return delay
        last_window = max(last[0] or 0, delay)
        if fields.Datetime.now() - last[1] > timedelta(seconds=last_window):
            return delay  # the key went quiet: back to the shortest wait
        return min(2 * last_window, ceiling)

    @api.model
    def _lock_coalescible(self, backend, coalesce_key):
        """Waiting messages of ``coalesce_key``, locked for this transaction, before
        a new one is enqueued. One being sent right now (locked elsewhere) is left
        out: it goes out, and the new one after it."""
        self.flush_model()
        # the fields the coalescing reads come with the lock: no second SELECT
        names = (
            "state",
            "attempt_count",
            "topic",
            "next_attempt_at",
            "coalesce_window",
        )
        try:
            with expected_sql_failure(), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """SELECT id, state, attempt_count, topic, next_attempt_at,
                              coalesce_window
                       FROM integration_outbox_message
                       WHERE backend_id = %s AND coalesce_key = %s
                         AND state IN ('pending', 'failed')
                       ORDER BY id
                       FOR UPDATE SKIP LOCKED""",
                    (backend.id, coalesce_key),
                )
                rows = self.env.cr.fetchall()
        except psycopg2.errors.SerializationFailure:
            # one of them changed since our snapshot (just sent): keep all, the
            # ordering rule sends them one after the other
            return self.browse()
        messages = self.browse([row[0] for row in rows])
        for message, row in zip(messages, rows, strict=True):
            # nothing of the model is left to flush: the locked values are current
            message._update_cache(
                dict(zip(names, row[1:], strict=True)), validate=False
            )
        return messages

    @api.model
    def _coalesce_payload(self, older_pending, payload):
        """The payload that goes out for a new value of a coalesce key whose
        ``older_pending`` messages are still waiting.

        The default is ``payload``: the latest value wins. Connectors whose
        payloads are partial updates override it to merge the payloads of
        ``older_pending`` (oldest first) under ``payload``; the merge must
        not count a value twice: the same request enqueued again in one
        transaction while its message waits is not merged again
        (:meth:`_waiting_in_transaction`).
        """
        return payload

    @api.model
    def _coalesce(self, older_pending, new_message):
        """Supersede the older waiting messages of a coalesce key by
        ``new_message`` (their payloads went into it by :meth:`_coalesce_payload`)
        and cancel their jobs."""
        older_pending._cancel_pending_jobs()
        older_pending._set_state(
            "superseded", superseded_by_id=new_message.id, next_attempt_at=False
        )

    def _get_job_channel(self):
        return self.backend_id._get_outbox_channel()

    def _enqueue_sending(self, eta=None):
        """Queue the send job; queue_job only sees it once this transaction commits."""
        self._cancel_pending_jobs()
        for message in self:
            message._delay_job(eta, "Send")

    # -- sending -------------------------------------------------------------------
    def _job_send(self):
        """queue_job entry point: one attempt at delivering the message."""
        self.ensure_one()
        if not self._lock():
            # a transaction enqueueing a newer value of its key may be updating
            # it in place: try again once that one has ended (not an attempt)
            raise RetryableJobError(
                "locked by another transaction", seconds=LOCKED_RETRY, ignore_retry=True
            )
        if self.state not in ("pending", "failed"):
            return f"nothing to do in state {self.state}"
        newer = self._get_newer_coalesced()
        if newer:
            # retried or replayed after a newer value of its key: sending it
            # would overwrite that value at the provider
            self._set_state(
                "superseded", superseded_by_id=newer.id, next_attempt_at=False
            )
            return f"superseded by message {newer.id}"
        predecessor = self._get_waiting_predecessor()
        if predecessor:
            eta = max(
                predecessor.next_attempt_at or fields.Datetime.now(),
                fields.Datetime.now(),
            )
            return self._postpone(
                self.env._("waiting for message %s to be sent first", predecessor.id),
                (eta - fields.Datetime.now()).total_seconds() + PREDECESSOR_RECHECK,
            )
        with tracing.correlation(self.correlation_id):
            return self._send()

    def _get_newer_coalesced(self):
        """The newest later message of this coalesce key that went or will go out."""
        if not self.coalesce_key:
            return self.browse()
        return self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("coalesce_key", "=", self.coalesce_key),
                ("id", ">", self.id),
                ("state", "in", ("pending", "sending", "failed", "sent")),
            ],
            order="id desc",
            limit=1,
        )

    def _get_waiting_predecessor(self):
        """The oldest earlier message of the same coalesce or sequence key not yet
        delivered: this one must not overtake it."""
        keys = []
        if self.coalesce_key:
            keys.append(("coalesce_key", "=", self.coalesce_key))
        if self.sequence_key:
            keys.append(("sequence_key", "=", self.sequence_key))
        if not keys:
            return self.browse()
        return self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("id", "<", self.id),
                ("state", "in", ("pending", "sending", "failed")),
            ]
            + ["|"] * (len(keys) - 1)
            + keys,
            order="id",
            limit=1,
        )

    def _send(self):
        backend = self.backend_id.with_context(**self._message_context())
        previous_state = self.state
        started_at = fields.Datetime.now()
        start = time.monotonic()
        self._set_state("sending", attempt_count=self.attempt_count + 1)
        response = None
        note = False
        try:
            with self.env.cr.savepoint():
                response = backend._outbox_send(self)
        except AlreadyDelivered as err:
            # an earlier attempt's call went through but its outcome was lost
            backend._outbox_adopt_delivered(self, err.found)
            note = self._truncate_error(str(err))
            outcome = self._mark_sent(response)
        except OutboundDeferred as err:
            # nothing was sent: the attempt is given back
            self._set_state(previous_state, attempt_count=self.attempt_count - 1)
            return self._postpone(str(err), err.seconds)
        except PermanentHttpError as err:
            outcome = self._fail(
                err, permanent=True, values=self._response_values(err.response)
            )
        except TransientHttpError as err:
            outcome = self._fail(
                err, seconds=err.seconds, values=self._response_values(err.response)
            )
        except PermanentError as err:
            outcome = self._fail(err, permanent=True)
        except RetryableError as err:
            outcome = self._fail(err, seconds=err.seconds)
        except Exception as err:  # pylint: disable=broad-except
            # unknown errors (a bug in a prepare hook, a lock conflict) are retried
            # by policy: a later attempt or a corrected configuration fixes them
            outcome = self._fail(err)
        else:
            outcome = self._mark_sent(response)
        self._record_attempt(
            started_at,
            start,
            outcome,
            response_status=self.response_status or False,
            note=note,
        )
        return outcome

    def _mark_sent(self, response):
        self._set_state(
            "sent",
            sent_at=fields.Datetime.now(),
            next_attempt_at=False,
            last_error=False,
            last_traceback=False,
            **self._response_values(response),
        )
        return "sent"

    @api.model
    def _response_values(self, response):
        if response is None:
            return {"response_status": False, "response_body": False}
        return {
            "response_status": response.status,
            "response_body": http_client.truncate_body(response.text),
        }

    def _postpone(self, reason, seconds):
        """Try again in ``seconds`` without spending an attempt (nothing was sent)."""
        eta = fields.Datetime.now() + timedelta(seconds=max(seconds or 0, 1.0))
        self.write({"next_attempt_at": eta, "last_error": self._truncate_error(reason)})
        self._schedule_retry(eta)
        return "waiting"

    # -- user actions --------------------------------------------------------------
    def action_retry_now(self):
        """Send failed or dead messages again at once, with a fresh budget."""
        self.filtered(lambda m: m.state in ("failed", "dead"))._resend()
        return True

    def action_replay(self):
        """Send sent, dead or cancelled messages again (same idempotency key)."""
        self.filtered(lambda m: m.state in ("sent", "dead", "cancelled"))._resend()
        return True

    def _resend(self):
        self._restart_budget()
        self._set_state("pending", next_attempt_at=False)
        self._enqueue_sending()

    def action_mark_ignored(self, reason=None):
        """Give up sending these messages, with the user's reason."""
        reason = reason or self.env._("cancelled by %s", self.env.user.name)
        messages = self.filtered(lambda m: m.state in ("pending", "failed", "dead"))
        messages._cancel_pending_jobs()
        messages._set_state("cancelled", next_attempt_at=False, last_error=reason)
        return True

    def _requeue(self):
        for message in self.filtered(lambda m: m.state == "sending"):
            message._set_state("pending")
        self._enqueue_sending()
