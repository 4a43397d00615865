"""Nothing this app renders is for a shared cache.

Pages, htmx fragments, JSON answers and share-link pages show one person's work (or one
link's gallery), so a proxy or CDN must never keep a copy for the next visitor, and the
browser keeps none either: `Cache-Control: private, no-store`, as Django's `never_cache`
gives the login page. A view that chose its own caching (media files a browser may keep
for a while) keeps it, marked `private`. Static files are served above this middleware by
whitenoise, with their own long-lived headers."""

from django.utils.cache import add_never_cache_headers, patch_cache_control


class PrivateResponsesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            patch_cache_control(response, private=True)
        else:
            add_never_cache_headers(response)
        return response
