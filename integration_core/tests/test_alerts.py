from odoo.tests import new_test_user, tagged

from .common import IntegrationCase


@tagged("post_install", "-at_install")
class TestAlerts(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.responsible = new_test_user(
            cls.env, "integ_oncall", groups="integration_core.group_integration_manager"
        )
        cls.backend.write(
            {
                "responsible_user_id": cls.responsible.id,
                "alert_dead_threshold": 2,
                "alert_lag_threshold": 3600,
            }
        )
        cls.alert_type = cls.env.ref(
            "integration_core.mail_activity_type_integration_alert"
        )

    def alerts(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "integration.backend"),
                ("res_id", "=", self.backend.id),
                ("activity_type_id", "=", self.alert_type.id),
            ]
        )

    def kill(self, count):
        for _index in range(count):
            self.killed = getattr(self, "killed", 0) + 1
            self.receive(key=f"dead-{self.killed}").write({"state": "dead"})

    def test_below_threshold_no_alert(self):
        self.kill(1)
        self.env["integration.backend"]._cron_check_alerts()
        self.assertFalse(self.alerts())

    def test_one_activity_per_backend_while_open(self):
        self.kill(5)
        opened = self.env["integration.backend"]._cron_check_alerts()
        self.assertIn(self.backend, opened)
        alert = self.alerts()
        self.assertEqual(len(alert), 1, "one activity for five dead messages")
        self.assertEqual(alert.user_id, self.responsible)
        self.assertIn("5 dead message(s)", alert.note)
        # more dead messages and more cron runs: still the one open activity
        self.kill(3)
        self.env["integration.backend"]._cron_check_alerts()
        self.env["integration.backend"]._cron_check_alerts()
        self.assertEqual(self.alerts(), alert)
        # once done, a persisting problem opens a new one
        alert.action_feedback("looked at it")
        self.assertFalse(self.alerts())
        self.env["integration.backend"]._cron_check_alerts()
        self.assertEqual(len(self.alerts()), 1)

    def test_lag_alert(self):
        message = self.receive(key="old")
        message.write({"received_at": self.ago(hours=3)})
        self.env["integration.backend"]._cron_check_alerts()
        alert = self.alerts()
        self.assertEqual(len(alert), 1)
        self.assertIn("old", alert.note)
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.stat_health, "alert")

    def test_disabled_thresholds(self):
        self.backend.write({"alert_dead_threshold": 0, "alert_lag_threshold": 0})
        self.kill(3)
        self.receive(key="old").write({"received_at": self.ago(days=3)})
        self.env["integration.backend"]._cron_check_alerts()
        self.assertFalse(self.alerts())
