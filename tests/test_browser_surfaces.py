"""In Chromium, over real HTTP end to end: an admin adds a Pixazo and a web-app (fnf) account and
routes models to them on the Providers pages; a member then generates through each of the four
surfaces (Model API, v1, fnf, Pixazo), each card saying which it ran on, and imports the web
app's history into the gallery once, not twice. (Worker tasks run inline in the server's
thread; a thread stands in for the sweeper that sends the polls.)"""

import threading

import pytest
from django.db import OperationalError, connection
from playwright.sync_api import expect

from generations import pipeline
from generations.models import Generation, ProviderAccount
from tests.browser import htmx_idle, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT = 40_000


@pytest.fixture
def sweeper():
    stop = threading.Event()

    def loop():
        while not stop.wait(0.3):
            try:
                pipeline.dispatch_due()
            except OperationalError:  # the test database locks whole tables; try again next round
                continue
        connection.close()
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


def add_account(page, surface_label, name, secret):
    page.get_by_role("link", name="Providers").click()
    page.locator(".add-list a", has_text=surface_label).click()
    page.fill("input[name=name]", name)
    page.fill("input[name=secret]", secret)
    page.get_by_role("button", name="Add the account").click()
    account = ProviderAccount.objects.get(name=name)
    expect(page.locator(f"#account-{account.pk} [data-health]")).to_contain_text("key accepted")
    expect(page.locator(f"#account-{account.pk}")).not_to_contain_text(secret[:-4])
    return account


def generate(page, model_id, prompt):
    """Pick a model, describe, Generate; the new card, once its result is saved here."""
    before = set(Generation.objects.values_list("pk", flat=True))
    if page.locator("select[name=model]").input_value() != model_id:
        page.select_option("select[name=model]", model_id)
        expect(page.locator("select[name=model]")).to_have_value(model_id)
        htmx_idle(page)
    page.fill("textarea[name=prompt]", prompt)
    htmx_idle(page)
    page.click("#generation-form button[type=submit]")
    expect(page.locator("#generation-form .flash")).to_contain_text("Submitted 1 generation")
    made = Generation.objects.exclude(pk__in=before).get()
    card = page.locator(f"#card-{made.pk}")
    expect(card.locator(".media img, .media video").first).to_be_attached(timeout=WAIT)
    expect(card.locator(".badge").first).to_have_text("Completed")
    return made, card


def test_a_member_generates_through_every_surface_and_imports_the_web_app_history(
        browser_page, live_server, simulator, settings, sweeper, admin_user, alice, project):
    settings.PUBLIC_BASE_URL = live_server.url
    page = browser_page

    # The admin adds the two accounts and routes models to them.
    log_in(page, "ada", "pw-ada-123")
    pixazo = add_account(page, "Pixazo gateway", "Pixazo", "pixazo-demo-key")
    web_app = add_account(page, "Web app fnf API", "Web app", "fnf-demo-token")
    expect(page.locator(f"#account-{web_app.pk} .account-head")).to_contain_text("unofficial")
    page.get_by_role("link", name="Which account runs each model").click()
    page.select_option("select[name=route-higgsfield-ai-dop-lite]", label="Pixazo")
    page.select_option("select[name=route-higgsfield-ai-soul-v2-standard]", label="Web app · web app (fnf)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Saved which account serves each model")
    expect(page.locator("select[name=route-higgsfield-ai-dop-lite]")).to_have_value(str(pixazo.pk))

    # The member generates through each surface.
    page.context.clear_cookies()  # signed out
    log_in(page, "alice", "pw-alice-123")
    image, image_card = generate(page, "higgsfield-ai/soul/standard", "a lighthouse at dusk")
    expect(image_card).to_contain_text("via Model API")
    legacy, legacy_card = generate(page, "v1/text2image/soul", "a harbour crane at dawn")
    expect(legacy_card).to_contain_text("via v1 API")
    soul_2, soul_2_card = generate(page, "higgsfield-ai/soul/v2/standard", "a tram in fog at night")
    expect(soul_2_card).to_contain_text("via web app (fnf)")

    image_card.locator("details.menu > summary").click()
    image_card.get_by_role("link", name="Animate this").click()  # DoP lite, routed to Pixazo
    expect(page.locator("select[name=model]")).to_have_value("higgsfield-ai/dop/lite")
    video, video_card = generate(page, "higgsfield-ai/dop/lite", "the beam sweeps across the sea")
    expect(video_card.locator(".media a.result-thumb img")).to_be_visible()  # its poster frame
    expect(video_card).to_contain_text("via Pixazo")
    ran_on = {g.model_id: (g.account.surface, g.status, g.archived)
              for g in Generation.objects.select_related("account")}
    assert ran_on == {"higgsfield-ai/soul/standard": ("model_api", "completed", True),
                      "v1/text2image/soul": ("v1", "completed", True),
                      "higgsfield-ai/soul/v2/standard": ("fnf", "completed", True),
                      "higgsfield-ai/dop/lite": ("pixazo", "completed", True)}
    video_card.locator("details.menu > summary").click()
    video_card.get_by_role("link", name="Details", exact=True).click()
    expect(page.locator("dd.via")).to_have_text("via Pixazo")

    # The web app's history: in once, not twice.
    page.get_by_role("link", name="Import history").click()
    page.select_option("select[name=project]", label=str(project))
    page.get_by_role("button", name="Import history").click()
    first = page.locator(".imports .import-row").first
    expect(first).to_contain_text("Done", timeout=WAIT)
    expect(first.locator("[data-import-counts]")).to_contain_text("4 added")
    expect(first.locator("[data-import-counts]")).to_contain_text("1 already here")  # the Soul 2 made above
    imported = Generation.objects.filter(imported=True)
    assert imported.count() == 4 and all(g.archived and g.owner == alice for g in imported)

    page.get_by_role("button", name="Import history").click()
    again = page.locator(".imports .import-row").first
    expect(again).to_contain_text("Done", timeout=WAIT)
    expect(again.locator("[data-import-counts]")).to_contain_text("0 added")
    expect(again.locator("[data-import-counts]")).to_contain_text("5 already here")
    assert Generation.objects.filter(imported=True).count() == 4

    page.get_by_role("link", name="See them in the gallery").first.click()
    cards = page.locator("#generation-list article.card", has_text="imported")
    expect(cards).to_have_count(4)
    paper_boat = page.locator("#generation-list article.card", has_text="a paper boat on a rain puddle")
    expect(paper_boat.locator(".media img")).to_be_visible()
    expect(paper_boat).to_contain_text("imported from the web app (fnf)")
