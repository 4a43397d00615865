from django.conf import settings


def provider(request):
    return {
        "using_simulator": settings.USE_SIMULATOR,
        "provider_base_url": settings.HIGGSFIELD_BASE_URL,
    }
