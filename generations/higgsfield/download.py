"""Fetch provider output files from whatever CDN serves them, guarded against SSRF and
oversize answers.

Every hop (the first URL and each redirect, at most MAX_REDIRECTS) is checked: https, no
credentials in the URL, on the optional stricter host list, and a host name that resolves
only to public addresses. The connection then goes to the address that was checked: the
client never looks the name up again, so a DNS answer that changes between the check and
the connect (rebinding) cannot send it elsewhere. TLS still verifies the certificate for
the host name.

`resolve` and `open_tcp` are the two places the network is touched; tests replace them
(a made-up CDN name → a public-looking address → the simulator's loopback port), so the
policy that runs in tests is the one that runs in production.
"""

import io
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .client import USER_AGENT, tls_context
from .errors import DownloadRefused, NetworkError

MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# IPv6 prefixes that carry an IPv4 address the packet ends up at (NAT64 well-known prefix).
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class Policy:
    """Where output files may come from. `hosts` is an optional stricter list of exact names
    and `*.suffix` patterns (empty: any host that passes the checks); `allow_local` also
    accepts plain http and loopback addresses, for the local simulator only."""

    max_bytes: int
    hosts: tuple = ()
    allow_local: bool = False


def resolve(host, port):
    """Every address `host` resolves to (the one DNS lookup of a hop)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def open_tcp(address, port, timeout=None, socket_options=None):
    """Open the TCP connection to a checked address."""
    return httpcore.SyncBackend().connect_tcp(address, port, timeout=timeout, socket_options=socket_options)


def host_allowed(host, patterns):
    """`host` equals a pattern, or a `*.suffix` pattern covers it (not the bare suffix)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().strip().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def embedded_ipv4(address):
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address):
    """Whether a connection to `address` reaches the public internet: not private,
    loopback, link-local, multicast, reserved, unspecified or shared (CGNAT), in IPv4 or
    IPv6, nor an IPv6 form of such an IPv4 address."""
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_loopback
                                      or address.is_link_local or address.is_unspecified)


def checked_target(url, policy):
    """(host, port, address) for one hop, or DownloadRefused / NetworkError."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise DownloadRefused("Output URL carries credentials; refused.")
    if parts.scheme != "https" and not (policy.allow_local and parts.scheme == "http"):
        raise DownloadRefused("Output URL is not https; refused.")
    host = (parts.hostname or "").lower()
    if not host:
        raise DownloadRefused("Output URL has no host; refused.")
    if policy.hosts and not host_allowed(host, policy.hosts):
        raise DownloadRefused(f"Output host {host!r} is not on HIGGSFIELD_MEDIA_HOSTS; refused.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DownloadRefused("Output URL has an invalid port; refused.") from exc
    try:
        addresses = [ipaddress.ip_address(str(a).split("%", 1)[0]) for a in resolve(host, port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise NetworkError(f"Could not resolve {host}.") from exc
    if not addresses:
        raise NetworkError(f"Could not resolve {host}.")
    local = [a for a in addresses if not is_public(a)]
    if local and not (policy.allow_local and all(a.is_loopback or (embedded_ipv4(a) or a).is_loopback
                                                 for a in local)):
        raise DownloadRefused(f"Output host {host!r} resolves to a non-public address; refused.")
    if parts.scheme == "http" and not local:
        raise DownloadRefused("Output URL is not https; refused.")  # plain http only on this machine
    return host, port, str(addresses[0])


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects every request of one hop to the address that was checked for its host."""

    def __init__(self, host, address):
        self.host, self.address = host, address

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host.lower() != self.host:
            raise httpcore.ConnectError(f"unexpected host {host!r}")
        return open_tcp(self.address, port, timeout=timeout, socket_options=socket_options)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not used for downloads")

    def sleep(self, seconds):
        httpcore.SyncBackend().sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, host, address):
        super().__init__(verify=tls_context(), trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=tls_context(), max_connections=1,
                                             network_backend=_PinnedBackend(host, address))


def fetch(url, policy):
    """Return (bytes, content_type): fetch_into a buffer, for files known to be small."""
    buffer = io.BytesIO()
    content_type = fetch_into(buffer, url, policy)
    return buffer.getvalue(), content_type


def fetch_into(sink, url, policy):
    """Stream the file into `sink` (anything with write()) as it arrives; return its content
    type. Redirects are followed up to MAX_REDIRECTS, each hop checked like the first."""
    for _ in range(MAX_REDIRECTS + 1):
        host, _port, address = checked_target(url, policy)
        location, content_type = _get(sink, url, host, address, policy)
        if location is None:
            return content_type
        url = urljoin(url, location)
    raise DownloadRefused(f"Output URL redirected more than {MAX_REDIRECTS} times; refused.")


def _get(sink, url, host, address, policy):
    """One pinned GET: (None, content type) once the body is in `sink`, or (Location, None)
    for a redirect."""
    try:
        with httpx.Client(timeout=TIMEOUT, transport=_PinnedTransport(host, address), follow_redirects=False,
                          trust_env=False, headers={"User-Agent": USER_AGENT}) as client:
            with client.stream("GET", url) as response:
                status = response.status_code
                if status in REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise DownloadRefused(f"Output download answered {status} without a Location; refused.")
                    return location, None
                if status == 404:
                    raise DownloadRefused("The provider no longer has this file (404); it may have expired.")
                if status in (408, 425, 429) or status >= 500:
                    raise NetworkError(f"Output download answered {status}.")
                if status != 200:
                    raise DownloadRefused(f"Output download answered {status}; refused.")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                    raise DownloadRefused(f"Output is larger than {policy.max_bytes} bytes; refused.")
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > policy.max_bytes:
                        raise DownloadRefused(f"Output is larger than {policy.max_bytes} bytes; refused.")
                    sink.write(chunk)
                content_type = response.headers.get("Content-Type", "application/octet-stream")
    except httpx.TransportError as exc:
        if _certificate_refused(exc):
            raise DownloadRefused(f"The certificate of {host!r} could not be verified; refused.") from exc
        raise NetworkError(f"Could not download the output: {exc.__class__.__name__}.") from exc
    return None, content_type.split(";")[0].strip() or "application/octet-stream"


def _certificate_refused(exc):
    """Whether a transport error was a failed certificate check (it persists; not weather)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
