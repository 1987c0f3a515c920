import threading

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestConcurrentReceive(TransactionCase):
    """Two transactions receiving one idempotency key: one message, no error.

    These tests commit through their own cursors and clean up after themselves.
    """

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.backend_id = (
                env["integration.backend"].create({"name": "Concurrency"}).id
            )
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            messages = env["integration.inbox.message"].search(
                [("backend_id", "=", self.backend_id)]
            )
            identities = [m._job_identity() for m in messages]
            env["queue.job"].search([("identity_key", "in", identities)]).unlink()
            env["integration.backend"].browse(self.backend_id).unlink()

    def test_concurrent_receive_one_message(self):
        first_inserted = threading.Event()
        second_started = threading.Event()
        results, errors = {}, []

        def receive(name, before_commit=None, wait_for=None):
            try:
                if wait_for:
                    wait_for.wait(10)
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    # take the snapshot before the other transaction commits
                    env["integration.backend"].browse(self.backend_id).name  # noqa: B018
                    if name == "second":
                        second_started.set()
                    backend = env["integration.backend"].browse(self.backend_id)
                    message, created = backend._inbox_receive("t", {"a": 1}, "evt-race")
                    results[name] = (message.id, created)
                    if before_commit:
                        before_commit()
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        def hold_until_second_waits():
            first_inserted.set()
            second_started.wait(10)

        first = threading.Thread(
            target=receive, args=("first", hold_until_second_waits)
        )
        second = threading.Thread(
            target=receive, args=("second",), kwargs={"wait_for": first_inserted}
        )
        first.start()
        second.start()
        first.join(30)
        second.join(30)
        self.assertFalse(errors)
        self.assertEqual(results["first"][0], results["second"][0])
        self.assertEqual(sorted(c for _id, c in results.values()), [False, True])
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*), max(duplicate_count) FROM integration_inbox_message "
                "WHERE backend_id = %s",
                (self.backend_id,),
            )
            self.assertEqual(cr.fetchone(), (1, 1))
