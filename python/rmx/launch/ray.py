"""A job's scheduler, servers and workers as Ray actors: ``python -m rmx.launch --launcher ray
-n WORKERS -s SERVERS command...`` on a node of a Ray cluster, or from Python::

    from rmx.launch.ray import run
    status = run(["python", "train.py"], num_workers=4, num_servers=2)

Each process of the job is started by an actor of its own (``num_cpus`` each, 1 by default), so
Ray places the job over the cluster's nodes; the actor runs the process on its node with the
job's environment (MXNet's ``DMLC_*`` variables and a fresh token) and reports its exit status.
The scheduler listens on its node's address, which every other process is given. As with the
other launchers, the result is the first non-zero exit status of any process (0 when all
finished), and a failure stops the rest. Ray joins the cluster at ``address`` (``RAY_ADDRESS``);
without one, a local cluster with room for the whole job is started. The servers run the Python of their actor; the worker command runs
in this directory where the node has it.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

import ray

from . import free_port, job_env

__all__ = ["run"]


class _Process(object):
    """One process of the job, on the node Ray put this actor on."""

    def __init__(self):
        self._proc = None

    def node_ip(self):
        return ray.util.get_node_ip_address()

    def free_port(self, ip):
        return free_port(ip)

    def start(self, command, env, cwd):
        if command is None:  # a server or the scheduler: this node's Python, as import rmx
            command = [sys.executable, "-c", "import rmx"]
        cwd = cwd if cwd and os.path.isdir(cwd) else None
        self._proc = subprocess.Popen(command, env=dict(os.environ, **env), cwd=cwd)
        return self._proc.pid

    def wait(self):
        return self._proc.wait()

    def stop(self):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)


def run(command, num_workers, num_servers=None, extra_env=(), address=None, num_cpus=1):
    """Runs the job; returns its exit status (see the module's text)."""
    num_servers = num_workers if num_servers is None else num_servers
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        # A local cluster (no address) is sized to hold the whole job, whatever this machine has.
        cpus = None if address else max(os.cpu_count() or 1, num_cpus * (1 + num_servers + num_workers))
        ray.init(address=address, num_cpus=cpus, include_dashboard=False, log_to_driver=True)
    # Two threads: `stop` must run while `wait` blocks.
    actor = ray.remote(num_cpus=num_cpus, max_concurrency=2)(_Process)
    scheduler = actor.remote()
    ip = ray.get(scheduler.node_ip.remote())
    port = ray.get(scheduler.free_port.remote(ip))
    env = job_env(num_workers, num_servers, ip, port, secrets.token_hex(16), extra_env)
    cwd = os.getcwd()
    roles = [(scheduler, None, dict(env, DMLC_ROLE="scheduler"))]
    roles += [(actor.remote(), None, dict(env, DMLC_ROLE="server")) for _ in range(num_servers)]
    roles += [(actor.remote(), list(command), dict(env, DMLC_ROLE="worker", RMX_WORKER_RANK=str(i)))
              for i in range(num_workers)]
    ray.get([a.start.remote(cmd, e, cwd) for a, cmd, e in roles])
    actors = [a for a, _, _ in roles]
    try:
        return _wait(actors)
    finally:
        for a in actors:
            ray.kill(a)


def _wait(actors):
    """The first non-zero status (stopping the others), or 0 once every process ended well."""
    pending = {a.wait.remote(): a for a in actors}
    status = 0
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        pending.pop(done[0])
        code = ray.get(done[0])
        if code != 0 and status == 0:
            status = code
            time.sleep(1.0)  # the others report the loss themselves first
            ray.get([a.stop.remote() for a in pending.values()])
    return status
