import ast
import functools
import threading
from unittest.mock import patch

from odoo import http
from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from odoo.addons.queue_job.tests.common import trap_jobs

_AST_LOCK = threading.RLock()
_parse = ast.parse


def _parse_one_thread_at_a_time(*args, **kwargs):
    with _AST_LOCK:
        return _parse(*args, **kwargs)


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase):
    def _build_asset_bundles(self):
        """Compile the web client's bundles before the browser asks for them.

        On a fresh database the first page load compiles them, which on a busy
        2-core machine can outlast the browser runner's fixed 60 s readiness wait.
        """
        for name in ("web.assets_web", "web.assets_tests"):
            bundle = self.env["ir.qweb"]._get_asset_bundle(name)
            bundle.js()
            bundle.css()

    def test_dashboard_in_browser(self):
        self._build_asset_bundles()
        backend = self.env["integration.backend"].create({"name": "Tour backend"})
        with trap_jobs():
            message, _created = backend._inbox_receive(
                "tour/dead", {"id": 1, "email": "tour@example.com"}, "tour-1"
            )
        message.write({"state": "dead", "last_error": "PermanentError: tour"})
        # the runner's readiness wait is a fixed 60 s, which a web client
        # loading on a 2-core machine busy with the rest of CI can outlast
        wait_ready = functools.partialmethod(ChromeBrowser._wait_ready, timeout=180)
        # The web client's first requests arrive together, each in its own server
        # thread, and CPython 3.11's AST constructor is not thread-safe: two
        # threads in ast.parse (Odoo's lazy map of static folders parses every
        # manifest, view checks parse attributes) can fail one of them with
        # "SystemError: AST constructor recursion depth mismatch", a 500 that
        # leaves the page without its web client (python/cpython#106905).
        self.assertTrue(http.root.statics)  # computed once, here, in one thread
        with (
            patch.object(ChromeBrowser, "_wait_ready", wait_ready),
            patch.object(ast, "parse", _parse_one_thread_at_a_time),
        ):
            self.start_tour("/odoo", "integration_core_dashboard_tour", login="admin")
