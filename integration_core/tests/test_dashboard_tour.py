from odoo.tests import HttpCase, tagged

from odoo.addons.queue_job.tests.common import trap_jobs


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase):
    def test_dashboard_in_browser(self):
        backend = self.env["integration.backend"].create({"name": "Tour backend"})
        with trap_jobs():
            message, _created = backend._inbox_receive(
                "tour/dead", {"id": 1, "email": "tour@example.com"}, "tour-1"
            )
        message.write({"state": "dead", "last_error": "PermanentError: tour"})
        self.start_tour("/odoo", "integration_core_dashboard_tour", login="admin")
