"""Concurrent duplicate deliveries on a real server (issue #18).

The in-process webhook tests run the intake inside the test's transaction.
On a server it runs otherwise: the WSGI-level intake stores each delivery in
autocommit, one statement for the message and its job, and two workers take
the same delivery at the same time. These tests start Odoo with two HTTP
workers on a database of their own and post every delivery several times at
once, through the WSGI intake and through Odoo's route
(``INTEGRATION_WSGI_INTAKE=0``): each delivery is stored once with one job,
answered ``accepted`` once and ``duplicate`` for every other copy, and counted.
"""

import json
import os
import tempfile
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from odoo.addons.integration_core.tests.common import standard_webhook_headers

from .e2e import harness

DELIVERIES = 12
COPIES = 6
# Creates the backend from a process of its own: this one runs Odoo's tests and
# cannot open a second registry. argv: e2e folder, database; prints the
# webhook path and secret as JSON.
SEED_BACKEND = """
import json, sys
sys.path.insert(0, sys.argv[1])
import harness
with harness.environment(sys.argv[2]) as env:
    secret = "whsec_" + "c2VydmVyIGR1cGxpY2F0ZXMgdGVzdCBzZWNyZXQ="
    backend = env["integration.backend"].create(
        {"name": "concurrent duplicates", "webhook_secret": secret}
    )
    info = {"path": "/integration/webhook/" + backend.webhook_token,
            "secret": secret, "id": backend.id}
sys.stdout.write(json.dumps(info))
"""


@pytest.fixture(scope="module")
def intake_database():
    db = f"h_intake_dup_{uuid.uuid4().hex[:6]}"
    log = os.path.join(tempfile.gettempdir(), f"{db}.log")
    harness.install_database(db, "integration_core", log)
    try:
        info = harness.run_seed_script(SEED_BACKEND, db)
        yield db, log, info
    finally:
        harness.drop_database(db)


def _post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except OSError as err:  # the assertion shows it
        return None, repr(err)


def _post_all_at_once(url, deliveries):
    """Post every (body, headers) of ``deliveries`` from a thread of its own,
    released together; their (status, answer) in the same order."""
    answers = [None] * len(deliveries)
    start = threading.Barrier(len(deliveries))

    def send(index, body, headers):
        start.wait()
        answers[index] = _post(url, body, headers)

    threads = [
        threading.Thread(target=send, args=(index, body, headers))
        for index, (body, headers) in enumerate(deliveries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


@pytest.mark.parametrize("wsgi_intake", ["1", "0"], ids=["wsgi-intake", "odoo-route"])
def test_concurrent_copies_of_a_delivery_are_stored_once(intake_database, wsgi_intake):
    db, log, info = intake_database
    run = uuid.uuid4().hex[:8]
    copies_of = {}
    for number in range(DELIVERIES):
        key = f"msg_{run}_{number}"
        body = json.dumps(
            {"type": "integration.ping", "data": {"id": key, "qty": number}}
        ).encode()
        headers = standard_webhook_headers(info["secret"], body, msg_id=key)
        copies_of[key] = [(body, headers)] * COPIES
    deliveries = [copy for copies in copies_of.values() for copy in copies]
    with harness.OdooServer(
        db,
        workers=2,
        # no job runs: the jobs stored by the intake are what is counted
        channels="root:0",
        log=log,
        extra_env={"INTEGRATION_WSGI_INTAKE": wsgi_intake},
    ) as server:
        # the copies of one delivery at once (more connections at a time than
        # the server's listen backlog would be refused by the kernel)
        answers = [
            answer
            for copies in copies_of.values()
            for answer in _post_all_at_once(server.url + info["path"], copies)
        ]

    assert all(status == 200 for status, _answer in answers), answers
    answered = {}
    for (_body, headers), (_status, answer) in zip(deliveries, answers, strict=True):
        answered.setdefault(headers["webhook-id"], []).append(answer)
    for key, key_answers in answered.items():
        statuses = sorted(answer["status"] for answer in key_answers)
        assert statuses == ["accepted"] + ["duplicate"] * (COPIES - 1), (key, statuses)
        assert len({answer["id"] for answer in key_answers}) == 1, (key, key_answers)

    rows = harness.query(
        db,
        """SELECT m.idempotency_key, m.duplicate_count, m.state,
                  (SELECT count(*) FROM queue_job j
                    WHERE j.model_name = 'integration.inbox.message'
                      AND (j.records #>> '{}')::jsonb -> 'ids' @> to_jsonb(m.id))
             FROM integration_inbox_message m
            WHERE m.backend_id = %s AND m.idempotency_key LIKE %s""",
        (info["id"], f"msg_{run}_%"),
    )
    assert len(rows) == DELIVERIES, rows
    for key, duplicate_count, state, jobs in rows:
        assert duplicate_count == COPIES - 1, (key, duplicate_count)
        assert state == "queued", (key, state)
        assert jobs == 1, (key, jobs)


def test_kept_intake_connections_replaced_when_their_backends_end(intake_database):
    """The WSGI intake keeps its connections between deliveries (no reset to
    find a dead one): after PostgreSQL ended every session of the server
    (a restart would), the next deliveries are accepted, not answered 503."""
    db, log, info = intake_database
    run = uuid.uuid4().hex[:8]

    def delivery(key):
        body = json.dumps({"type": "integration.ping", "data": {"id": key}}).encode()
        return body, standard_webhook_headers(info["secret"], body, msg_id=key)

    with harness.OdooServer(db, workers=2, channels="root:0", log=log) as server:
        url = server.url + info["path"]
        # at once: both workers serve some, and keep a connection
        before = _post_all_at_once(
            url, [delivery(f"msg_{run}_before{number}") for number in range(8)]
        )
        ended = harness.query(
            db,
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = %s AND pid <> pg_backend_pid()""",
            (db,),
        )
        after = [_post(url, *delivery(f"msg_{run}_after{n}")) for n in range(6)]

    assert all(status == 200 for status, _answer in before), before
    assert ended, "the server's sessions were ended"
    assert [status for status, _answer in after] == [200] * 6, after
    assert {answer["status"] for _status, answer in after} == {"accepted"}, after
    stored = harness.query(
        db,
        "SELECT count(*) FROM integration_inbox_message WHERE idempotency_key LIKE %s",
        (f"msg_{run}_%",),
    )
    assert stored[0][0] == 14, stored
