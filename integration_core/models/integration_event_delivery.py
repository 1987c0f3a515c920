import time

from odoo import api, fields, models

from .. import tracing
from ..exceptions import DependencyNotReady, PermanentError, RetryableError
from ..sql_insert import insert_row


class IntegrationEventDelivery(models.Model):
    """One subscriber's delivery of an event: a queue_job job, retried and
    declared dead like a message (same retry policy machinery), idempotent for
    its subscriber through ``idempotency_key``."""

    _name = "integration.event.delivery"
    _description = "Integration Event Delivery"
    _inherit = ["integration.message.mixin"]
    _order = "id desc"

    _attempt_link_field = "event_delivery_id"
    _job_method = "_job_deliver"
    _in_progress_state = "running"
    _in_progress_since_field = "started_at"
    _waiting_states = ("pending", "failed")
    _purge_states = ("done", "skipped")
    # an attempt goes from pending (or failed) to its outcome in one write:
    # "running" is for deliveries whose job is taken (stuck recovery)
    _transitions = {
        "pending": ("running", "skipped", "pending", "done", "failed", "dead"),
        "running": ("done", "failed", "dead", "pending"),
        "failed": ("pending", "running", "dead", "skipped", "done", "failed"),
        "dead": ("pending", "skipped"),
        "done": ("pending",),
        "skipped": ("pending",),
    }

    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("dead", "Dead"),
            ("skipped", "Skipped"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
        copy=False,
    )
    event_id = fields.Many2one(
        "integration.event", required=True, ondelete="cascade", index=True
    )
    subscriber = fields.Char(required=True, readonly=True, index=True)
    subscriber_name = fields.Char(readonly=True)
    # subscribers of no backend type get deliveries without backend
    backend_id = fields.Many2one(required=False)
    company_id = fields.Many2one(related="event_id.company_id", store=True)
    topic = fields.Char(related="event_id.topic", store=True, required=False)
    published_at = fields.Datetime(related="event_id.published_at")
    started_at = fields.Datetime(readonly=True, copy=False)
    done_at = fields.Datetime(readonly=True, copy=False)
    skip_reason = fields.Char(readonly=True, copy=False)
    attempt_ids = fields.One2many(
        "integration.message.attempt", "event_delivery_id", readonly=True
    )

    _sql_constraints = [
        (
            "idempotency_key_unique",
            "unique(idempotency_key)",
            "An event is delivered once per subscriber and backend.",
        )
    ]

    @api.depends("subscriber", "topic")
    def _compute_display_name(self):
        for delivery in self:
            delivery.display_name = f"{delivery.topic or ''} → {delivery.subscriber}"

    # -- creation ------------------------------------------------------------------
    @api.model
    def _create_for(self, event, subscriber, backend=None):
        """The delivery of ``event`` to ``subscriber`` (for ``backend``) with its
        job, or ``skipped`` when the backend switched the subscriber off."""
        key = subscriber["key"]
        values = {
            "event_id": event.id,
            "subscriber": key,
            "subscriber_name": subscriber.get("name") or key,
            "backend_id": backend.id if backend else False,
            "idempotency_key": f"{event.id}:{key}:{backend.id if backend else 0}",
            "correlation_id": event.correlation_id,
            "res_model": event.res_model,
            "res_id": event.res_id,
            # stored related fields: insert_row does not compute them
            "company_id": event.company_id.id,
            "topic": event.topic,
            "backend_type": backend.backend_type if backend else False,
        }
        enabled = not backend or self.env["integration.event.subscription"]._is_enabled(
            backend, key
        )
        if not enabled:
            values.update(
                state="skipped",
                skip_reason=self.env._("switched off on this backend"),
            )
        # publishing is on business hot paths: one INSERT, as for a new inbox
        # message, instead of create()'s defaults, computes and caches
        delivery = insert_row(self.sudo(), values)
        if enabled:
            delivery._delay_job(None, "Deliver", new=True)
        return delivery

    # -- mixin hooks ---------------------------------------------------------------
    def _get_job_channel(self):
        return "root.integration.events"

    def _job_owner_name(self):
        return self.backend_id.name or self.subscriber

    def _get_retry_policy(self):
        return self.backend_id.retry_policy_id or self.env.ref(
            "integration_core.retry_policy_default"
        )

    def _message_context(self):
        return dict(super()._message_context(), integration_event_delivery_id=self.id)

    def _requeue(self):
        self._enqueue_delivery()

    def _get_subscriber(self):
        """This delivery's subscriber declaration, or None if none is declared."""
        return next(
            (
                subscriber
                for subscriber in self.env["integration.event"]._get_subscribers()
                if subscriber["key"] == self.subscriber
            ),
            None,
        )

    # -- delivery ------------------------------------------------------------------
    def _enqueue_delivery(self):
        self._cancel_pending_jobs()
        for delivery in self:
            if delivery.state != "pending":
                delivery._set_state("pending", next_attempt_at=False)
            delivery._delay_job(None, "Deliver")

    def _job_deliver(self):
        """queue_job entry point: one attempt at this delivery."""
        self.ensure_one()
        if not self._lock():
            return "locked by another transaction"
        if self.state not in ("pending", "failed"):
            return f"nothing to do in state {self.state}"
        subscriber = self._get_subscriber()
        if subscriber is None:
            return self._fail(
                PermanentError(f"no subscriber {self.subscriber} any more"),
                permanent=True,
            )
        started_at = fields.Datetime.now()
        start = time.monotonic()
        attempts = self.attempt_count + 1
        context = self._message_context()
        target = (
            self.backend_id.with_context(**context)
            if subscriber["model"] == "integration.backend" and self.backend_id
            else self.env[subscriber["model"]].with_context(**context)
        )
        try:
            with self.env.cr.savepoint(), tracing.correlation(self.correlation_id):
                getattr(target, subscriber["method"])(self.with_context(**context))
        except Exception as err:  # pylint: disable=broad-except
            # written with the outcome: one UPDATE per attempt
            self.write({"attempt_count": attempts, "started_at": started_at})
            if isinstance(err, DependencyNotReady | RetryableError):
                outcome = self._fail(err, seconds=err.seconds)
            elif isinstance(err, PermanentError):
                outcome = self._fail(err, permanent=True)
            else:
                outcome = self._fail_or_retry_conflict(err)
            # the attempts that went wrong are kept, with their error; a
            # success is its delivery's state and time
            self._record_attempt(started_at, start, outcome)
            return outcome
        self._set_state(
            "done",
            started_at=started_at,
            attempt_count=attempts,
            done_at=fields.Datetime.now(),
            next_attempt_at=False,
            conflict_count=0,
        )
        return "done"

    # -- user actions --------------------------------------------------------------
    def action_retry_now(self):
        """Deliver failed or dead deliveries again at once, with a fresh budget."""
        deliveries = self.filtered(lambda d: d.state in ("failed", "dead"))
        deliveries._restart_budget({"conflict_count": 0})
        deliveries._enqueue_delivery()
        return True

    def action_replay(self):
        """Deliver done, dead or skipped deliveries again; the subscriber gets
        the same key, so what it did once it does not do twice."""
        deliveries = self.filtered(lambda d: d.state in ("done", "dead", "skipped"))
        deliveries._restart_budget({"conflict_count": 0, "skip_reason": False})
        deliveries._enqueue_delivery()
        return True

    def action_skip(self, reason=None):
        """Set deliveries aside for good, with the user's reason."""
        deliveries = self.filtered(lambda d: d.state in ("pending", "failed", "dead"))
        deliveries._cancel_pending_jobs()
        deliveries._set_state(
            "skipped",
            skip_reason=reason or self.env._("skipped by %s", self.env.user.name),
            next_attempt_at=False,
        )
        return True
