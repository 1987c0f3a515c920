from odoo import fields, models


class IntegrationMessageAttempt(models.Model):
    """One processing (inbox) or sending (outbox) attempt of a message."""

    _name = "integration.message.attempt"
    _description = "Integration Message Attempt"
    _order = "started_at desc, id desc"
    # One row on every job: no access log columns, whose user foreign keys had
    # each job lock the same res_users row (shared by the workers: a
    # MultiXact), and each link indexed without the NULLs of the two other
    # kinds. ``started_at`` dates the attempt; the job that ran it names the
    # user.
    _log_access = False

    inbox_message_id = fields.Many2one(
        "integration.inbox.message", index="btree_not_null", ondelete="cascade"
    )
    outbox_message_id = fields.Many2one(
        "integration.outbox.message", index="btree_not_null", ondelete="cascade"
    )
    event_delivery_id = fields.Many2one(
        "integration.event.delivery", index="btree_not_null", ondelete="cascade"
    )
    started_at = fields.Datetime(required=True, default=fields.Datetime.now)
    duration_ms = fields.Integer(string="Duration (ms)")
    outcome = fields.Selection(
        [
            ("done", "Done"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("waiting", "Waiting for dependency"),
            ("conflict", "Concurrent transaction, retried soon"),
            ("dead", "Dead"),
            ("ignored", "Ignored"),
        ],
        required=True,
    )
    error = fields.Text()
    traceback = fields.Text(groups="integration_core.group_integration_manager")
    response_status = fields.Integer()
