import threading

from odoo import SUPERUSER_ID, api
from odoo.service.model import retrying
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_core.models.integration_inbox_message import (
    RETRIED_ON_CONFLICT,
)


@tagged("post_install", "-at_install")
class TestConcurrentReceive(TransactionCase):
    """Two transactions receiving one idempotency key: one message.

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

    def _race(self, context=None):
        """Two threads receive one key; the first commits only once the second
        has taken its snapshot. Each runs in ``retrying`` as a request does.

        :returns: ``({thread: (message id, created)}, {thread: tries})``
        """
        first_inserted = threading.Event()
        second_started = threading.Event()
        results, errors, tries = {}, [], {"first": 0, "second": 0}

        def receive(name, before_commit=None, wait_for=None):
            try:
                if wait_for:
                    wait_for.wait(10)
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, context or {})

                    def attempt():
                        tries[name] += 1
                        # take the snapshot before the other transaction commits
                        env["integration.backend"].browse(self.backend_id).name  # noqa: B018
                        if name == "second":
                            second_started.set()
                        backend = env["integration.backend"].browse(self.backend_id)
                        message, created = backend._inbox_receive(
                            "t", {"a": 1}, "evt-race"
                        )
                        if before_commit:
                            before_commit()
                        return message.id, created

                    results[name] = retrying(attempt, env)
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
        return results, tries

    def test_concurrent_receive_one_message(self):
        """No error reaches the caller: the duplicate is counted in one try."""
        _results, tries = self._race()
        self.assertEqual(tries, {"first": 1, "second": 1})

    def test_concurrent_receive_in_a_retried_request(self):
        """The webhook route skips the savepoint: Odoo's retry counts the duplicate."""
        _results, tries = self._race({RETRIED_ON_CONFLICT: True})
        self.assertEqual(tries, {"first": 1, "second": 2})
