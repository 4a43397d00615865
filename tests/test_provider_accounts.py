"""The provider accounts pages (admins only): the list with each account's surface, address,
limit, default-ness and health; adding and changing accounts of every surface with write-only
credentials; a check of the credentials run by the worker."""

import pytest

from generations.models import ProviderAccount
from higgsweb.models import ProviderBalance

SECRETS = {"model_api": ("key-id-1", "model-api-secret-7781"), "v1": ("v1-key-id", "v1-secret-value-4410"),
           "fnf": (None, "eyJhbGciOi.fnf-jwt-payload.sig9931"), "pixazo": (None, "pixazo-subscription-5566")}


@pytest.fixture
def admin(client, admin_user, django_capture_on_commit_callbacks):
    """An admin's client whose requests run what they queue on commit (the worker's checks)."""
    client.force_login(admin_user)
    original = client.generic

    def generic(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return original(*args, **kwargs)
    client.generic = generic
    return client


def add(client, surface, **fields):
    key_id, secret = SECRETS[surface]
    data = {"surface": surface, "name": f"{surface} account", "base_url": "", "concurrency_limit": "3",
            "active": "on", "secret": secret, **({"key_id": key_id} if key_id else {}), **fields}
    return client.post(f"/providers/accounts/new/?surface={surface}", data)


def pages(account):
    return [("GET", "/providers/accounts/"), ("GET", "/providers/accounts/new/?surface=pixazo"),
            ("POST", "/providers/accounts/new/?surface=pixazo"), ("GET", f"/providers/accounts/{account.pk}/"),
            ("POST", f"/providers/accounts/{account.pk}/"), ("POST", f"/providers/accounts/{account.pk}/check/"),
            ("GET", "/providers/routes/"), ("POST", "/providers/routes/")]


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_members_and_clients_get_404_on_every_provider_page(client, request, who):
    user = request.getfixturevalue(who)
    account = ProviderAccount.objects.create(name="gateway", surface="pixazo", base_url="https://gw.example",
                                             key_secret="pixazo-subscription-5566")
    client.force_login(user)
    for method, url in pages(account):
        response = client.generic(method, url, {"name": "taken over", "secret": "x" * 12})
        assert response.status_code == 404, f"{method} {url}"
    account.refresh_from_db()
    assert (account.name, account.key_secret) == ("gateway", "pixazo-subscription-5566")
    assert ProviderAccount.objects.count() == 1


def test_the_navigation_offers_the_providers_page_to_admins_only(client, admin_user, alice):
    client.force_login(admin_user)
    assert 'href="/providers/accounts/"' in client.get("/").content.decode()
    client.force_login(alice)
    assert 'href="/providers/accounts/"' not in client.get("/").content.decode()


@pytest.mark.parametrize("surface", ["model_api", "v1", "fnf", "pixazo"])
def test_an_admin_adds_each_kind_of_account_and_its_secret_is_never_sent_back(admin, simulator, surface):
    response = add(admin, surface)
    assert response.status_code == 302
    account = ProviderAccount.objects.get(name=f"{surface} account")
    key_id, secret = SECRETS[surface]
    assert (account.surface, account.key_secret, account.key_id, account.concurrency_limit) == (
        surface, secret, key_id or "", 3)
    assert account.base_url == simulator.url + {"fnf": "/fnf", "pixazo": "/pixazo"}.get(surface, "")
    for url in ("/providers/accounts/", f"/providers/accounts/{account.pk}/"):
        html = admin.get(url).content.decode()
        assert secret not in html and secret[:-4] not in html
        assert f"…{secret[-4:]}" in html
    form = admin.get(f"/providers/accounts/{account.pk}/").content.decode()
    assert 'type="password"' in form and 'name="secret"' in form
    assert 'name="secret" value' not in form


def test_leaving_the_secret_empty_keeps_the_stored_one(admin, simulator):
    add(admin, "pixazo")
    account = ProviderAccount.objects.get()
    response = admin.post(f"/providers/accounts/{account.pk}/", {"name": "Pixazo (studio)", "base_url": "",
                                                                 "concurrency_limit": "2", "active": "on",
                                                                 "secret": ""})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.concurrency_limit, account.key_secret) == (
        "Pixazo (studio)", 2, SECRETS["pixazo"][1])
    admin.post(f"/providers/accounts/{account.pk}/", {"name": "Pixazo (studio)", "concurrency_limit": "2",
                                                      "active": "on", "secret": "a-fresh-key-0042"})
    account.refresh_from_db()
    assert account.key_secret == "a-fresh-key-0042"


def test_a_new_account_without_credentials_says_which_field_and_keeps_what_was_typed(admin):
    response = admin.post("/providers/accounts/new/?surface=model_api",
                          {"name": "Studio key", "base_url": "https://api.higgsfield.ai", "concurrency_limit": "4"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter the Key id." in html and "Enter the key secret." in html
    assert 'value="Studio key"' in html and 'value="https://api.higgsfield.ai"' in html
    assert not ProviderAccount.objects.filter(name="Studio key").exists()


def test_the_fnf_form_is_marked_unofficial_and_asks_for_a_fresh_token(admin):
    html = admin.get("/providers/accounts/new/?surface=fnf").content.decode()
    assert "Unofficial." in html and "against the web app's terms" in html
    assert "about 60 seconds" in html and "paste a fresh one" in html
    assert 'name="key_id"' not in html  # a Bearer token only
    listing = admin.get("/providers/accounts/").content.decode()
    assert "unofficial" in listing


def test_saving_checks_the_credentials_and_the_list_shows_the_answer(admin, simulator):
    simulator.pixazo.keys.append(SECRETS["pixazo"][1])
    add(admin, "pixazo", name="right key")
    add(admin, "pixazo", name="wrong key", secret="not-a-pixazo-key-1234")
    right, wrong = ProviderAccount.objects.get(name="right key"), ProviderAccount.objects.get(name="wrong key")
    assert right.last_reading.key_valid is True and wrong.last_reading.key_valid is False
    html = admin.get("/providers/accounts/").content.decode()
    right_html = html[html.index(f'id="account-{right.pk}"'):]
    assert "key accepted" in right_html[:right_html.index("</section>")]
    wrong_html = html[html.index(f'id="account-{wrong.pk}"'):]
    assert "key refused" in wrong_html[:wrong_html.index("</section>")]


def test_check_now_reads_the_fnf_account_again_and_a_passing_check_clears_the_last_error(admin, simulator):
    add(admin, "fnf", secret="an-expired-jwt-token")
    account = ProviderAccount.objects.get()
    assert account.last_reading.key_valid is False
    assert "fresh token" in account.last_reading.note
    account.record_error("The fnf web-app token was refused.")
    account.key_secret = "fnf-demo-token"
    account.save()
    assert admin.post(f"/providers/accounts/{account.pk}/check/").status_code == 302
    account.refresh_from_db()
    assert account.last_reading.key_valid is True
    assert account.last_reading.credits == 500  # the web app's /user reports the credits
    assert account.last_error == ""
    assert ProviderBalance.objects.filter(account=account).count() == 2


def test_one_default_account_per_surface(admin, simulator):
    add(admin, "pixazo", name="first", is_default="on")
    add(admin, "pixazo", name="second", is_default="on")
    add(admin, "fnf", name="web", is_default="on")
    assert set(ProviderAccount.objects.filter(is_default=True).values_list("name", flat=True)) == {"second", "web"}


def test_the_environment_account_can_be_switched_off_and_stays_off(admin, simulator):
    env = ProviderAccount.objects.default()
    html = admin.get(f"/providers/accounts/{env.pk}/").content.decode()
    assert 'name="secret"' not in html and 'name="base_url"' not in html  # the environment decides those
    admin.post(f"/providers/accounts/{env.pk}/", {"concurrency_limit": "4"})  # "active" unticked
    env.refresh_from_db()
    assert not env.active
    assert ProviderAccount.objects.default() is None
    env.refresh_from_db()
    assert not env.active and env.name == "environment"
