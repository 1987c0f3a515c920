"""What the message form tells after retries: the error of the attempt that
counts, an attempt count matching the Attempts tab, the produced record by
name; and what the stuck-message cron leaves alone."""

from odoo.tests import Form, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..exceptions import PermanentError
from .common import IntegrationCase


@tagged("post_install", "-at_install")
class TestRetryOnTheForm(IntegrationCase):
    def test_successful_retry_clears_error_and_counts_every_attempt(self):
        calls = []

        def fails_first(message):
            calls.append(message.id)
            if len(calls) == 1:
                raise PermanentError("product SKU-1048 is unknown")
            return self.partner_handler(message)

        self.handlers["test/create"] = fails_first
        message = self.receive(payload={"name": "Ada"}, external_ref="r1")
        self.assertEqual(message._job_process(), "dead")
        with trap_jobs():
            message.action_retry_now()
        self.assertEqual(message._job_process(), "done")
        self.assertFalse(message.last_error, "the old error is not shown any more")
        self.assertFalse(message.sudo().last_traceback)
        self.assertEqual(len(message.attempt_ids), 2)
        self.assertEqual(message.attempt_count, 2, "as many as the Attempts tab")
        form = Form(message)
        self.assertEqual(form.attempt_count, 2)
        self.assertFalse(form.last_error)

    def test_retry_gives_a_fresh_budget_without_forgetting_attempts(self):
        def failing(message):
            raise ValueError("boom")

        self.handlers["test/create"] = failing
        message = self.receive()
        outcomes = [message._job_process() for _ in range(3)]
        self.assertEqual(outcomes, ["failed", "failed", "dead"])
        with trap_jobs():
            message.action_retry_now()
        self.assertEqual(message.attempt_count, 3)
        outcomes = [message._job_process() for _ in range(3)]
        self.assertEqual(outcomes, ["failed", "failed", "dead"], "3 more attempts")
        self.assertEqual(message.attempt_count, 6)
        self.assertEqual(len(message.attempt_ids), 6)

    def test_outbox_retry_counts_every_attempt_and_clears_traceback(self):
        with trap_jobs():
            message = self.backend._outbox_enqueue("test/out", {"n": 1})
        message.write(
            {
                "state": "dead",
                "attempt_count": 3,
                "last_error": "old",
                "last_traceback": "Traceback: old",
            }
        )
        with trap_jobs():
            message.action_retry_now()
        self.assertEqual(message.state, "pending")
        self.assertEqual(message.attempt_count, 3, "a retry forgets no attempt")
        self.patch(type(self.backend), "_outbox_send", lambda backend, message: None)
        self.assertEqual(message._job_send(), "sent")
        self.assertEqual(message.attempt_count, 4)
        self.assertFalse(message.last_error)
        self.assertFalse(message.sudo().last_traceback)


@tagged("post_install", "-at_install")
class TestRecordButton(IntegrationCase):
    def test_button_names_the_record_and_its_model(self):
        self.handlers["test/create"] = self.partner_handler
        message = self.receive(payload={"name": "Ada Lovelace"}, external_ref="p9")
        message._job_process()
        self.assertEqual(message.record_display_name, "Ada Lovelace")
        self.assertEqual(message.record_model_label, "Contact")
        arch = self.env["integration.inbox.message"].get_views([(False, "form")])
        form_arch = arch["views"]["form"]["arch"]
        self.assertIn("record_display_name", form_arch)
        self.assertNotIn('string="Record"', form_arch)

    def test_button_of_a_deleted_record(self):
        self.handlers["test/create"] = self.partner_handler
        message = self.receive(payload={"name": "Gone"}, external_ref="p10")
        message._job_process()
        message._get_record().unlink()
        message.invalidate_recordset()
        self.assertFalse(message.record_display_name)


@tagged("post_install", "-at_install")
class TestStuckCronLeavesLiveMessages(IntegrationCase):
    def _run_as_job_runner(self, message):
        """One attempt the way queue_job runs it: its job started, then done."""
        job = self.env["queue.job"].search(
            [
                ("identity_key", "=", message._job_identity()),
                ("state", "=", "pending"),
            ]
        )
        job.write({"state": "started"})
        outcome = message._job_process()
        job.write({"state": "done"})
        return outcome

    def _age(self, message, minutes):
        """Move the message ``minutes`` into the past, its retry overdue."""
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE integration_inbox_message
               SET write_date = write_date - %s * interval '1 minute',
                   next_attempt_at = next_attempt_at - %s * interval '1 minute'
               WHERE id = %s""",
            (minutes, minutes, message.id),
        )
        self.env.invalidate_all()

    def test_failed_message_with_its_retry_job_waiting_stays_failed(self):
        def failing(message):
            raise ValueError("provider down")

        self.handlers["test/create"] = failing
        message = self.receive(key="late-retry")
        self.assertEqual(self._run_as_job_runner(message), "failed")
        # the job runner is late: the retry is 20 minutes overdue
        self._age(message, 20)
        with trap_jobs() as trap:
            recovered = self.env["integration.inbox.message"]._cron_recover_stuck()
            trap.assert_jobs_count(0)
        self.assertFalse(recovered)
        self.assertEqual(message.state, "failed")

    def test_orphaned_failed_message_is_retried_not_ignored(self):
        def failing(message):
            raise ValueError("provider down")

        self.handlers["test/create"] = failing
        message = self.receive(key="orphan-retry")
        self.assertEqual(self._run_as_job_runner(message), "failed")
        # its retry job is lost
        self.env["queue.job"].search(
            [("identity_key", "=", message._job_identity())]
        ).unlink()
        self._age(message, 20)
        self.handlers["test/create"] = self.partner_handler
        with trap_jobs() as trap:
            recovered = self.env["integration.inbox.message"]._cron_recover_stuck()
            trap.assert_jobs_count(1, only=message._job_process)
            trap.perform_enqueued_jobs()
        self.assertEqual(recovered, message)
        self.assertEqual(message.state, "done")

    def test_requeued_message_whose_handler_is_gone_is_dead_not_ignored(self):
        def failing(message):
            raise ValueError("provider down")

        self.handlers["test/create"] = failing
        message = self.receive(key="handler-gone")
        self.assertEqual(self._run_as_job_runner(message), "failed")
        self.env["queue.job"].search(
            [("identity_key", "=", message._job_identity())]
        ).unlink()
        self._age(message, 20)
        # the connector handling the topic was uninstalled meanwhile
        del self.handlers["test/create"]
        with trap_jobs() as trap:
            self.env["integration.inbox.message"]._cron_recover_stuck()
            trap.perform_enqueued_jobs()
        self.assertEqual(message.state, "dead", "still needs attention")
        self.assertIn("no handler for topic test/create", message.last_error)
        self.assertEqual(message.attempt_ids[0].outcome, "dead")
