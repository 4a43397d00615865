"""The throwaway stack: a temporary folder for the database and media, and the web and
worker processes started from the Procfile's own command lines (so the benchmark runs
whatever server the project runs), each in its own process group so its memory can be
read and it can be stopped as a whole."""

import os
import random
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(8300, 8400)


def free_port(taken=()):
    """A free loopback port in the benchmark's range (8300-8399), else any free one. Tried in a
    random order, so two stacks started at once (the suite runs two processes) do not both pick
    the lowest free port between checking it and binding it."""
    for port in [*random.sample(PORTS, len(PORTS)), 0]:
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


PROCFILES = {"production": "Procfile.production", "dev": "Procfile"}


def procfile(name, server="production"):
    """The command line of one entry, e.g. 'web', of Procfile.production (gunicorn, as
    production runs) or, with server="dev", of the Procfile `make run` uses (runserver)."""
    for line in (ROOT / PROCFILES[server]).read_text().splitlines():
        key, sep, command = line.partition(":")
        if sep and key.strip() == name:
            return command.strip()
    raise KeyError(name)


def command_line(name, env, server="production"):
    """A Procfile entry as an argv, with ${PORT}, ${BIND:-default} and the like taken from `env`."""
    return [_expand(part, env) for part in shlex.split(procfile(name, server))]


def _expand(text, env):
    def value(match):
        name, default = match.group(1) or match.group(3), match.group(2)
        return env.get(name) or (default or "")
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", value, text)


class Process:
    """A process started in its own group (session); `pids()` lists the group."""

    def __init__(self, name, argv, env, log_path):
        self.name, self.argv = name, argv
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        self.peak_pss = 0  # KiB, the largest total seen by the sampler
        self.peak_rss = {}  # pid → VmHWM KiB, per process

    def pids(self):
        group = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.popen.pid:  # process group id
                group.append(int(entry))
        return group

    def sample(self):
        total = 0
        for pid in self.pids():
            total += _status_kib(f"/proc/{pid}/smaps_rollup", "Pss:")
            hwm = _status_kib(f"/proc/{pid}/status", "VmHWM:")
            self.peak_rss[pid] = max(self.peak_rss.get(pid, 0), hwm)
        self.peak_pss = max(self.peak_pss, total)

    def cpu_seconds(self):
        """CPU time used so far by the group's processes, with that of their finished children."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
        return total / os.sysconf("SC_CLK_TCK")

    @property
    def alive(self):
        return self.popen.poll() is None

    def stop(self):
        if self.alive:
            self.sample()
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.log.close()


def _status_kib(path, label):
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(label):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler:
    """Reads the memory of every process of each group four times a second."""

    def __init__(self, processes, every=0.25):
        self.processes, self.every = processes, every
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name="memory-sampler")

    def run(self):
        while not self.stopping.wait(self.every):
            for process in list(self.processes):
                if process.alive:
                    process.sample()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join()


def wait_for_http(url, timeout=60):
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")
