import logging
import traceback
from datetime import timedelta

from odoo import api, fields, models

from ..exceptions import ReconciliationError

_logger = logging.getLogger(__name__)


class IntegrationReconciliationRun(models.Model):
    """One comparison of a backend's provider data with Odoo over a period."""

    _name = "integration.reconciliation.run"
    _description = "Integration Reconciliation Run"
    _order = "id desc"

    backend_id = fields.Many2one(
        "integration.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    date_from = fields.Datetime(required=True)
    date_to = fields.Datetime(required=True, default=fields.Datetime.now)
    state = fields.Selection(
        [("draft", "Draft"), ("done", "Done"), ("failed", "Failed")],
        default="draft",
        required=True,
        readonly=True,
    )
    checked_count = fields.Integer(string="Checked", readonly=True)
    missing_count = fields.Integer(
        string="Missing in Odoo", compute="_compute_counts", store=True
    )
    mismatched_count = fields.Integer(
        string="Mismatched", compute="_compute_counts", store=True
    )
    healed_count = fields.Integer(
        string="Healed", compute="_compute_counts", store=True
    )
    line_ids = fields.One2many(
        "integration.reconciliation.line", "run_id", readonly=True
    )
    error = fields.Text(readonly=True)

    @api.depends("date_from", "date_to", "backend_id")
    def _compute_display_name(self):
        for run in self:
            run.display_name = (
                f"{run.backend_id.name or ''} "
                f"{fields.Datetime.to_string(run.date_from) or ''} → "
                f"{fields.Datetime.to_string(run.date_to) or ''}"
            )

    @api.depends("line_ids.status", "line_ids.healed")
    def _compute_counts(self):
        for run in self:
            lines = run.line_ids
            run.missing_count = len(
                lines.filtered(lambda line: line.status == "missing")
            )
            run.mismatched_count = len(
                lines.filtered(lambda line: line.status == "mismatched")
            )
            run.healed_count = len(lines.filtered("healed"))

    @api.model
    def _run_for(self, backend, date_from=None, date_to=None, heal=False):
        """Create and execute a run of ``backend`` (default: its configured
        window); ``heal``: receive what it finds through the inbox at once."""
        date_to = date_to or fields.Datetime.now()
        date_from = date_from or date_to - timedelta(
            hours=backend.reconcile_window_hours or 24
        )
        run = self.create(
            {"backend_id": backend.id, "date_from": date_from, "date_to": date_to}
        )
        run.action_run()
        if heal and run.state == "done":
            run.action_heal()
        return run

    def action_run(self):
        """Ask the connector for the differences and record them as lines."""
        for run in self:
            run.line_ids.unlink()
            try:
                with self.env.cr.savepoint():
                    items = run.backend_id._reconcile(run.date_from, run.date_to) or []
                    lines = [run._prepare_line(item) for item in items]
            except Exception as err:  # pylint: disable=broad-except
                # a provider outage must leave a visible failed run, not a cron crash
                _logger.warning(
                    "reconciliation of %s failed: %s", run.backend_id.name, err
                )
                run.write(
                    {
                        "state": "failed",
                        "error": f"{type(err).__name__}: {err}\n\n"
                        + traceback.format_exc(),
                    }
                )
                continue
            run.write(
                {
                    "state": "done",
                    "error": False,
                    "checked_count": len(items),
                    "line_ids": [
                        fields.Command.create(values) for values in lines if values
                    ],
                }
            )
        return True

    def _prepare_line(self, item):
        """Line values of one connector item; None for an item found equal."""
        status = item.get("status", "missing")
        if status == "ok":
            return None
        if status not in ("missing", "mismatched"):
            raise ReconciliationError(
                self.env._("unknown reconciliation status %s", status)
            )
        if not item.get("topic"):
            raise ReconciliationError(self.env._("reconciliation item without topic"))
        return {
            "status": status,
            "topic": item["topic"],
            "payload": item.get("payload"),
            "idempotency_key": item.get("idempotency_key"),
            "external_ref": item.get("external_ref") and str(item["external_ref"]),
            "sequence_key": item.get("sequence_key"),
            "event_at": item.get("event_at"),
            "note": item.get("note"),
        }

    def action_heal(self):
        """Enqueue every line not healed yet through the normal inbox path."""
        self.line_ids.filtered(lambda line: not line.healed).action_heal()
        return True
