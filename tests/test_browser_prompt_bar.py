"""The studio in Chromium at the sizes people use it: the prompt bar in view at 1440×900 and
390×844, Ctrl+Enter to submit, the new card brought into view, errors shown and focused where
they are, images pasted or dropped, a budget changed by an admin seen by the member, and the
navigation folded into a menu on a phone."""

import re

import pytest
from playwright.sync_api import expect

from generations.models import Generation, Upload
from tests.browser import htmx_idle, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESKTOP, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}
BAR = ["select[name=model]", "textarea[name=prompt]", "#cost", "#generation-form button[type=submit]"]


def scroll_to_bottom(page):
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")


def no_sideways_scroll(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def history(alice, project, finished):
    """Enough finished work that the feed runs far below the fold."""
    return [finished(alice, project, f"study {n}", colour=(20 * n % 255, 90, 140)) for n in range(24)]


def test_ctrl_enter_submits_and_the_new_card_appears_in_view(browser_page, live_server, simulator, settings,
                                                              alice, project, history):
    settings.PUBLIC_BASE_URL = live_server.url
    page = browser_page
    page.set_viewport_size(DESKTOP)
    log_in(page, "alice", "pw-alice-123")
    expect(page.locator("#cost")).to_contain_text("credits")
    for selector in BAR:
        expect(page.locator(selector)).to_be_in_viewport(ratio=1)
    expect(page.locator("select[name=aspect_ratio]")).to_be_hidden()  # folded under More settings

    scroll_to_bottom(page)  # far down the feed: the bar stays in view
    expect(page.locator("textarea[name=prompt]")).to_be_in_viewport(ratio=1)
    page.fill("textarea[name=prompt]", "a lighthouse at dusk, long exposure")
    htmx_idle(page)
    page.press("textarea[name=prompt]", "Control+Enter")
    expect(page.locator("#generation-form .flash")).to_contain_text("Submitted 1 generation")
    made = Generation.objects.exclude(pk__in=[g.pk for g in history]).get()
    card = page.locator(f"#card-{made.pk}")
    expect(card).to_be_in_viewport()
    expect(card).to_have_class(re.compile(r"\bjust-made\b"))
    assert page.locator("#generation-list article.card").first.get_attribute("id") == f"card-{made.pk}"
    # The same settings stay for the next one, with a fresh prompt box ready.
    expect(page.locator("textarea[name=prompt]")).to_have_value("a lighthouse at dusk, long exposure")


def test_an_error_under_more_settings_opens_it_and_is_focused_in_view_on_a_phone(browser_page, alice, project,
                                                                                history):
    page = browser_page
    page.set_viewport_size(PHONE)
    log_in(page, "alice", "pw-alice-123")
    for selector in BAR:
        expect(page.locator(selector)).to_be_in_viewport(ratio=1)
    page.fill("textarea[name=prompt]", "keep this prompt")
    page.click("#generation-form .more-settings > summary")
    page.fill("input[name=seed]", "1000001")
    page.click("#generation-form .more-settings > summary")  # folded again before pressing Generate
    htmx_idle(page)
    page.click("#generation-form button[type=submit]")
    seed = page.locator("input[name=seed]")
    expect(seed).to_be_focused()
    expect(seed).to_be_in_viewport()
    expect(page.locator("[data-param=seed] .error")).to_be_in_viewport()
    expect(page.locator("[data-param=seed] .error")).to_contain_text("less than or equal to 1000000")
    expect(page.locator("textarea[name=prompt]")).to_have_value("keep this prompt")
    assert not Generation.objects.exclude(pk__in=[g.pk for g in history]).exists()

    # A missing prompt, submitted from far down the page with the keyboard: the prompt is focused.
    page.fill("textarea[name=prompt]", "")
    page.fill("input[name=seed]", "")
    htmx_idle(page)
    page.press("input[name=seed]", "Control+Enter")
    prompt = page.locator("textarea[name=prompt]")
    expect(prompt).to_be_focused()
    expect(prompt).to_be_in_viewport()
    expect(page.locator("[data-param=prompt] .error")).to_contain_text("required")


def test_a_budget_changed_on_the_audit_page_is_what_the_member_sees_before_generate(
        browser_page, admin_user, alice, project, monkeypatch):
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    page = browser_page
    page.set_viewport_size(DESKTOP)
    log_in(page, "ada", "pw-ada-123")
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("link", name="Budgets").click()
    row = page.locator(f"#budget-user-{alice.pk}")
    row.get_by_label("Limit").fill("2")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("alice")
    expect(page.locator(f"#budget-user-{alice.pk}").get_by_label("Limit")).to_have_value("2.000")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "alice", "pw-alice-123")
    allowance = page.locator("#generation-form [data-allowance]")
    expect(allowance).to_contain_text("2 credits left this month")
    page.fill("textarea[name=prompt]", "four red kites")
    page.click("#generation-form .more-settings > summary")
    page.select_option("select[name=batch_size]", "4")
    expect(page.locator("#cost")).to_contain_text("6 credits")
    expect(page.locator("#generation-form .cost-line")).to_contain_text("would be refused")
    htmx_idle(page)
    page.press("textarea[name=prompt]", "Control+Enter")
    problem = page.locator("#generation-form [data-form-error]")
    expect(problem).to_contain_text("Over budget")
    expect(problem).to_be_focused()
    expect(problem).to_be_in_viewport()
    assert not Generation.objects.exists()


def test_an_image_pasted_or_dropped_becomes_the_start_and_end_frame(browser_page, alice, project, monkeypatch):
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    page = browser_page
    page.set_viewport_size(DESKTOP)
    log_in(page, "alice", "pw-alice-123")
    page.goto("/?model=higgsfield-ai/dop/lite")
    page.fill("textarea[name=prompt]", "slow push in")
    # Paste from the clipboard while typing the prompt: the first empty image input takes it.
    page.evaluate("""async () => {
        const canvas = Object.assign(document.createElement("canvas"), {width: 48, height: 32});
        canvas.getContext("2d").fillRect(0, 0, 48, 32);
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
        const data = new DataTransfer();
        data.items.add(new File([blob], "pasted.png", {type: "image/png"}));
        document.querySelector("textarea[name=prompt]").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("[data-param=image_url] [data-drop-preview] img")).to_have_count(1)
    # Drop another onto the end frame (it is under More settings).
    page.click("#generation-form .more-settings > summary")
    page.evaluate("""async () => {
        const canvas = Object.assign(document.createElement("canvas"), {width: 40, height: 40});
        canvas.getContext("2d").fillRect(0, 0, 40, 40);
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
        const data = new DataTransfer();
        data.items.add(new File([blob], "dropped.png", {type: "image/png"}));
        const zone = document.querySelector("[data-param=end_image_url] .drop-target");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("[data-param=end_image_url] [data-drop-preview] img")).to_have_count(1)
    htmx_idle(page)
    page.click("#generation-form button[type=submit]")
    expect(page.locator("#generation-form .flash")).to_contain_text("Submitted 1 generation")
    params = Generation.objects.get().params
    sizes = {(u.width, u.height): u.public_url for u in Upload.objects.all()}
    assert params["image_url"] == sizes[(48, 32)] and params["end_image_url"] == sizes[(40, 40)]


def test_on_a_phone_the_navigation_is_a_menu_and_every_page_fits(browser_page, admin_user, alice, project):
    page = browser_page
    page.set_viewport_size(PHONE)
    log_in(page, "ada", "pw-ada-123")
    for path in ("/", "/characters/", "/galleries/", "/audit/", "/audit/budgets/", "/audit/reconciliation/",
                 "/health/", "/profile/", "/notifications/"):
        page.goto(path)
        assert no_sideways_scroll(page), f"{path} scrolls sideways at 390 px"
        expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    page.goto("/")
    for selector in BAR:
        expect(page.locator(selector)).to_be_in_viewport(ratio=1)
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Audit")).to_be_visible()
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_in_viewport()
    page.keyboard.press("Escape")  # closes it again, focus back on the button
    expect(log_out).to_be_hidden()
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    log_out.click()
    page.wait_for_url("**/login/")
    assert "Log in" in page.inner_text("main")
