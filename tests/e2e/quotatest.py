"""Helpers for the tests of quotas and bad input (test_quota.py,
test_adversarial.py): lwmid runs as root, clients connect as another uid
(65534, nobody/nogroup, never a user made by the test) from a forked child
that drops its credentials before connect() (SO_PEERCRED records the
credentials of the connecting process) and hands the connected socket back
over SCM_RIGHTS; a client that must die on its own is a child process
started with setpriv. Standard library only."""

import os
import socket
import stat
import subprocess
import textwrap
import time
import unittest

from lwmitest import DaemonTestCase
from test_async import EventClient

NOBODY = 65534
SELF = "root/lwmi"


def need_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: lwmid runs as root, clients as uid %d" % NOBODY)


def open_for_others(daemon):
    """Make the daemon's socket reachable by uid 65534: its directories
    searchable, the socket writable. (Until the rights work opens the
    socket to every local user, lwmid makes it 0600.)"""
    path = daemon.socket_path
    d = os.path.dirname(path)
    while True:
        mode = os.stat(d).st_mode
        os.chmod(d, stat.S_IMODE(mode) | 0o711)
        if d == daemon.tmpdir or d == "/":
            break
        d = os.path.dirname(d)
    os.chmod(path, 0o666)


def socket_as(path, uid=NOBODY, gid=NOBODY):
    """A Unix stream socket connected to path by a process running as
    uid/gid with no supplementary groups."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            parent.close()
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            socket.send_fds(child, [b"x"], [s.fileno()])
            code = 0
        except BaseException as e:  # report, never return into the test
            try:
                child.sendall(b"E" + repr(e).encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    child.close()
    try:
        msg, fds, _, _ = socket.recv_fds(parent, 1024, 1)
    finally:
        parent.close()
        os.waitpid(pid, 0)
    if not fds:
        raise AssertionError("could not connect as uid %d: %r" % (uid, msg))
    return socket.socket(fileno=fds[0])


def event_client_on(sock, timeout=20):
    """An EventClient (test_async.py) on a connected socket."""
    c = EventClient.__new__(EventClient)
    c.sock = sock
    c.sock.settimeout(timeout)
    c.buf = b""
    c.timeout = timeout
    c.notes = []
    c.order = []
    c.responses = {}
    c.next_id = 1
    return c


# A client process as uid 65534 that can be killed: it makes `count`
# registrations on one sink, prints "ready N" (how many were accepted),
# then answers Pings until it is killed.
HOLDER = textwrap.dedent(r"""
    import json, socket, sys
    path, count = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    f = s.makefile("rwb")
    f.write(b'{"jsonrpc":"2.0","id":0,"method":"Hello","params":{"client":"holder","keepalive_ms":60000}}\n')
    for i in range(count):
        f.write(json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": "ExecNotificationQueryAsync",
                            "params": {"namespace": "root/cimv2", "sink": "h",
                                       "query": "SELECT * FROM T_Alarm WHERE Sev = %d" % i}}).encode() + b"\n")
    f.flush()
    ok = 0
    answered = 0
    while answered < count + 1:
        m = json.loads(f.readline())
        if "method" in m:
            if "id" in m:
                f.write(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": {}}).encode() + b"\n")
                f.flush()
            continue
        answered += 1
        if m["id"] != 0 and "result" in m:
            ok += 1
    print("ready %d" % ok, flush=True)
    while True:
        m = json.loads(f.readline())
        if "method" in m and "id" in m:
            f.write(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": {}}).encode() + b"\n")
            f.flush()
    """)


def kill_holder(proc):
    proc.kill()
    proc.wait()
    proc.stdout.close()


def start_holder(socket_path, count, uid=NOBODY):
    """The HOLDER as uid (setpriv); returns (process, registrations accepted)."""
    proc = subprocess.Popen(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                             "--clear-groups", "/usr/bin/python3", "-c", HOLDER, socket_path,
                             str(count)],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    if not line.startswith("ready "):
        kill_holder(proc)
        raise AssertionError("the holder did not start: %r" % line)
    return proc, int(line.split()[1])


class QuotaTestCase(DaemonTestCase):
    """lwmid as root with a configuration file (config_text) on a socket
    reachable by uid 65534; self.c is a root EventClient that made the
    event class T_Alarm."""

    start_daemon = False
    config_text = ""
    extra_args = ()
    listen = None

    def setUp(self):
        need_root()
        super().setUp()
        os.chmod(self.tmpdir, 0o755)
        self.config_path = os.path.join(self.tmpdir, "lwmid.conf")
        with open(self.config_path, "w") as f:
            f.write(self.config_text)
        self.daemon = self.start(args=["--config", self.config_path] + list(self.extra_args),
                                 listen=self.listen)
        open_for_others(self.daemon)
        self.c = self.root_client()
        self.c.ok("PutClass", namespace="root/cimv2", **{"class": {
            "__CLASS": "T_Alarm", "__SUPERCLASS": "__ExtrinsicEvent",
            "properties": {"Sev": {"type": "uint32"}, "Source": {"type": "string"},
                           "Code": {"type": "sint32"}}}})

    def root_client(self):
        c = EventClient(self.daemon.socket_path)
        self.clients.append(c)
        c.ok("Hello", client="root-test", keepalive_ms=60000)
        return c

    def nobody(self, hello=True):
        c = event_client_on(socket_as(self.daemon.socket_path))
        self.clients.append(c)
        if hello:
            c.ok("Hello", client="nobody-test", keepalive_ms=60000)
        return c

    def users(self):
        """LWMI_User rows by User key (root sees every user)."""
        rows = self.c.ok("ExecQuery", namespace=SELF, query="SELECT * FROM LWMI_User")["objects"]
        return {r["User"]: r for r in rows}

    def daemon_figures(self):
        return self.c.ok("GetObject", namespace=SELF, path="LWMI_Daemon=@")

    def wait_for(self, what, pred, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            v = what()
            if pred(v):
                return v
            if time.monotonic() > deadline:
                raise AssertionError("still %r after %s s" % (v, timeout))
            time.sleep(0.05)

    def subscribe_params(self, n, sink="s", first=0):
        return [dict(namespace="root/cimv2", sink=sink,
                     query="SELECT * FROM T_Alarm WHERE Sev = %d" % (first + k))
                for k in range(n)]

    def assert_quota_error(self, reply, quota, limit=None):
        self.assertIn("error", reply, reply)
        err = reply["error"]
        self.assertEqual(err["code"], -32000, reply)
        self.assertEqual(err["data"]["status"], "WBEM_E_QUOTA_VIOLATION", reply)
        self.assertIn("quota '%s' exceeded" % quota, err["message"])
        if limit is not None:
            self.assertIn("the limit is %d " % limit, err["message"])
        # how to raise it
        self.assertIn("[quota]", err["message"])
        self.assertIn("--quota-", err["message"])
