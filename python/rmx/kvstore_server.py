"""The server and scheduler roles of a distributed job (MXNet's ``mxnet.kvstore_server``).

``import rmx`` in a process whose ``DMLC_ROLE`` is ``server`` or ``scheduler`` runs that role
until the job ends and exits: 0 when every worker finished, 1 when a process of the job was lost
(the message on stderr names it). Workers are unaffected.
"""

import os
import sys

from . import _rmx
from .base import MXNetError

__all__ = ["KVStoreServer"]


class KVStoreServer(object):
    """Runs this process as a server (or, with ``DMLC_ROLE=scheduler``, the scheduler)."""

    def __init__(self, kvstore=None):
        self.kvstore = kvstore
        self.role = os.environ.get("DMLC_ROLE", "server")

    def run(self):
        """Serves until the job ends; raises ``KVStoreError`` when a peer is lost."""
        if self.role == "scheduler":
            _rmx.run_scheduler()
        else:
            from .kvstore_dist import _server_updater
            _rmx.run_server(_server_updater)


def _interface_address(name):
    """The IPv4 address of network interface ``name`` (Linux)."""
    import fcntl
    import socket
    import struct
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
        except OSError as e:
            raise MXNetError("DMLC_INTERFACE=%s: no IPv4 address on that interface (%s)" % (name, e))
    return socket.inet_ntoa(packed[20:24])


def _init_kvstore_server_module():
    """Runs the role and exits, for server and scheduler processes."""
    role = os.environ.get("DMLC_ROLE")
    if role not in ("server", "scheduler"):
        return
    if role == "server" and os.environ.get("DMLC_INTERFACE") and not os.environ.get("DMLC_NODE_HOST"):
        os.environ["DMLC_NODE_HOST"] = _interface_address(os.environ["DMLC_INTERFACE"])
    try:
        KVStoreServer().run()
    except MXNetError as e:
        print("rmx kvstore %s: %s" % (role, e), file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)
    except KeyboardInterrupt:
        os._exit(130)
    sys.stdout.flush()
    os._exit(0)
