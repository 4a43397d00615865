"""Fetch provider output files, guarded against SSRF and oversize answers."""

import io
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from .client import USER_AGENT, tls_context
from .errors import DownloadRefused, NetworkError


def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def check_url(url, *, allowed_hosts, trusted_origins=()):
    """Raise DownloadRefused unless `url` is https on an allowed host that resolves to
    public addresses. `trusted_origins` (the local simulator) may be plain http on loopback."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise DownloadRefused("Output URL carries credentials; refused.")
    if any(_origin(url) == _origin(origin) for origin in trusted_origins):
        return
    if parts.scheme != "https":
        raise DownloadRefused("Output URL is not https; refused.")
    host = (parts.hostname or "").lower()
    if host not in {h.lower() for h in allowed_hosts}:
        raise DownloadRefused(f"Output host {host!r} is not on the allow-list; refused.")
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise NetworkError(f"Could not resolve {host}.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise DownloadRefused(f"Output host {host!r} resolves to a private address; refused.")


def fetch(url, *, allowed_hosts, trusted_origins=(), max_bytes, transport=None):
    """Return (bytes, content_type): fetch_into a buffer, for files known to be small."""
    buffer = io.BytesIO()
    content_type = fetch_into(buffer, url, allowed_hosts=allowed_hosts, trusted_origins=trusted_origins,
                              max_bytes=max_bytes, transport=transport)
    return buffer.getvalue(), content_type


def fetch_into(sink, url, *, allowed_hosts, trusted_origins=(), max_bytes, transport=None):
    """Stream the file into `sink` (anything with write()) as it arrives; return its content
    type. Redirects are not followed (each hop would need checking)."""
    check_url(url, allowed_hosts=allowed_hosts, trusted_origins=trusted_origins)
    timeout = httpx.Timeout(60.0, connect=5.0)
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False, verify=tls_context(),
                          headers={"User-Agent": USER_AGENT}) as client:
            with client.stream("GET", url) as response:
                if response.status_code == 404:
                    raise DownloadRefused("The provider no longer has this file (404); it may have expired.")
                if response.status_code != 200:
                    raise NetworkError(f"Output download answered {response.status_code}.")
                declared = response.headers.get("Content-Length")
                if declared and int(declared) > max_bytes:
                    raise DownloadRefused(f"Output is larger than {max_bytes} bytes; refused.")
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadRefused(f"Output is larger than {max_bytes} bytes; refused.")
                    sink.write(chunk)
                content_type = response.headers.get("Content-Type", "application/octet-stream")
    except httpx.TransportError as exc:
        raise NetworkError(f"Could not download the output: {exc.__class__.__name__}.") from exc
    return content_type.split(";")[0].strip()
