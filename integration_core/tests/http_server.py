"""A scripted HTTP/1.1 provider on 127.0.0.1 for outbound tests and benchmarks.

Connector tests reuse it to play the external system: script the answers, then
look at what reached it. It speaks real HTTP (keep-alive, Content-Length), so
the code under test goes through ``requests`` unchanged.
"""

import json
import threading
import time
from collections import deque, namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Recorded = namedtuple("Recorded", "method path headers body json at")


class Reply:
    """One scripted answer; ``delay`` seconds are slept before answering."""

    def __init__(self, status=200, body=None, headers=None, delay=0.0):
        self.status = status
        self.body = body if body is not None else {"ok": True}
        self.headers = headers or {}
        self.delay = delay

    def encode(self):
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class LocalHttpServer:
    """Answers scripted replies in order, then ``default`` (or ``responder(request)``)."""

    def __init__(self, default=None, responder=None):
        self.requests = []
        self.replies = deque()
        self.default = default or Reply()
        self.responder = responder
        self.lock = threading.Lock()
        self._server = None
        self._thread = None

    def script(self, *replies):
        with self.lock:
            self.replies.extend(replies)

    def _next_reply(self, request):
        with self.lock:
            self.requests.append(request)
            if self.replies:
                return self.replies.popleft()
        return self.responder(request) if self.responder else self.default

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                request = Recorded(
                    self.command,
                    self.path,
                    dict(self.headers),
                    raw,
                    parsed,
                    time.time(),
                )
                reply = owner._next_reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # the client gave up (timeout test)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def per_second(self):
        """``{unix second: requests received in it}``"""
        counts = {}
        for request in self.requests:
            counts[int(request.at)] = counts.get(int(request.at), 0) + 1
        return counts
