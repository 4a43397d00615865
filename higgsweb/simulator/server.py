"""HTTP plumbing for the simulator: a threaded stdlib server and a tiny router.
Each surface module registers its routes on a Router."""

import json
import logging
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("higgsweb.simulator")


class Request:
    def __init__(self, handler, method, body):
        parts = urlsplit(handler.path)
        self.method = method
        self.path = parts.path
        self.query_lists = parse_qs(parts.query, keep_blank_values=True)  # every value of a repeated key
        self.query = {k: v[-1] for k, v in self.query_lists.items()}
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.body = body
        host = self.headers.get("host") or f"{handler.server.server_address[0]}:{handler.server.server_address[1]}"
        self.origin = f"{getattr(handler.server, 'scheme', 'http')}://{host}"
        self.params = {}
        self.route = None

    def json(self):
        if not self.body:
            return None
        return json.loads(self.body)


class Response:
    def __init__(self, status=200, body=b"", content_type="application/json", headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def json_response(data, status=200, headers=None):
    return Response(status, json.dumps(data).encode(), "application/json", headers)


def detail(message, status, **extra):
    return json_response({"detail": message, **extra}, status)


class Router:
    def __init__(self):
        self.routes = []

    def add(self, method, pattern, handler):
        """`pattern` is a regex over the path with named groups; first match wins."""
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def route(self, method, pattern):
        def decorator(func):
            self.add(method, pattern, func)
            return func
        return decorator

    def dispatch(self, request):
        allowed = False
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed = True
                continue
            request.params = match.groupdict()
            request.route = handler.__name__
            return handler(request)
        if allowed:
            return detail("Method Not Allowed", 405)
        return detail("Not Found", 404)


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "higgsfield-simulator"

        def _handle(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self, method, body)
            try:
                response = app.handle(request)
            except json.JSONDecodeError:
                response = detail([{"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error"}], 422)
            except Exception:  # a bug in the simulator must not kill its thread silently
                log.exception("simulator error on %s %s", method, self.path)
                response = detail("Internal Server Error", 500)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("X-Correlation-ID", str(uuid.uuid4()))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                try:
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (a browser dropping a media request, say)

        def do_GET(self):
            self._handle("GET")

        def do_HEAD(self):
            self._handle("HEAD")

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        def do_DELETE(self):
            self._handle("DELETE")

        def do_PATCH(self):
            self._handle("PATCH")

        def log_message(self, fmt, *args):
            log.debug("%s - %s", self.address_string(), fmt % args)

    return Handler


class SimulatorServer:
    """Runs an app (anything with `.handle(request)`) on a port, in a background thread.
    With `media_ssl` (a server-side ssl.SSLContext) the same app is also served over https
    on a second loopback port (`media_port`), as a CDN in front of its media would be."""

    def __init__(self, app, host="127.0.0.1", port=0, media_ssl=None, media_port=0):
        self.app = app
        self.httpd = ThreadingHTTPServer((host, port), make_handler(app))
        self.httpd.daemon_threads = True
        self.media_httpd = None
        if media_ssl is not None:
            self.media_httpd = ThreadingHTTPServer((host, media_port), make_handler(app))
            self.media_httpd.daemon_threads = True
            self.media_httpd.scheme = "https"
            # The handshake happens in the request's thread, not in the accepting loop.
            self.media_httpd.socket = media_ssl.wrap_socket(self.media_httpd.socket, server_side=True,
                                                            do_handshake_on_connect=False)
        self.threads = []

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def media_port(self):
        return self.media_httpd.server_address[1] if self.media_httpd else None

    def _serve(self, httpd, name):
        thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def start(self):
        self._serve(self.httpd, "simulator-http")
        if self.media_httpd:
            self._serve(self.media_httpd, "simulator-media")
        self.app.start()
        return self

    def serve_forever(self):
        self.app.start()
        if self.media_httpd:
            self._serve(self.media_httpd, "simulator-media")
        self.httpd.serve_forever()

    def stop(self):
        self.app.stop()
        for httpd in (self.httpd, self.media_httpd):
            if httpd:
                httpd.shutdown()
                httpd.server_close()
