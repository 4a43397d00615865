"""Shared fixtures: a few named people, a project, tasks run inline, and a real
simulator on a free loopback port."""

import pytest
import trustme
from django.core.cache import cache
from django_q.conf import Conf

from generations.models import Gallery, ProviderAccount
from higgsweb.models import Project, User
from higgsweb.simulator.app import Config, Simulator
from higgsweb.simulator.server import SimulatorServer
from tests.browser import browser_page  # noqa: F401  (the shared Playwright fixture; see tests/browser.py)
from tests.cdn import MEDIA_HOST, Cdn, server_context

SIM_KEY, SIM_SECRET = "test-key", "test-secret"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell in teardown whether
    the test failed (browser_page saves a screenshot then)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# Tests that start worker processes, kill them, or time a stack go first, so that with
# `make test`'s two xdist processes (`--dist loadfile`: a file's tests stay in one process) neither
# is left waiting on them at the end. Each picks its own ports and queue name.
PROCESS_TESTS = {"test_bench.py", "test_soak.py", "test_worker_crash.py", "test_worker_shutdown.py",
                 "test_budget_concurrency.py"}


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in PROCESS_TESTS)


@pytest.fixture(autouse=True)
def run_tasks_inline(monkeypatch):
    """Make async_task() run the task in-process, as django-q2's own tests do."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with nothing kept (drawn cards and forms): ids come round again."""
    cache.clear()


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AXES_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HIGGSFIELD_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.HIGGSFIELD_WEBHOOK_SECRET_PREVIOUS = ""
    # The suite never inherits `make run`'s local conveniences from the environment.
    settings.HIGGSFIELD_ALLOW_LOCAL_MEDIA = False
    settings.HIGGSFIELD_MEDIA_HOSTS = []


@pytest.fixture
def project(db):
    return Project.objects.create(name="Spring campaign")


@pytest.fixture
def admin_user(db):
    return User.objects.create_user("ada", password="pw-ada-123", role=User.Role.ADMIN)


@pytest.fixture
def alice(db):
    """A member: generates images."""
    return User.objects.create_user("alice", password="pw-alice-123", role=User.Role.MEMBER)


@pytest.fixture
def bob(db):
    """Another member: must not see Alice's work."""
    return User.objects.create_user("bob", password="pw-bob-123", role=User.Role.MEMBER)


@pytest.fixture
def carol(db, project):
    """A client: sees the finished items of the galleries shared with her, nothing else.
    `carol.gallery` is one such gallery of the project (empty until a test adds work)."""
    user = User.objects.create_user("carol", password="pw-carol-123", role=User.Role.CLIENT)
    user.gallery = Gallery.objects.create(project=project, name="For Carol")
    user.gallery.clients.add(user)
    return user


@pytest.fixture(scope="session")
def test_ca():
    """A certificate authority for the tests' made-up CDN hosts, trusted by the app's TLS
    context (alongside the system's CAs) for the whole run."""
    from generations.higgsfield.client import tls_context

    ca = trustme.CA()
    ca.configure_trust(tls_context())
    return ca


@pytest.fixture
def cdn(monkeypatch, test_ca):
    """Made-up CDN host names for this test (see tests/cdn.py)."""
    return Cdn(monkeypatch)


@pytest.fixture
def simulator(settings, cdn, test_ca):
    """A real simulator on a free port; the app's default account points at it. Its outputs
    come from https://media.sim-cdn.test, a name the app has never heard of that the test maps
    to the simulator's TLS port, so downloads run the general policy. It accepts loopback
    webhook URLs (`allow_loopback_webhooks`), which the app still sends."""
    sim = Simulator(Config(keys={SIM_KEY: SIM_SECRET}, webhook_secrets=[WEBHOOK_SECRET],
                           queue_seconds=0.2, run_seconds=0.3, webhook_backoff=0.05,
                           media_origin=f"https://{MEDIA_HOST}", allow_loopback_webhooks=True))
    server = SimulatorServer(sim, media_ssl=server_context(test_ca, MEDIA_HOST)).start()
    cdn.add(MEDIA_HOST, server.media_port)
    settings.USE_SIMULATOR = True
    settings.HIGGSFIELD_BASE_URL = server.url
    settings.SIMULATOR_URL = server.url
    settings.HIGGSFIELD_API_KEY, settings.HIGGSFIELD_API_SECRET = SIM_KEY, SIM_SECRET
    sim.url = server.url
    yield sim
    server.stop()


@pytest.fixture
def strict(settings, cdn, test_ca):
    """The app given a key, pointed at a simulator started plainly: no loopback webhooks,
    unsigned deliveries, MIME-typed v1 results, outputs on a CDN name the app never heard of."""
    sim = Simulator(Config(keys={SIM_KEY: SIM_SECRET}, webhook_secrets=[WEBHOOK_SECRET], queue_seconds=0.2,
                           run_seconds=0.3, webhook_backoff=0.05, media_origin=f"https://{MEDIA_HOST}",
                           allow_loopback_webhooks=False, webhook_unsigned=True, result_types="mime"))
    server = SimulatorServer(sim, media_ssl=server_context(test_ca, MEDIA_HOST)).start()
    cdn.add(MEDIA_HOST, server.media_port)
    settings.USE_SIMULATOR = False
    settings.HIGGSFIELD_BASE_URL = server.url
    settings.HIGGSFIELD_API_KEY, settings.HIGGSFIELD_API_SECRET = SIM_KEY, SIM_SECRET
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    sim.url = server.url
    yield sim
    server.stop()


@pytest.fixture
def account(db, simulator):
    return ProviderAccount.objects.default()


@pytest.fixture
def finished(db):
    """make(owner, project, prompt, kind="image"): a completed generation whose output is saved
    in private storage (a real PNG and WEBP thumbnail for images; a stand-in MP4 for video)."""
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from generations.models import Generation, Output

    def png(colour, fmt="PNG"):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), colour).save(buffer, fmt)
        return buffer.getvalue()

    def make(owner, project, prompt, kind="image", colour=(200, 80, 40), images=1, **params):
        """`images` > 1: a batch, each image of its own colour."""
        params = {"prompt": prompt, "seed": 4242, "aspect_ratio": "4:3", "resolution": "720p", **params}
        if images > 1:
            params["batch_size"] = images
        generation = Generation.objects.create(
            owner=owner, project=project, model_id="higgsfield-ai/soul/standard", status="completed",
            archived=True, params=params)
        for position in range(images):
            shade = tuple((channel + 50 * position) % 256 for channel in colour)
            output = Output(generation=generation, position=position, kind=kind, provider_url="https://cdn.example/x",
                            width=64, height=48, content_type="image/png" if kind == "image" else "video/mp4")
            data = png(shade) if kind == "image" else b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
            output.file.save("x.png" if kind == "image" else "x.mp4", ContentFile(data), save=False)
            output.thumbnail.save("x.webp", ContentFile(png(shade, "WEBP")), save=False)
            output.archived_at = generation.created_at
            output.save()
        return generation
    return make
