"""A simulated request and the registry of surface notifiers: what the simulator and its
surface modules share, so that the surfaces need not import the simulator that loads them."""

from dataclasses import dataclass, field


@dataclass
class Job:
    request_id: str
    model_id: str
    account: str
    payload: dict
    origin: str
    created: float
    outcome: str = "completed"  # what the job ends as if not canceled
    error: str = ""
    kind: str = "image"
    outputs: list = field(default_factory=list)  # [(kind, width, height, index)]
    webhook_url: str = ""
    webhook_secret: str = ""  # legacy v1 echo
    surface: str = "model_api"
    canceled_at: float | None = None
    deleted: bool = False
    expires_after: float | None = None
    notified: bool = False
    extra: dict = field(default_factory=dict)

    def status(self, sim, now=None):
        now = sim.now() if now is None else now
        if self.canceled_at is not None:
            return "canceled"
        queue_until = self.created + sim.config.queue_seconds + self.extra.get("wait", 0.0)
        if now < queue_until:
            return "queued"
        if now < queue_until + sim.config.run_seconds:
            return "in_progress"
        return self.outcome

    def finished_at(self, sim):
        if self.canceled_at is not None:
            return self.canceled_at
        return self.created + sim.config.queue_seconds + self.extra.get("wait", 0.0) + sim.config.run_seconds

    def expires_at(self, sim):
        retention = self.expires_after or sim.config.retention_seconds
        return self.finished_at(sim) + retention

# surface name → function(sim, job) that sends its webhook; surfaces add themselves.
SURFACE_NOTIFIERS = {}
