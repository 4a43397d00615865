"""`python -m bench.steps [N]`: CPU time of each worker step of a job, in this process, without
a profiler: the submit task, applying the provider's "completed" result (what the webhook view
does after verifying), and the archive task split into download, content check, thumbnail and
storing. The simulator runs in a child process so its rendering is not counted. Throwaway
SQLite database in a temporary folder, as `bench.run` uses."""

import io
import multiprocessing
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.run import environment


def any_free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_simulator(env, port):
    from higgsweb.simulator.app import Config, Simulator
    from higgsweb.simulator.server import SimulatorServer

    sim = Simulator(Config(keys={"sim-key": "sim-secret"}, webhook_secrets=[env["HIGGSFIELD_WEBHOOK_SECRET"]],
                           queue_seconds=0, run_seconds=0, concurrency_limit=10**6, allow_loopback_webhooks=True))
    server = SimulatorServer(sim, port=port)
    sim.url = server.url
    sim.set_balance("sim-key", 10**9)
    server.serve_forever()


def main(n):
    tmp = Path(tempfile.mkdtemp(prefix="higgsweb-steps-"))
    sim_port = any_free_port()
    env = environment(tmp, any_free_port(), sim_port)  # nothing listens on the web port: no webhooks
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    simulator = multiprocessing.get_context("fork").Process(target=serve_simulator, args=(env, sim_port), daemon=True)
    simulator.start()
    try:
        return measure(n)
    finally:
        simulator.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def measure(n):
    from django_q.conf import Conf

    from bench import drain, seed
    from bench.stack import wait_for_http
    from generations import archive, higgsfield, pipeline, tasks
    from generations.models import Generation, ProviderAccount

    wait_for_http(os.environ["SIMULATOR_URL"] + "/_sim/")
    Conf.SYNC = False  # follow-up tasks are queued, not run here
    user, project, _ = seed.member()
    account = ProviderAccount.objects.default()
    ProviderAccount.objects.filter(pk=account.pk).update(concurrency_limit=n * 2)
    spent = {name: [] for name in ("submit task", "apply the completed result", "archive task", "  download",
                                   "  check (verify, decode every pixel)", "  thumbnail (resize, WEBP)",
                                   "  store (files, rows, lease)")}

    def timed(name, step):
        started = time.process_time()
        value = step()
        spent[name].append(time.process_time() - started)
        return value

    for pk in drain.drafts(user, project, n):
        timed("submit task", lambda pk=pk: tasks.submit_generation(str(pk)))
        generation = Generation.objects.select_related("account").get(pk=pk)
        result = higgsfield.status(generation.account.connection(), generation.request_id)

        def apply(generation=generation, result=result):
            pipeline.record_result(generation, result, Generation.Source.WEBHOOK)
            generation.refresh_from_db()
            pipeline.after_finish(generation)

        timed("apply the completed result", apply)
        output = generation.outputs.first()
        if output is None:
            raise RuntimeError(f"job {pk} is {generation.status}: {generation.error or generation.notice}, "
                               f"{result}")
        url = output.provider_url
        data = io.BytesIO()
        timed("  download", lambda url=url, data=data: archive.fetch_into(data, url))
        image, _ = timed("  check (verify, decode every pixel)", lambda data=data: archive._open_checked(data))
        timed("  thumbnail (resize, WEBP)", lambda image=image: archive.thumbnail_bytes(image))
        timed("archive task", lambda pk=pk: tasks.archive_outputs(str(pk)))
    median = {name: statistics.median(values) for name, values in spent.items() if values}
    median["  store (files, rows, lease)"] = median["archive task"] - sum(
        value for name, value in median.items() if name.startswith("  "))
    print(f"CPU per job in one process, median of {n} jobs (a 1152 × 1152 PNG: Soul, 720p, 1:1):")
    for name in spent:
        print(f"  {name:<40} {median[name] * 1000:6.1f} ms")


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
