import pytest
from django.apps import apps
from django.contrib import admin

from generations.models import ProviderAccount

OUR_APPS = ("higgsweb", "generations", "characters")
INLINE = ("StatusEvent", "Output", "CharacterPhoto", "GalleryItem")  # shown inline on their parent


def test_every_model_of_ours_is_in_the_admin():
    missing = [m.__name__ for m in apps.get_models() if m._meta.app_label in OUR_APPS
               and m not in admin.site._registry and m.__name__ not in INLINE]
    assert missing == []


@pytest.mark.parametrize("model", [m for m in admin.site._registry if m._meta.app_label in OUR_APPS],
                         ids=lambda m: m.__name__)
def test_each_admin_list_opens_for_an_admin(client, admin_user, model):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert client.get(url).status_code == 200


def test_a_provider_secret_is_never_shown_and_kept_when_left_empty(client, admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    account = ProviderAccount.objects.create(name="agency", surface="fnf", base_url="https://fnf.example",
                                             key_secret="s3cret-token")
    client.force_login(admin_user)
    page = client.get(f"/admin/generations/provideraccount/{account.pk}/change/").content.decode()
    assert "s3cret-token" not in page
    client.post(f"/admin/generations/provideraccount/{account.pk}/change/", {
        "name": "agency", "surface": "fnf", "base_url": "https://fnf.example", "key_id": "", "key_secret": "",
        "concurrency_limit": 2, "active": "on"})
    account.refresh_from_db()
    assert account.key_secret == "s3cret-token" and account.concurrency_limit == 2
