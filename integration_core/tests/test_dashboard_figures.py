"""Dashboard cards whose figures add up, the traffic chart, and the message
analysis opening on the last 7 days."""

import unittest
from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.integration_core import dashboard

from .common import IntegrationCase


class TestDashboardFigures(unittest.TestCase):
    def test_states_fill_the_card_and_the_chart(self):
        figures = dict.fromkeys(dashboard.INBOX_FIGURES, 0)
        traffic = dashboard.empty_traffic()
        for bucket, state, count in (
            (0, "done", 2),
            (23, "failed", 1),
            (23, "dead", 1),
            (10, "queued", 3),
            (24, "ignored", 1),  # received this second: the last hour
        ):
            dashboard.add_inbound(figures, state, count)
            dashboard.add_traffic(traffic, bucket, state, count)
        self.assertEqual(figures["received_24h"], 8)
        self.assertEqual(
            figures["received_24h"],
            sum(figures[name] for name in dashboard.INBOX_FIGURES[1:]),
        )
        self.assertEqual(sum(traffic["received"]), 8)
        self.assertEqual(traffic["received"][23], 3)
        self.assertEqual(traffic["failed"][23], 2, "failed and dead")
        self.assertEqual(sum(traffic["done"]), figures["done_24h"])

    def test_outbound_figures(self):
        figures = dict.fromkeys(dashboard.OUTBOX_FIGURES, 0)
        for state, count in (("sent", 4), ("dead", 1), ("failed", 1), ("pending", 2)):
            dashboard.add_outbound(figures, state, count)
        self.assertEqual(
            figures, {"enqueued_24h": 8, "sent_24h": 4, "out_failed_24h": 2}
        )

    def test_hour_labels_in_the_user_time_zone(self):
        now = datetime(2026, 6, 1, 12, 30)
        self.assertEqual(dashboard.hour_labels(now, 24, "UTC")[0], "12:30")
        labels = dashboard.hour_labels(now, 24, "Europe/Brussels")
        self.assertEqual((labels[0], labels[-1], len(labels)), ("14:30", "13:30", 24))
        self.assertEqual(
            dashboard.hour_labels(now, 2, "Nowhere/Else"), ["10:30", "11:30"]
        )


@tagged("post_install", "-at_install")
class TestDashboardCard(IntegrationCase):
    def _set(self, message, **values):
        """Write columns the ORM keeps for itself (write_date) or readonly."""
        self.env.flush_all()
        assignments = ", ".join(f"{name} = %s" for name in values)
        self.env.cr.execute(
            f"UPDATE integration_inbox_message SET {assignments} WHERE id = %s",  # noqa: S608
            (*values.values(), message.id),
        )
        self.env.invalidate_all()

    def test_card_figures_add_up(self):
        self.handlers["test/create"] = self.partner_handler
        # received yesterday, processed an hour ago: not one of today's
        old_done = self.receive(payload={"id": 1, "name": "A"}, external_ref="1")
        old_done._job_process()
        self._set(old_done, received_at=self.ago(hours=30))
        # received yesterday, dead since an hour ago
        old_dead = self.receive(key="old-dead")
        old_dead.write({"state": "dead"})
        self._set(old_dead, received_at=self.ago(hours=30))
        done = self.receive(payload={"id": 2, "name": "B"}, external_ref="2")
        done._job_process()
        failed = self.receive(key="failed")
        failed.write({"state": "failed"})
        self._set(failed, received_at=self.ago(hours=2), write_date=self.ago(hours=26))
        dead = self.receive(key="dead")
        dead.write({"state": "dead"})
        self.receive(key="waiting")
        ignored = self.receive(topic="nobody/handles", key="ignored")
        ignored._job_process()
        backend = self.backend
        backend.invalidate_recordset()
        figures = {
            name: backend[f"stat_{name}"]
            for name in ("received_24h", "done_24h", "waiting_24h")
            + ("failed_24h", "dead_24h", "ignored_24h")
        }
        self.assertEqual(
            figures,
            {
                "received_24h": 5,
                "done_24h": 1,
                "waiting_24h": 1,
                "failed_24h": 1,
                "dead_24h": 1,
                "ignored_24h": 1,
            },
        )
        self.assertEqual(backend.stat_dead, 2, "dead of all dates")
        traffic = backend.stat_traffic_24h
        self.assertEqual(sum(traffic["received"]), backend.stat_received_24h)
        self.assertEqual(sum(traffic["done"]), backend.stat_done_24h)
        self.assertEqual(sum(traffic["failed"]), 2, "failed and dead")
        self.assertEqual(traffic["received"][22], 1, "the failed one, 2 h ago")
        self.assertEqual(len(traffic["hours"]), 24)
        # each figure opens the messages it counts
        for name in figures:
            action = getattr(backend, f"action_open_{name}")()
            found = self.env[action["res_model"]].search_count(action["domain"])
            self.assertEqual(found, figures[name], name)

    def test_outbound_line(self):
        with self.subTest("enqueued, then sent"):
            from odoo.addons.queue_job.tests.common import trap_jobs

            with trap_jobs():
                sent = self.backend._outbox_enqueue("test/out", {"n": 1})
                self.backend._outbox_enqueue("test/out", {"n": 2})
            sent.write({"state": "sent", "sent_at": fields.Datetime.now()})
        self.backend.invalidate_recordset()
        self.assertEqual(
            (self.backend.stat_enqueued_24h, self.backend.stat_sent_24h), (2, 1)
        )
        self.assertEqual(self.backend.stat_received_24h, 0, "inbound only")

    def test_dashboard_has_the_traffic_chart(self):
        dashboard_view = self.env.ref(
            "integration_core.integration_backend_view_kanban_dashboard"
        )
        arch = self.env["integration.backend"].get_views(
            [(dashboard_view.id, "kanban")]
        )["views"]["kanban"]["arch"]
        self.assertIn('widget="integration_traffic_chart"', arch)
        self.assertIn("by state now", arch)


@tagged("post_install", "-at_install")
class TestMessageAnalysis(IntegrationCase):
    def test_opens_on_the_last_7_days(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_message_analysis"
        )
        self.assertIn("search_default_last_7_days", action["context"])
        self.assertNotIn("search_default_date", action["context"])
        search = self.env["integration.message.trace"].get_views([(False, "search")])
        self.assertIn('name="last_7_days"', search["views"]["search"]["arch"])

    def test_last_week_message_is_in_last_8_days_ago_is_not(self):
        recent = self.receive(key="recent")
        old = self.receive(key="old")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_inbox_message SET received_at = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=9), old.id),
        )
        self.env.invalidate_all()
        # the filter's domain, as the web client evaluates it for today
        end_of_day = datetime.combine(
            fields.Date.context_today(self.env.user) - timedelta(days=7),
            datetime.max.time().replace(microsecond=0),
        )
        traces = self.env["integration.message.trace"].search(
            [("date", ">", end_of_day), ("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(traces.inbox_message_id, recent)
