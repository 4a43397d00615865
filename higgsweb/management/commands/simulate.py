import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from higgsweb.simulator.app import Config, Simulator
from higgsweb.simulator.server import SimulatorServer


class Command(BaseCommand):
    help = "Run the local Higgsfield simulator (Model API, v1, fnf and Pixazo surfaces) on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.SIM_PORT)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--key", action="append", default=[], metavar="ID:SECRET",
                            help="Accepted credentials (repeatable). Default: the app's configured pair.")
        parser.add_argument("--webhook-secret", action="append", default=[], metavar="whsec_…",
                            help="Signing secret(s) for webhooks. Default: HIGGSFIELD_WEBHOOK_SECRET.")
        parser.add_argument("--fnf-token", action="append", default=[], metavar="TOKEN",
                            help="Bearer token the /fnf surface accepts (repeatable). Default: fnf-demo-token.")
        parser.add_argument("--pixazo-key", action="append", default=[], metavar="KEY",
                            help="Subscription key the /pixazo surface accepts (repeatable). Default: pixazo-demo-key.")
        parser.add_argument("--allow-loopback-webhooks", action="store_true",
                            help="Also accept http(s) webhook URLs on loopback (the local demo). Without it the "
                                 "simulator refuses, as the service does, a webhook URL that is not https on a "
                                 "public address.")
        parser.add_argument("--unsigned-webhooks", action="store_true",
                            help="Send Model API deliveries without signature headers, as the service does "
                                 "before the account's whsec_ secret is first revealed.")
        parser.add_argument("--queue-seconds", type=float, default=0.5)
        parser.add_argument("--run-seconds", type=float, default=1.5)

    def handle(self, *args, **options):
        keys = {}
        for pair in options["key"] or [f"{settings.HIGGSFIELD_API_KEY}:{settings.HIGGSFIELD_API_SECRET}"]:
            key_id, sep, secret = pair.partition(":")
            if not sep or not key_id or not secret:
                raise CommandError(f"--key must look like ID:SECRET, got {pair!r}")
            keys[key_id] = secret
        secrets = options["webhook_secret"] or [s for s in (settings.HIGGSFIELD_WEBHOOK_SECRET,) if s]
        config = Config(keys=keys, webhook_secrets=secrets, queue_seconds=options["queue_seconds"],
                        run_seconds=options["run_seconds"], allow_loopback_webhooks=options["allow_loopback_webhooks"],
                        webhook_unsigned=options["unsigned_webhooks"])
        logging.basicConfig(level=logging.INFO, format="%(asctime)s simulator %(levelname)s %(message)s")
        sim = Simulator(config)
        sim.fnf.tokens = options["fnf_token"] or sim.fnf.tokens
        sim.pixazo.keys = options["pixazo_key"] or sim.pixazo.keys
        server = SimulatorServer(sim, options["host"], options["port"])
        self.stdout.write(f"Higgsfield simulator on {server.url} (control page {server.url}/_sim/)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
