"""The business event bus: published in the transaction, delivered once per
subscriber after commit, retried and declared dead like messages."""

from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.integration_core.exceptions import PermanentError

from .common import IntegrationCase, process


@tagged("post_install", "-at_install")
class TestEventBus(IntegrationCase):
    def setUp(self):
        super().setUp()
        self.calls = []
        self.failing = set()
        Event = type(self.env["integration.event"])
        calls, failing = self.calls, self.failing

        def handler(name):
            def deliver(model, delivery):
                if name in failing:
                    raise RuntimeError(f"{name} is down")
                calls.append((name, delivery.idempotency_key, delivery.correlation_id))

            return deliver

        for name in ("count", "other"):
            patcher = patch.object(Event, f"_test_{name}", handler(name), create=True)
            patcher.start()
            self.addCleanup(patcher.stop)
        subscribers = [
            {
                "key": "test.count",
                "topics": ("order.",),
                "model": "integration.event",
                "method": "_test_count",
            },
            {
                "key": "test.other",
                "topics": ("order.imported",),
                "model": "integration.event",
                "method": "_test_other",
            },
            {
                "key": "test.backend",
                "topics": ("order.imported",),
                "model": "integration.event",
                "method": "_test_count",
                "backend_types": ("generic",),
            },
        ]
        self.patch(Event, "_get_subscribers", lambda model: subscribers)

    def publish(self, topic="order.imported", env=None):
        env = env or self.env
        partner = env["res.partner"].create({"name": "Event source"})
        return env["integration.event"]._publish(topic, {"id": partner.id}, partner)

    def run_deliveries(self, event):
        return {
            d.subscriber: process(d) for d in event.delivery_ids if d.state != "skipped"
        }

    def test_rollback_delivers_nothing(self):
        jobs_before = self.env["queue.job"].search_count([])
        with self.assertRaises(ZeroDivisionError), self.env.cr.savepoint():
            self.publish()
            raise ZeroDivisionError
        self.env.invalidate_all()
        self.assertFalse(self.env["integration.event.delivery"].search([]))
        self.assertEqual(self.env["queue.job"].search_count([]), jobs_before)

    def test_one_delivery_per_subscriber_each_runs_once(self):
        event = self.publish()
        deliveries = event.delivery_ids
        backends = self.env["integration.backend"].search(
            [("backend_type", "=", "generic"), ("company_id", "=", event.company_id.id)]
        )
        self.assertEqual(len(deliveries), 2 + len(backends))
        self.assertEqual(
            set(deliveries.mapped("state")), {"pending"}, "each has its job"
        )
        jobs = self.env["queue.job"].search(
            [("identity_key", "in", [d._job_identity() for d in deliveries])]
        )
        self.assertEqual(len(jobs), len(deliveries))
        self.run_deliveries(event)
        self.assertEqual(set(deliveries.mapped("state")), {"done"})
        self.assertEqual(sorted(c[0] for c in self.calls).count("other"), 1)
        self.assertEqual(len(set(key for _n, key, _c in self.calls)), len(deliveries))

    def test_failing_subscriber_blocks_nothing_and_ends_dead(self):
        self.failing.add("other")
        event = self.publish()
        other = event.delivery_ids.filtered(lambda d: d.subscriber == "test.other")
        self.run_deliveries(event)
        self.assertEqual(set((event.delivery_ids - other).mapped("state")), {"done"})
        self.assertEqual(other.state, "failed")
        self.assertIn("other is down", other.last_error)
        self.assertTrue(other.next_attempt_at)
        budget = other._get_retry_policy().max_attempts
        for _attempt in range(budget):
            if other.state == "dead":
                break
            process(other)
        self.assertEqual(other.state, "dead")
        self.assertEqual(other.attempt_count, budget)
        self.assertEqual(
            len([c for c in self.calls if c[0] == "count"]),
            len(event.delivery_ids - other),
            "the others ran once each",
        )

    def test_replay_of_a_done_delivery_gives_the_same_key(self):
        event = self.publish()
        delivery = event.delivery_ids.filtered(lambda d: d.subscriber == "test.count")
        process(delivery)
        delivery.action_replay()
        self.assertEqual(delivery.state, "pending")
        process(delivery)
        keys = [key for name, key, _c in self.calls if name == "count"]
        self.assertEqual(len(set(keys)), 1, "a subscriber keyed on it applies once")

    def test_switched_off_subscriber_records_skipped_deliveries(self):
        self.env["integration.event.subscription"].create(
            {
                "backend_id": self.backend.id,
                "subscriber": "test.backend",
                "enabled": False,
            }
        )
        event = self.publish()
        skipped = event.delivery_ids.filtered(lambda d: d.backend_id == self.backend)
        self.assertEqual(skipped.state, "skipped")
        self.assertTrue(skipped.skip_reason)
        self.assertFalse(
            self.env["queue.job"].search_count(
                [
                    ("identity_key", "=", skipped._job_identity()),
                    ("state", "=", "pending"),
                ]
            )
        )

    def test_correlation_id_flows_from_message_to_deliveries(self):
        def import_order(message):
            # handlers run with the message's correlation id in their context
            return self.publish(env=message.env)

        self.handlers["order/created"] = import_order
        message = self.receive("order/created", {"id": "42"}, key="corr-42")
        message._job_process()
        event = self.env["integration.event"].search([], limit=1)
        self.assertEqual(event.correlation_id, message.correlation_id)
        self.assertEqual(
            set(event.delivery_ids.mapped("correlation_id")), {message.correlation_id}
        )
        self.run_deliveries(event)
        self.assertEqual({c[2] for c in self.calls}, {message.correlation_id})

    def test_unknown_subscriber_is_dead_visibly(self):
        event = self.publish()
        delivery = event.delivery_ids[:1]
        self.patch(
            type(self.env["integration.event"]), "_get_subscribers", lambda m: []
        )
        self.assertEqual(process(delivery), "dead")
        self.assertIn("no subscriber", delivery.last_error)

    def test_permanent_error_dead_at_once(self):
        def permanent(model, delivery):
            raise PermanentError("never")

        patcher = patch.object(
            type(self.env["integration.event"]), "_test_other", permanent, create=True
        )
        patcher.start()
        self.addCleanup(patcher.stop)
        event = self.publish()
        other = event.delivery_ids.filtered(lambda d: d.subscriber == "test.other")
        self.assertEqual(process(other), "dead")

    def test_failed_deliveries_on_the_dashboard_and_in_the_metrics(self):
        self.failing.add("count")
        event = self.publish()
        self.run_deliveries(event)
        mine = event.delivery_ids.filtered(lambda d: d.backend_id == self.backend)
        self.assertEqual(mine.state, "failed")
        self.backend.invalidate_recordset(["stat_failed_deliveries"])
        self.assertEqual(self.backend.stat_failed_deliveries, 1)
        action = self.backend.action_open_failed_deliveries()
        self.assertEqual(action["context"]["search_default_group_subscriber"], 1)
        self.assertEqual(
            self.env["integration.event.delivery"].search(action["domain"]), mine
        )
        failed = event.delivery_ids.filtered(
            lambda d: d.subscriber == "test.backend" and d.state == "failed"
        )
        self.assertIn(
            (
                "integration_event_deliveries",
                {"subscriber": "test.backend", "state": "failed"},
                len(failed),
            ),
            self.env["integration.backend"]._get_event_metric_samples(),
        )

    def test_deliveries_in_the_correlation_trace(self):
        event = self.publish()
        trace = self.env["integration.message.trace"].search(
            [("correlation_id", "=", event.correlation_id)]
        )
        self.assertEqual(set(trace.mapped("direction")), {"event"})
        self.assertEqual(trace.event_delivery_id, event.delivery_ids)
        self.assertEqual(
            trace[:1].action_open_message()["res_model"], "integration.event.delivery"
        )

    def test_old_delivered_events_purged_failed_kept(self):
        self.failing.add("other")
        delivered, failing = self.publish(), self.publish()
        self.run_deliveries(delivered)
        for delivery in delivered.delivery_ids.filtered(lambda d: d.state != "done"):
            delivery.action_skip()
        self.run_deliveries(failing)
        (delivered | failing).write({"published_at": self.ago(days=40)})
        self.assertEqual(self.env["integration.event"]._cron_purge(), 1)
        self.assertFalse(delivered.exists())
        self.assertTrue(failing.exists(), "a failed delivery keeps its event")
