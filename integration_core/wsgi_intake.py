"""The webhook intake served at the WSGI level, beside Odoo's request machinery.

A webhook has no session, user, language, website or CSRF token to resolve and
no route other than its own: building Odoo's ``Request`` for it (session store,
two pooled cursors, routing map, dispatcher, ``ir.http`` hooks) costs a worker
more than storing the delivery. So, for ``POST /integration/webhook/<token>``
on a server with one database (the one Odoo would serve the request from), that
has this module, :func:`serve` answers in one cursor, each statement its own
transaction: the registry's signaling check, then
:class:`~.controllers.webhook.WebhookIntake` - the same code as the route's -
whose one write inserts the message and its job together: two round trips
to PostgreSQL (the check, the insert) on a connection kept for the intake
without Odoo's reset (:mod:`.intake_connections`), where Odoo's route has two
cursors, their resets, BEGIN and COMMIT.

Anything else (several or no databases, a registry still loading or
changed by another process) goes to Odoo's own handling, where the route
answers the same way. Installed when the module is imported, as a wrapper
around ``odoo.http.Application.__call__``; ``INTEGRATION_WSGI_INTAKE=0`` in the
server's environment leaves Odoo's handling to every request.
"""

import contextlib
import functools
import logging
import os
import threading
import time

import psycopg2
from werkzeug.exceptions import InternalServerError

from odoo import SUPERUSER_ID, api, http, sql_db
from odoo.service.model import retrying
from odoo.tools import config

from .controllers.webhook import (
    OUTAGE,
    WEBHOOK_PATH,
    WebhookIntake,
    body_limit,
    unavailable_response,
)
from .db_outage import is_connection_loss
from .intake_connections import IntakeConnectionPool, PreparingCursor

_logger = logging.getLogger(__name__)

ENABLED_VARIABLE = "INTEGRATION_WSGI_INTAKE"
# a model of this module: its registry serves webhooks
INTAKE_MODEL = "integration.inbox.message"
# "enabled": False sends every webhook to Odoo's route (tests of that path)
SETTINGS = {"enabled": os.environ.get(ENABLED_VARIABLE, "1") != "0"}
# this process's connections for the intake, kept between deliveries
CONNECTIONS = IntakeConnectionPool()


def _registry(environ):
    """The registry Odoo would pick for a request without session (loaded
    the way Odoo loads it), when it has this module; else None."""
    databases = http.db_list(force=True, host=environ.get("HTTP_HOST", ""))
    if len(databases) != 1:
        return None
    try:
        registry = http.Registry(databases[0])
    except (
        AttributeError,
        psycopg2.OperationalError,
        psycopg2.ProgrammingError,
    ) as err:
        if is_connection_loss(err):
            raise
        return None  # Odoo's handling says what is wrong with the database
    if not registry.ready or INTAKE_MODEL not in registry:
        return None
    return registry


def _reset_thread(current_thread, dbname):
    """The bookkeeping ``Application.__call__`` does for the request log line."""
    current_thread.query_count = 0
    current_thread.query_time = 0
    current_thread.perf_t0 = time.time()
    current_thread.cursor_mode = "rw"
    current_thread.dbname = dbname
    if hasattr(current_thread, "uid"):
        del current_thread.uid


def _answer_in_autocommit(intake, token):
    """``intake``'s answer, each statement its own transaction: the intake
    writes one statement (a new message with its job, or the count of a
    duplicate), so there is no BEGIN and COMMIT to wait for. A delivery of
    the same key by a transaction still running makes the insert wait for
    it, then find its row: no serialization failure to retry."""
    env = intake.env
    try:
        response = intake.answer(token)
        env.cr.commit()  # the ORM's pending writes (none) and commit hooks
    except Exception:
        env.reset()
        env.registry.reset_changes()
        raise
    return response


def _checked_cursor(registry, autocommit):
    """``(cursor, registry)``: a cursor for the intake and the registry after
    Odoo's signaling check made with it.

    In autocommit, the cursor is on one of :data:`CONNECTIONS` (no reset, see
    :mod:`.intake_connections`); a kept connection found dead by the check
    (PostgreSQL restarted since) is replaced by a new one once, as Odoo's pool
    replaces the connections its reset finds dead. Else (tests) it is the
    registry's own."""
    if autocommit:
        connection_info = sql_db.connection_info_for(registry.db_name)[1]
    while True:
        if autocommit:
            cr = sql_db.Cursor(CONNECTIONS, registry.db_name, connection_info)
            kept = CONNECTIONS.was_kept(cr.connection)
        else:
            cr, kept = registry.cursor(), False
        try:
            # its SELECT prepared on a kept connection: planning it cost more
            # than running it
            checked = PreparingCursor(cr) if autocommit else cr
            return cr, registry.check_signaling(checked)
        except Exception as err:
            with contextlib.suppress(psycopg2.Error):
                cr.close()
            if not (kept and is_connection_loss(err)):
                raise


def serve(environ):
    """The response to a webhook delivery, or None to leave the request to
    Odoo's handling (which answers it the same way, only slower)."""
    if (
        not SETTINGS["enabled"]
        or environ.get("REQUEST_METHOD") != "POST"
        or not environ.get("PATH_INFO", "").startswith(WEBHOOK_PATH)
    ):
        return None
    if config["proxy_mode"] and environ.get("HTTP_X_FORWARDED_HOST"):
        # Odoo rewrites the host from the proxy's headers before picking the
        # database: its handling does it
        return None
    httprequest = http.HTTPRequest(environ)
    if httprequest._session_id__ and not (config["dbfilter"] or config["db_name"]):
        # a session's database is Odoo's choice then; with a filter or a
        # database list, the one database they leave is also the session's
        return None
    token = httprequest.path[len(WEBHOOK_PATH) :]
    if not token or "/" in token:
        return None  # not the route: Odoo's 404
    try:
        registry = _registry(environ)
        if registry is None:
            return None
        _reset_thread(threading.current_thread(), registry.db_name)
        # each statement its own transaction (see _answer_in_autocommit)
        autocommit = not registry.in_test_mode()
        cr, current = _checked_cursor(registry, autocommit)
        with contextlib.closing(cr):
            if current is not registry:
                return None  # reloaded: Odoo builds the new registry
            env = api.Environment(cr, SUPERUSER_ID, {})
            httprequest.max_content_length = body_limit(env, httprequest)
            intake = WebhookIntake(env, httprequest)
            if autocommit:
                response = _answer_in_autocommit(intake, token)
            else:
                # tests: the request runs in the test's transaction
                response = retrying(functools.partial(intake.answer, token), env)
    except Exception as err:
        if is_connection_loss(err):
            OUTAGE.lost(err)
            return unavailable_response()
        _logger.exception("webhook intake failed: %s", httprequest.path)
        return InternalServerError()
    OUTAGE.back()
    return response


def install():
    """Serve webhooks through :func:`serve` in this process (idempotent)."""
    application = http.Application
    if getattr(application.__call__, "_integration_wsgi_intake", False):
        return
    odoo_call = application.__call__

    @functools.wraps(odoo_call)
    def __call__(self, environ, start_response):
        response = serve(environ)
        if response is None:
            return odoo_call(self, environ, start_response)
        return response(environ, start_response)

    __call__._integration_wsgi_intake = True
    application.__call__ = __call__
