"""Input files a job refers to, as the provider will read them.

A member's upload is stored here and normally handed over as an unguessable URL under
PUBLIC_BASE_URL. When the provider cannot reach that address (a laptop, a private network),
the worker copies the file through the surface's own upload flow instead, once per account,
and sends that URL: the same body every time, so a resubmit stays recognisable."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from generations import higgsfield
from generations.models import Upload


def public_base_is_reachable():
    """Whether the provider could fetch files from PUBLIC_BASE_URL (a public host name)."""
    choice = settings.HIGGSFIELD_UPLOAD_INPUTS
    if choice in ("always", "never"):
        return choice == "never"
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return all(ipaddress.ip_address(address).is_global for address in addresses)


def _uploads_in(value, prefix):
    if isinstance(value, str):
        if value.startswith(prefix):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _uploads_in(item, prefix)
    elif isinstance(value, list):
        for item in value:
            yield from _uploads_in(item, prefix)


def _replace(value, mapping):
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, dict):
        return {key: _replace(item, mapping) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, mapping) for item in value]
    return value


def provider_params(generation, account):
    """The generation's params with our upload URLs swapped for provider-hosted copies where
    needed (always on a surface that names inputs by its own media ids). Raises ProviderError if
    a copy cannot be made (the submit then waits and retries) or an input cannot be handed over."""
    conn = account.connection()
    own_media = higgsfield.needs_own_media(conn)
    if not own_media and (public_base_is_reachable() or not higgsfield.supports_upload(conn)):
        return generation.params
    prefix = settings.PUBLIC_BASE_URL + reverse("upload-public", args=["x"])[:-2]
    mapping = {}
    for url in set(_uploads_in(generation.params, prefix)):
        token = url[len(prefix):].strip("/")
        upload = Upload.objects.filter(token=token).first()
        if upload is not None:
            mapping[url] = provider_copy(upload, account)
    if own_media:
        strays = sorted(set(_uploads_in(generation.params, "http")) - set(mapping))
        if strays:
            raise higgsfield.BadRequest(f"The {account.via} takes input files only as its own uploads, and "
                                        f"{strays[0]} is not one of yours: pick one of your uploads or results.")
    return _replace(generation.params, mapping) if mapping else generation.params


def provider_copy(upload, account):
    if upload.provider_url and upload.provider_account_id == account.pk:
        return upload.provider_url
    with upload.file.open("rb") as fh:
        data = fh.read()
    media = higgsfield.upload_media(account.connection(), data, upload.content_type)
    Upload.objects.filter(pk=upload.pk).update(provider_url=media.url, provider_media_id=media.id,
                                               provider_account=account)
    return media.url


def provider_media(params, account):
    """{provider URL: Media} for the inputs in `params` that were copied to `account`, with the
    id and size a surface that names inputs by id needs (the web app's DoP body)."""
    urls = set(_uploads_in(params, "http"))
    if not urls or not higgsfield.needs_own_media(account.connection()):
        return {}
    copies = Upload.objects.filter(provider_account=account, provider_url__in=urls)
    return {upload.provider_url: higgsfield.Media(url=upload.provider_url, id=upload.provider_media_id,
                                                  content_type=upload.content_type, width=upload.width,
                                                  height=upload.height) for upload in copies}
