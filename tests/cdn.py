"""A made-up CDN for tests: host names the app has never heard of, served over real TLS from
loopback ports. `Cdn` takes the place of DNS and of the TCP connect in
generations/higgsfield/download.py: a name resolves to a public-looking address, and that
address is connected to a loopback port. Everything else — the https rule, the public-address
check, pinning, redirects, certificate verification for the host name — runs as in production.
"""

import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore

from generations.higgsfield import download

MEDIA_HOST = "media.sim-cdn.test"
# Global unicast addresses that nothing in the tests ever reaches: the connect hook sends
# them to loopback ports.
PUBLIC_ADDRESSES = ["93.184.216.34", "151.101.65.140", "2606:4700::6810:84e5", "185.199.108.153"]


class Cdn:
    """Name → addresses and address → loopback port, installed with monkeypatch."""

    def __init__(self, monkeypatch):
        self.names, self.ports, self.lookups, self.connects = {}, {}, [], []
        self._free = list(PUBLIC_ADDRESSES)
        real_resolve = download.resolve
        real_open = download.open_tcp

        def resolve(host, port):
            self.lookups.append(host)
            if host in self.names:
                return list(self.names[host])
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise socket.gaierror(f"{host} is not a name these tests know") from None
            return real_resolve(host, port)  # an IP literal: no DNS involved

        def open_tcp(address, port, timeout=None, socket_options=None):
            self.connects.append((address, port))
            if address not in self.ports:
                if ipaddress.ip_address(address).is_loopback:  # the simulator's own origin
                    return real_open(address, port, timeout=timeout, socket_options=socket_options)
                raise httpcore.ConnectError(f"the tests never connect to {address}")
            return real_open("127.0.0.1", self.ports[address], timeout=timeout, socket_options=socket_options)

        monkeypatch.setattr(download, "resolve", resolve)
        monkeypatch.setattr(download, "open_tcp", open_tcp)

    def add(self, host, loopback_port, addresses=None):
        """Serve `host` from `loopback_port`; returns the address it resolves to."""
        addresses = addresses or [self._free.pop(0)]
        self.names[host] = addresses
        for address in addresses:
            self.ports[address] = loopback_port
        return addresses[0]

    def point(self, host, addresses):
        """Make `host` resolve to `addresses` (e.g. a private one) without serving it."""
        self.names[host] = list(addresses)


def server_context(ca, *names):
    """A server-side TLS context with a certificate for `names` from the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


class Files:
    """An https file server on loopback: path → (bytes, content type) or ("redirect", location).
    `declare_length=False` streams without Content-Length."""

    def __init__(self, ca, names):
        self.files, self.declare_length, self.requests = {}, True, []
        files = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                files.requests.append((self.headers.get("Host"), self.path))
                body, content_type = files.files.get(self.path, (b"missing", "text/plain"))
                if body == "redirect":
                    self.send_response(302)
                    self.send_header("Location", content_type)
                    self.end_headers()
                    return
                self.send_response(200 if self.path in files.files else 404)
                self.send_header("Content-Type", content_type)
                if files.declare_length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = server_context(ca, *names).wrap_socket(self.server.socket, server_side=True,
                                                                    do_handshake_on_connect=False)
        self.server.handle_error = lambda request, address: None  # refused handshakes are the point
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, host, path, body, content_type):
        self.files[path] = (body, content_type)
        return f"https://{host}{path}"

    def redirect(self, path, location):
        self.files[path] = ("redirect", location)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def get(url, timeout=30):
    """GET a URL the way the app's downloads reach it (made-up CDN names included), for tests
    that look at what the simulator serves. Loopback http is allowed here, for its own origin."""
    import httpx

    host, _port, address = download.checked_target(url, download.Policy(max_bytes=0, allow_local=True))
    with httpx.Client(transport=download._PinnedTransport(host, address), timeout=timeout, trust_env=False) as client:
        response = client.get(url)
        response.read()
        return response
