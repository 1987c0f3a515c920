"""Operations side of ``integration.backend``: dashboard figures, alerts, masking
and the reconciliation schedule.

Kept apart from ``integration_backend.py`` (connection and pipeline hooks) so the
monitoring code reads on its own.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from .. import dashboard, masking
from ..dashboard import INBOX_FIGURES, OUTBOX_FIGURES, TRAFFIC_HOURS
from ..flow_control import FlowStore

_logger = logging.getLogger(__name__)

INBOX_WAITING = ("received", "queued", "processing", "failed")
OUTBOX_WAITING = ("pending", "sending", "failed")


def format_duration(seconds):
    """Short human duration: 45s, 12m, 3h 5m, 2d 4h."""
    seconds = int(seconds or 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes}m"
    if hours < 24:
        return f"{hours}h {minutes % 60}m"
    return f"{days}d {hours % 24}h"


class IntegrationBackend(models.Model):
    _name = "integration.backend"
    _inherit = ["integration.backend", "mail.activity.mixin"]

    responsible_user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        tracking=True,
        help="Receives the alert activities of this backend.",
    )
    alert_dead_threshold = fields.Integer(
        string="Alert at dead messages",
        default=1,
        help="Alert when this many messages are dead (0 disables).",
    )
    alert_lag_threshold = fields.Integer(
        string="Alert at lag (seconds)",
        default=3600,
        help="Alert when the oldest waiting message is older than this (0 disables).",
    )
    masked_json_paths = fields.Text(
        string="Masked payload paths",
        default="\n".join(masking.DEFAULT_MASKED_PATHS),
        help="One JSON path per line (customer.email, *.phone); a single key is "
        "masked at any depth. Only integration managers see these values.",
    )
    reconcile_enabled = fields.Boolean(string="Scheduled reconciliation")
    reconcile_interval_hours = fields.Integer(string="Every (hours)", default=24)
    reconcile_window_hours = fields.Integer(
        string="Period checked (hours)",
        default=48,
        help="Each scheduled run compares this many hours back from now.",
    )
    reconcile_from_checkpoint = fields.Boolean(
        string="Continue from last run",
        help="Each scheduled run checks from where the last successful one "
        "ended, instead of a fixed period back from now.",
    )
    reconcile_checkpoint = fields.Datetime(
        string="Reconciled Until",
        help="End of the last successful run continuing from the last one.",
    )
    reconcile_auto_heal = fields.Boolean(
        string="Heal automatically",
        help="What a scheduled run finds missing or mismatched is received "
        "again at once, through the inbox.",
    )
    reconcile_cron_id = fields.Many2one(
        "ir.cron", readonly=True, copy=False, ondelete="set null"
    )
    reconciliation_run_ids = fields.One2many(
        "integration.reconciliation.run", "backend_id"
    )

    # The 24 h figures count the messages received (inbound) or enqueued
    # (outbound) in the last 24 hours, by their state now: they add up.
    stat_received_24h = fields.Integer(
        compute="_compute_stats",
        string="Received (24h)",
        help="Inbound messages received in the last 24 hours.",
    )
    stat_done_24h = fields.Integer(
        compute="_compute_stats",
        string="Done (24h)",
        help="Of the messages received in the last 24 hours, those processed.",
    )
    stat_waiting_24h = fields.Integer(
        compute="_compute_stats",
        string="Waiting (24h)",
        help="Of the messages received in the last 24 hours, those not "
        "processed yet (received, queued, processing).",
    )
    stat_failed_24h = fields.Integer(
        compute="_compute_stats",
        string="Failed (24h)",
        help="Of the messages received in the last 24 hours, those failed and "
        "waiting for a retry.",
    )
    stat_dead_24h = fields.Integer(
        compute="_compute_stats",
        string="Dead (24h)",
        help="Of the messages received in the last 24 hours, those dead.",
    )
    stat_ignored_24h = fields.Integer(
        compute="_compute_stats",
        string="Ignored (24h)",
        help="Of the messages received in the last 24 hours, those ignored.",
    )
    stat_enqueued_24h = fields.Integer(
        compute="_compute_stats",
        string="Enqueued (24h)",
        help="Outbound messages enqueued in the last 24 hours.",
    )
    stat_sent_24h = fields.Integer(
        compute="_compute_stats",
        string="Sent (24h)",
        help="Of the outbound messages enqueued in the last 24 hours, those sent.",
    )
    stat_out_failed_24h = fields.Integer(
        compute="_compute_stats",
        string="Outbound Failed (24h)",
        help="Of the outbound messages enqueued in the last 24 hours, those "
        "failed or dead.",
    )
    stat_traffic_24h = fields.Json(
        compute="_compute_stats",
        string="Traffic (24h)",
        help="Inbound messages received per hour over the last 24 hours, by "
        "their state now.",
    )
    stat_dead = fields.Integer(
        compute="_compute_stats",
        string="Dead",
        help="Dead inbound and outbound messages, whenever received.",
    )
    stat_failed_deliveries = fields.Integer(
        compute="_compute_stat_failed_deliveries",
        string="Failed Event Deliveries",
        help="Event deliveries to this backend's subscribers that failed or died.",
    )
    stat_queue_depth = fields.Integer(
        compute="_compute_stats",
        string="Queue depth",
        help="Inbound messages waiting now (received, queued, processing, "
        "failed), whenever received.",
    )
    stat_lag_seconds = fields.Integer(compute="_compute_stats", string="Lag (s)")
    stat_lag_display = fields.Char(compute="_compute_stats", string="Lag")
    stat_last_success = fields.Datetime(compute="_compute_stats", string="Last success")
    stat_circuit_state = fields.Char(compute="_compute_stats", string="Circuit")
    stat_health = fields.Selection(
        [("ok", "Healthy"), ("warning", "Warning"), ("alert", "Alert")],
        compute="_compute_stats",
        string="Health",
    )

    # -- statistics ----------------------------------------------------------------
    @api.model
    def _get_backend_stats(self, backend_ids, now=None):
        """Figures of the dashboard for ``backend_ids`` in four grouped queries.

        The 24 h figures and the traffic chart count the same messages (received
        or enqueued in the 24 hours before ``now``) by their state now, so a
        card's figures add up: received = done + waiting + failed + dead +
        ignored. Queue depth, lag, dead and last success are of all dates.

        :returns: {backend id: dict of figures}
        """
        now = now or fields.Datetime.now()
        since = now - timedelta(hours=TRAFFIC_HOURS)
        stats = {
            backend_id: dict(
                dict.fromkeys(INBOX_FIGURES + OUTBOX_FIGURES, 0),
                dead=0,
                queue_depth=0,
                oldest_pending=None,
                last_success=None,
                traffic=dashboard.empty_traffic(TRAFFIC_HOURS),
            )
            for backend_id in backend_ids
        }
        if not backend_ids:
            return stats
        directions = (
            # model, "received" column, "succeeded" column, waiting states
            ("integration.inbox.message", "received_at", "done_at", INBOX_WAITING),
            ("integration.outbox.message", "create_date", "sent_at", OUTBOX_WAITING),
        )
        for model, received, succeeded, waiting in directions:
            for row in self._query_direction_stats(
                model, received, succeeded, waiting, backend_ids
            ):
                figures = stats[row[0]]
                figures["dead"] += row[1]
                if model == "integration.inbox.message":
                    figures["queue_depth"] += row[2]
                figures["oldest_pending"] = min(
                    filter(None, (figures["oldest_pending"], row[3])), default=None
                )
                figures["last_success"] = max(
                    filter(None, (figures["last_success"], row[4])), default=None
                )
            inbound = model == "integration.inbox.message"
            for backend_id, bucket, state, count in self._query_window_stats(
                model, received, since, backend_ids
            ):
                figures = stats[backend_id]
                if inbound:
                    dashboard.add_inbound(figures, state, count)
                    dashboard.add_traffic(figures["traffic"], bucket, state, count)
                else:
                    dashboard.add_outbound(figures, state, count)
        return stats

    @api.model
    def _query_direction_stats(self, model, received, succeeded, waiting, backend_ids):
        """One grouped query of the all-dates figures over one message table:
        ``(backend id, dead, waiting, oldest waiting, last success)`` rows."""
        messages = self.env[model]
        messages.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT backend_id,
                          count(*) FILTER (WHERE state = 'dead'),
                          count(*) FILTER (WHERE state IN %(waiting)s),
                          min(%(received)s) FILTER (WHERE state IN %(waiting)s),
                          max(%(succeeded)s)
                   FROM %(table)s
                   WHERE backend_id IN %(ids)s
                   GROUP BY backend_id""",
                received=SQL.identifier(received),
                succeeded=SQL.identifier(succeeded),
                table=SQL.identifier(messages._table),
                waiting=tuple(waiting),
                ids=tuple(backend_ids),
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _query_window_stats(self, model, received, since, backend_ids):
        """Messages of one table received since ``since``, counted by backend,
        hour after ``since`` (0 to 23) and state now."""
        messages = self.env[model]
        messages.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT backend_id,
                          floor(extract(epoch FROM %(received)s - %(since)s)
                                / 3600)::integer,
                          state, count(*)
                   FROM %(table)s
                   WHERE backend_id IN %(ids)s AND %(received)s >= %(since)s
                   GROUP BY 1, 2, 3""",
                received=SQL.identifier(received),
                table=SQL.identifier(messages._table),
                since=since,
                ids=tuple(backend_ids),
            )
        )
        return self.env.cr.fetchall()

    def _get_circuit_states(self):
        """``{backend id: closed | open | half_open}`` of the outbound circuits.

        Read through the current cursor: monitoring needs no fresher state than
        its own snapshot, and a scrape must not open a second connection.
        """
        ids = [backend.id for backend in self if isinstance(backend.id, int)]
        states = FlowStore(self.env.cr).circuit_states(ids) if ids else {}
        return {
            backend_id: states.get(backend_id, {}).get("circuit_state") or "closed"
            for backend_id in ids
        }

    @api.depends_context("uid", "tz")
    def _compute_stats(self):
        now = fields.Datetime.now()
        stats = self._get_backend_stats(
            [b.id for b in self if isinstance(b.id, int)], now=now
        )
        circuits = self._get_circuit_states()
        tz = self.env.context.get("tz") or self.env.user.tz or "UTC"
        hours = dashboard.hour_labels(now, TRAFFIC_HOURS, tz)
        for backend in self:
            figures = stats.get(backend.id) or dict(
                dict.fromkeys(INBOX_FIGURES + OUTBOX_FIGURES, 0),
                traffic=dashboard.empty_traffic(TRAFFIC_HOURS),
            )
            lag = (
                int((now - figures["oldest_pending"]).total_seconds())
                if figures.get("oldest_pending")
                else 0
            )
            for name in INBOX_FIGURES + OUTBOX_FIGURES:
                backend[f"stat_{name}"] = figures[name]
            backend.stat_traffic_24h = dict(figures["traffic"], hours=hours)
            backend.stat_dead = figures.get("dead", 0)
            backend.stat_queue_depth = figures.get("queue_depth", 0)
            backend.stat_lag_seconds = lag
            backend.stat_lag_display = format_duration(lag)
            backend.stat_last_success = figures.get("last_success") or False
            backend.stat_circuit_state = circuits.get(backend.id, "closed")
            backend.stat_health = backend._get_health(
                backend.stat_dead, lag, backend.stat_circuit_state
            )

    @api.depends_context("uid")
    def _compute_stat_failed_deliveries(self):
        groups = self.env["integration.event.delivery"]._read_group(
            [
                ("backend_id", "in", [b.id for b in self if isinstance(b.id, int)]),
                ("state", "in", ("failed", "dead")),
            ],
            ["backend_id"],
            ["__count"],
        )
        counts = {backend.id: count for backend, count in groups}
        for backend in self:
            backend.stat_failed_deliveries = counts.get(backend.id, 0)

    def action_open_failed_deliveries(self):
        """The backend's failed and dead event deliveries, by subscriber."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_event_delivery"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {
            "search_default_needs_attention": 1,
            "search_default_group_subscriber": 1,
        }
        return action

    def _get_health(self, dead, lag, circuit_state="closed"):
        """ok, warning (half-way to a threshold) or alert (a threshold passed)."""
        self.ensure_one()
        if self._alert_reasons(dead, lag):
            return "alert"
        if (self.alert_lag_threshold and lag * 2 >= self.alert_lag_threshold) or (
            circuit_state != "closed"
        ):
            return "warning"
        return "ok"

    # -- dashboard click-through ---------------------------------------------------
    def _action_messages(self, model, name, domain, context=None):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_inbox_message"
            if model == "integration.inbox.message"
            else "integration_core.action_integration_outbox_message"
        )
        action.update(
            name=f"{name} - {self.display_name}",
            domain=[("backend_id", "=", self.id)] + domain,
            context=dict(context or {}, default_backend_id=self.id),
        )
        return action

    def action_open_inbox(self):
        return self._action_messages(
            "integration.inbox.message", self.env._("Inbox"), []
        )

    def action_open_outbox(self):
        return self._action_messages(
            "integration.outbox.message", self.env._("Outbox"), []
        )

    def action_open_inbox_attention(self):
        return self._action_messages(
            "integration.inbox.message",
            self.env._("Needs attention"),
            [],
            {"search_default_needs_attention": 1},
        )

    def action_open_inbox_dead(self):
        return self._action_messages(
            "integration.inbox.message",
            self.env._("Dead"),
            [],
            {"search_default_dead": 1},
        )

    def _action_messages_24h(self, name, figure=None):
        """The inbound messages a 24 h figure of the card counts: received in
        the last 24 hours, in the states of ``figure`` (all of them if None)."""
        since = fields.Datetime.now() - timedelta(hours=TRAFFIC_HOURS)
        domain = [("received_at", ">=", since)]
        if figure:
            states = [
                state
                for state, counted_in in dashboard.INBOX_STATE_FIGURES.items()
                if counted_in == figure
            ]
            domain.append(("state", "in", states))
        return self._action_messages("integration.inbox.message", name, domain)

    def action_open_received_24h(self):
        return self._action_messages_24h(self.env._("Received (24h)"))

    def action_open_done_24h(self):
        return self._action_messages_24h(self.env._("Done (24h)"), "done_24h")

    def action_open_waiting_24h(self):
        return self._action_messages_24h(self.env._("Waiting (24h)"), "waiting_24h")

    def action_open_failed_24h(self):
        return self._action_messages_24h(self.env._("Failed (24h)"), "failed_24h")

    def action_open_dead_24h(self):
        return self._action_messages_24h(self.env._("Dead (24h)"), "dead_24h")

    def action_open_ignored_24h(self):
        return self._action_messages_24h(self.env._("Ignored (24h)"), "ignored_24h")

    def action_open_inbox_waiting(self):
        return self._action_messages(
            "integration.inbox.message",
            self.env._("Waiting"),
            [("state", "in", INBOX_WAITING)],
        )

    def action_open_outbox_attention(self):
        return self._action_messages(
            "integration.outbox.message",
            self.env._("Needs attention"),
            [],
            {"search_default_needs_attention": 1},
        )

    def action_open_reconciliation_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_reconciliation_run"
        )
        action.update(
            domain=[("backend_id", "=", self.id)],
            context={"default_backend_id": self.id},
        )
        return action

    # -- alerts --------------------------------------------------------------------
    def _alert_reasons(self, dead, lag):
        """Human reasons why this backend needs attention (empty: it does not)."""
        self.ensure_one()
        reasons = []
        if self.alert_dead_threshold and dead >= self.alert_dead_threshold:
            reasons.append(self.env._("%s dead message(s)", dead))
        if self.alert_lag_threshold and lag >= self.alert_lag_threshold:
            reasons.append(
                self.env._("oldest waiting message is %s old", format_duration(lag))
            )
        return reasons

    def _get_alert_user(self):
        """Who gets the alert activity: the responsible user, else the creator."""
        self.ensure_one()
        return self.responsible_user_id or self.create_uid

    @api.model
    def _cron_check_alerts(self):
        """Open one alert activity per backend passing a threshold.

        A backend that already has an open alert activity gets no other one:
        the first one is the place where the team follows the incident.
        """
        activity_type = self.env.ref(
            "integration_core.mail_activity_type_integration_alert"
        )
        opened = self.browse()
        backends = self.search([])
        stats = self._get_backend_stats(backends.ids)
        now = fields.Datetime.now()
        for backend in backends:
            figures = stats[backend.id]
            lag = (
                int((now - figures["oldest_pending"]).total_seconds())
                if figures["oldest_pending"]
                else 0
            )
            reasons = backend._alert_reasons(figures["dead"], lag)
            if not reasons:
                continue
            open_alert = self.env["mail.activity"].search_count(
                [
                    ("res_model", "=", backend._name),
                    ("res_id", "=", backend.id),
                    ("activity_type_id", "=", activity_type.id),
                ],
                limit=1,
            )
            if open_alert:
                continue
            backend.activity_schedule(
                activity_type_id=activity_type.id,
                summary=self.env._("Integration %s needs attention", backend.name),
                note="<br/>".join(reasons),
                user_id=backend._get_alert_user().id,
            )
            _logger.warning(
                "integration backend %s alert: %s", backend.name, "; ".join(reasons)
            )
            opened |= backend
        return opened

    # -- masking -------------------------------------------------------------------
    def _get_masked_paths(self):
        """Parsed JSON paths hidden from non-managers in payload views."""
        self.ensure_one()
        return masking.parse_paths(self.masked_json_paths)

    def _mask_payload(self, payload):
        """``payload`` as the current user may see it."""
        self.ensure_one()
        if self.env.user.has_group("integration_core.group_integration_manager"):
            return payload
        return masking.mask_payload(payload, self._get_masked_paths())

    # -- reconciliation ------------------------------------------------------------
    def _reconcile(self, date_from, date_to):
        """Compare the provider with Odoo over ``[date_from, date_to]``.

        Connectors override it per backend type and return a list of dicts with
        the arguments of :meth:`_inbox_receive` (topic, payload, idempotency_key,
        external_ref, sequence_key, event_at) plus ``status``: ``ok`` (present and
        equal: only counted as checked), ``missing`` (never received) or
        ``mismatched`` (Odoo differs; give an idempotency key of its own, e.g.
        ``reconcile:<id>:<updated_at>``, so healing applies it again).
        """
        return []

    def action_reconcile_now(self):
        """Run a reconciliation over the configured window and open it."""
        self.ensure_one()
        run = self.env["integration.reconciliation.run"]._run_for(self)
        return {
            "type": "ir.actions.act_window",
            "res_model": run._name,
            "res_id": run.id,
            "view_mode": "form",
        }

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        backends._sync_reconcile_cron()
        return backends

    def write(self, vals):
        result = super().write(vals)
        if {"reconcile_enabled", "reconcile_interval_hours", "name", "active"} & set(
            vals
        ):
            self._sync_reconcile_cron()
        return result

    def unlink(self):
        crons = self.sudo().mapped("reconcile_cron_id")
        result = super().unlink()
        crons.unlink()
        return result

    def _sync_reconcile_cron(self):
        """Keep one ``ir.cron`` per backend with scheduled reconciliation."""
        model = self.env["ir.model"].sudo()._get(self._name)
        for backend in self.sudo():
            cron = backend.reconcile_cron_id
            values = {
                "name": self.env._("Integrations: reconcile %s", backend.name),
                "interval_number": max(backend.reconcile_interval_hours, 1),
                "interval_type": "hours",
                "active": bool(backend.reconcile_enabled and backend.active),
            }
            if cron:
                cron.write(values)
            elif backend.reconcile_enabled:
                backend.reconcile_cron_id = self.env["ir.cron"].create(
                    dict(
                        values,
                        model_id=model.id,
                        state="code",
                        code=f"model.browse({backend.id})._cron_reconcile()",
                    )
                )

    def _cron_reconcile(self):
        """Scheduled reconciliation: the last ``reconcile_window_hours``, or from
        the checkpoint on; healed at once when the backend says so."""
        Run = self.env["integration.reconciliation.run"]
        for backend in self.filtered(lambda b: b.active and not b.paused):
            if backend.reconcile_from_checkpoint:
                backend._reconcile_from_checkpoint()
            else:
                Run._run_for(backend, heal=backend.reconcile_auto_heal)

    def _reconcile_from_checkpoint(self, date_to=None):
        """One run from the checkpoint (else the window) to ``date_to`` (now);
        the checkpoint moves on only when the run succeeds.

        :returns: the ``integration.reconciliation.run``
        """
        self.ensure_one()
        date_to = date_to or fields.Datetime.now()
        run = self.env["integration.reconciliation.run"]._run_for(
            self,
            date_from=self.reconcile_checkpoint or None,
            date_to=date_to,
            heal=self.reconcile_auto_heal,
        )
        if run.state == "done":
            self.reconcile_checkpoint = date_to
        return run

    # -- metrics -------------------------------------------------------------------
    @api.model
    def _get_metric_samples(self):
        """``(name, labels, value)`` samples of :mod:`..metrics` for every backend."""
        backends = self.with_context(active_test=False).search([])
        if not backends:
            return []
        for model in (
            "integration.inbox.message",
            "integration.outbox.message",
            "integration.message.attempt",
        ):
            self.env[model].flush_model()
        labels = {
            backend.id: {"backend": backend.name, "backend_type": backend.backend_type}
            for backend in backends
        }
        samples = []
        cr = self.env.cr
        ids = tuple(backends.ids)
        for direction, table, waiting, date_column in (
            ("in", "integration_inbox_message", INBOX_WAITING, "received_at"),
            ("out", "integration_outbox_message", OUTBOX_WAITING, "create_date"),
        ):
            cr.execute(
                f"""SELECT backend_id, state, count(*),
                           count(*) FILTER (WHERE state IN %(waiting)s),
                           EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC'
                               - min({date_column})
                                 FILTER (WHERE state IN %(waiting)s)))
                    FROM {table} WHERE backend_id IN %(ids)s
                    GROUP BY backend_id, state""",
                {"waiting": waiting, "ids": ids},
            )
            depth = dict.fromkeys(ids, 0)
            oldest = dict.fromkeys(ids, 0.0)
            for backend_id, state, count, waiting_count, age in cr.fetchall():
                samples.append(
                    (
                        "integration_messages",
                        dict(labels[backend_id], direction=direction, state=state),
                        count,
                    )
                )
                depth[backend_id] += waiting_count
                oldest[backend_id] = max(oldest[backend_id], float(age or 0.0))
            for backend_id in ids:
                base = dict(labels[backend_id], direction=direction)
                samples.append(("integration_queue_depth", base, depth[backend_id]))
                samples.append(
                    (
                        "integration_oldest_pending_age_seconds",
                        base,
                        round(oldest[backend_id], 3),
                    )
                )
            column = "inbox_message_id" if direction == "in" else "outbox_message_id"
            cr.execute(
                f"""SELECT m.backend_id, count(*),
                           count(*) FILTER (WHERE a.outcome IN ('failed', 'dead'))
                    FROM integration_message_attempt a
                    JOIN {table} m ON m.id = a.{column}
                    WHERE m.backend_id IN %(ids)s
                    GROUP BY m.backend_id""",
                {"ids": ids},
            )
            totals = {row[0]: row[1:] for row in cr.fetchall()}
            for backend_id in ids:
                attempts, failures = totals.get(backend_id, (0, 0))
                base = dict(labels[backend_id], direction=direction)
                samples.append(("integration_attempts_total", base, attempts))
                samples.append(("integration_failures_total", base, failures))
        circuits = backends._get_circuit_states()
        for backend in backends:
            current = circuits[backend.id]
            for state in ("closed", "open", "half_open"):
                samples.append(
                    (
                        "integration_circuit_state",
                        dict(labels[backend.id], state=state),
                        int(current == state),
                    )
                )
        return samples + self._get_event_metric_samples()

    @api.model
    def _get_event_metric_samples(self):
        """Event deliveries by subscriber and state (deliveries of no backend
        too: they have no backend label)."""
        Delivery = self.env["integration.event.delivery"]
        Delivery.flush_model()
        self.env.cr.execute(
            """SELECT subscriber, state, count(*)
               FROM integration_event_delivery GROUP BY subscriber, state
               ORDER BY subscriber, state"""
        )
        return [
            (
                "integration_event_deliveries",
                {"subscriber": subscriber, "state": state},
                count,
            )
            for subscriber, state, count in self.env.cr.fetchall()
        ]
