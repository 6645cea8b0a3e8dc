"""Starting a distributed job (MXNet's ``tools/launch.py``): ``python -m rmx.launch -n WORKERS
-s SERVERS [--launcher local|ssh|mpi|slurm] [-H hostfile] command...``.

The launcher runs the scheduler on this machine, starts the servers (``python -c 'import
rmx'`` with ``DMLC_ROLE=server``) and the workers (the command, ``DMLC_ROLE=worker``) with the
tool asked for, hands every process the job's environment and a fresh token
(``RMX_KVSTORE_TOKEN``), and waits. Its exit status is the first non-zero status of any process
(0 when every worker finished); when one process fails the others are stopped.

- ``local``: every process on this machine.
- ``ssh``: processes spread over the hosts of ``-H`` (one per line, ``host`` or ``host:slots``),
  workers first, round robin; each runs ``cd <this directory> && env ... command`` there.
- ``mpi``: ``mpirun`` (Open MPI or MPICH) starts the workers and servers; a worker's rank is its
  MPI rank.
- ``slurm``: ``srun`` inside an allocation (``salloc``/``sbatch``); a worker's rank is its
  ``SLURM_PROCID``.
- ``ray``: every process, the scheduler too, is started by a Ray actor on the node Ray places it
  on (``rmx.launch.ray``; needs ``pip install ray``; the cluster is ``RAY_ADDRESS``'s).
"""

import argparse
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

__all__ = ["main", "job_env", "free_port"]


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _host_ip(hosts):
    """This machine's address as the first remote host reaches it (loopback for local jobs)."""
    if not hosts:
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((hosts[0], 22))
            return s.getsockname()[0]
        except OSError:
            return socket.gethostbyname(socket.gethostname())


def job_env(num_workers, num_servers, host_ip, port, token, extra=()):
    """The environment every process of the job gets."""
    env = {
        "DMLC_PS_ROOT_URI": host_ip,
        "DMLC_PS_ROOT_PORT": str(port),
        "DMLC_NUM_WORKER": str(num_workers),
        "DMLC_NUM_SERVER": str(num_servers),
        "RMX_KVSTORE_TOKEN": token,
    }
    for item in extra:
        key, _, value = item.partition(":")
        env[key] = value if value else os.environ.get(key, "")
    return env


def _read_hosts(path):
    hosts = []
    with open(path) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line:
                hosts.append(line.split(":")[0].split()[0])
    if not hosts:
        raise SystemExit("rmx.launch: the host file %s lists no hosts" % path)
    return hosts


def _server_cmd():
    return [sys.executable, "-c", "import rmx"]


def _popen(cmd, env):
    return subprocess.Popen(cmd, env=env)


def _ssh(host, env, cmd):
    exports = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(env.items()))
    remote = "cd %s && env %s %s" % (shlex.quote(os.getcwd()), exports, " ".join(shlex.quote(c) for c in cmd))
    return ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes", host, remote]


def _mpi_env_flags(env):
    version = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        return [f for k, v in sorted(env.items()) for f in ("-x", "%s=%s" % (k, v))]
    return [f for k, v in sorted(env.items()) for f in ("-genv", k, v)]


def _start(args, env):
    """The commands of the servers and workers for the launcher asked for."""
    server_env = dict(env, DMLC_ROLE="server")
    worker_env = dict(env, DMLC_ROLE="worker")
    n, s = args.num_workers, args.num_servers
    if args.launcher == "local":
        return [_popen(_server_cmd(), dict(os.environ, **server_env)) for _ in range(s)] + \
               [_popen(args.command, dict(os.environ, **dict(worker_env, RMX_WORKER_RANK=str(i)))) for i in range(n)]
    if args.launcher == "ssh":
        hosts = _read_hosts(args.hostfile)
        procs = []
        for i in range(n):
            procs.append(_popen(_ssh(hosts[i % len(hosts)], dict(worker_env, RMX_WORKER_RANK=str(i)), args.command), os.environ))
        for i in range(s):
            procs.append(_popen(_ssh(hosts[(n + i) % len(hosts)], server_env, _server_cmd()), os.environ))
        return procs
    if args.launcher == "mpi":
        if shutil.which("mpirun") is None:
            raise SystemExit("rmx.launch: --launcher mpi needs mpirun on PATH")
        hostfile = ["-hostfile", args.hostfile] if args.hostfile else []
        return [_popen(["mpirun", "-n", str(s)] + hostfile + _mpi_env_flags(server_env) + _server_cmd(), os.environ),
                _popen(["mpirun", "-n", str(n)] + hostfile + _mpi_env_flags(worker_env) + args.command, os.environ)]
    if args.launcher == "slurm":
        if shutil.which("srun") is None:
            raise SystemExit("rmx.launch: --launcher slurm needs srun (inside a SLURM allocation)")

        def srun(count, e, cmd):
            exports = ",".join(["ALL"] + ["%s=%s" % kv for kv in sorted(e.items())])
            return _popen(["srun", "--ntasks=%d" % count, "--export=" + exports] + cmd, os.environ)

        return [srun(s, server_env, _server_cmd()), srun(n, worker_env, args.command)]
    raise SystemExit("rmx.launch: unknown launcher %r" % args.launcher)


def _wait(procs, scheduler, workers_from):
    """Waits for the job; the first failure stops the rest. Returns the exit status."""
    everyone = [scheduler] + procs
    status = 0
    while True:
        codes = [p.poll() for p in everyone]
        failed = [c for c in codes if c not in (None, 0)]
        if failed and status == 0:
            status = failed[0]
            time.sleep(1.0)  # the others report the loss themselves first
            for p in everyone:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
        if all(c is not None for c in [p.poll() for p in everyone]):
            return status
        time.sleep(0.05)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rmx.launch", description="Launch a distributed rmx (MXNet 1.x) job.")
    parser.add_argument("-n", "--num-workers", required=True, type=int, help="number of workers")
    parser.add_argument("-s", "--num-servers", type=int, help="number of servers (default: the number of workers)")
    parser.add_argument("-H", "--hostfile", help="hosts, one per line (ssh, mpi)")
    parser.add_argument("--launcher", default="local", choices=["local", "ssh", "mpi", "slurm", "ray"])
    parser.add_argument("--host-ip", help="the scheduler's address as the other machines reach it (default: the "
                        "address that reaches the first host of -H, or this host's name's address)")
    parser.add_argument("--port", type=int, help="the scheduler's port (default: a free one)")
    parser.add_argument("--env", action="append", default=[], help="KEY or KEY:VALUE to pass to every process")
    parser.add_argument("--sync-dst-dir", help="accepted for MXNet compatibility; copy files yourself")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the worker command")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("the worker command is missing")
    if args.num_workers < 1:
        parser.error("--num-workers must be at least 1")
    args.num_servers = args.num_workers if args.num_servers is None else args.num_servers
    if args.num_servers < 1:
        parser.error("--num-servers must be at least 1")
    if args.launcher == "ray":
        try:
            from .ray import run
        except ImportError as e:
            raise SystemExit("rmx.launch: --launcher ray needs Ray (pip install ray): %s" % e)
        return run(args.command, args.num_workers, args.num_servers, args.env)
    hosts = _read_hosts(args.hostfile) if args.hostfile and args.launcher == "ssh" else []
    host_ip = args.host_ip or (_host_ip(hosts) if args.launcher == "local" or hosts else socket.gethostbyname(socket.gethostname()))
    bind_ip = host_ip  # the scheduler, too, listens only where the job reaches it
    port = args.port or free_port(bind_ip)
    env = job_env(args.num_workers, args.num_servers, host_ip, port, secrets.token_hex(16), args.env)
    sched_env = dict(os.environ, **dict(env, DMLC_ROLE="scheduler", DMLC_PS_ROOT_URI=bind_ip))
    scheduler = _popen(_server_cmd(), sched_env)
    try:
        procs = _start(args, env)
        return _wait(procs, scheduler, args.num_servers)
    except KeyboardInterrupt:
        return 130
