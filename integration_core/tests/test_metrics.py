from prometheus_client.parser import text_string_to_metric_families

from odoo.tests import HttpCase, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

TOKEN = "s3cret-metrics-token"


@tagged("post_install", "-at_install")
class TestMetricsEndpoint(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param(
            "integration_core.metrics_token", TOKEN
        )
        cls.backend = cls.env["integration.backend"].create({"name": 'Metrics "main"'})
        with trap_jobs():
            done, _created = cls.backend._inbox_receive("t/a", {"id": 1}, "m1")
            dead, _created = cls.backend._inbox_receive("t/b", {"id": 2}, "m2")
            cls.backend._inbox_receive("t/c", {"id": 3}, "m3")
            cls.backend._outbox_enqueue("t/out", {"id": 4})
        done.write({"state": "done"})
        dead.write({"state": "dead"})
        attempt = cls.env["integration.message.attempt"]
        attempt.create({"inbox_message_id": done.id, "outcome": "done"})
        attempt.create({"inbox_message_id": dead.id, "outcome": "failed"})
        attempt.create({"inbox_message_id": dead.id, "outcome": "dead"})

    def scrape(self, headers=None):
        return self.url_open("/integration/metrics", headers=headers or {})

    def test_refused_without_or_with_wrong_token(self):
        self.assertEqual(self.scrape().status_code, 401)
        self.assertEqual(
            self.scrape({"Authorization": "Bearer wrong"}).status_code, 401
        )
        self.assertEqual(self.scrape({"Authorization": TOKEN}).status_code, 401)
        self.env["ir.config_parameter"].sudo().set_param(
            "integration_core.metrics_token", ""
        )
        self.assertEqual(self.scrape({"Authorization": "Bearer "}).status_code, 401)

    def test_prometheus_format(self):
        response = self.scrape({"Authorization": f"Bearer {TOKEN}"})
        self.assertEqual(response.status_code, 200, response.text[-3000:])
        self.assertTrue(
            response.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
            response.text,
        )
        families = {f.name: f for f in text_string_to_metric_families(response.text)}
        self.assertLessEqual(
            {
                "integration_messages",
                "integration_queue_depth",
                "integration_oldest_pending_age_seconds",
                "integration_attempts",
                "integration_failures",
                "integration_circuit_state",
            },
            set(families),
        )
        name = self.backend.name

        def value(family, **labels):
            return next(
                s.value
                for s in families[family].samples
                if s.labels.get("backend") == name
                and all(s.labels.get(k) == v for k, v in labels.items())
            )

        self.assertEqual(value("integration_messages", direction="in", state="done"), 1)
        self.assertEqual(value("integration_messages", direction="in", state="dead"), 1)
        self.assertEqual(
            value("integration_messages", direction="in", state="queued"), 1
        )
        self.assertEqual(
            value("integration_messages", direction="out", state="pending"), 1
        )
        self.assertEqual(value("integration_queue_depth", direction="in"), 1)
        self.assertEqual(value("integration_queue_depth", direction="out"), 1)
        self.assertGreaterEqual(
            value("integration_oldest_pending_age_seconds", direction="in"), 0
        )
        self.assertEqual(families["integration_attempts"].type, "counter")
        self.assertEqual(value("integration_attempts", direction="in"), 3)
        self.assertEqual(value("integration_failures", direction="in"), 2)
        self.assertEqual(value("integration_circuit_state", state="closed"), 1)
        self.assertEqual(value("integration_circuit_state", state="open"), 0)
