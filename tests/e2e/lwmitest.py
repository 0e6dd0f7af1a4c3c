"""Helpers for the end-to-end tests: start a real lwmid on a socket in a
fresh temporary directory (and, with listen="127.0.0.1:0", on a TCP port
of its choosing, learned from its readiness STATUS), wait until it reports
readiness over a private NOTIFY_SOCKET (as systemd would see it), talk to
it with raw JSON-RPC lines over either, and always take it down again.

Standard library only; run with /usr/bin/python3."""

import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Hard limit per test: an alarm turns a hang into a failure, and tearDown
# still kills the daemon.
TEST_TIMEOUT_S = 120


def built(env, *candidates):
    """A program the build made: $env if set, else the first of candidates
    (paths from the repository root) that exists; skips the test if none."""
    path = os.environ.get(env)
    if path:
        return path
    for candidate in candidates:
        full = os.path.join(ROOT, candidate)
        if os.path.exists(full):
            return full
    raise unittest.SkipTest("%s not built: set %s or build into build/" % (candidates[0], env))


def lwmi_path():
    return built("LWMI", "build/gcc/src/cli/lwmi", "build/src/cli/lwmi")


def consumer_path():
    return built("LWMI_CONSUMER", "build/gcc/examples/consumer", "build/examples/consumer")


def lwmid_path():
    return os.path.abspath(built("LWMID", "build/gcc/src/daemon/lwmid", "build/src/daemon/lwmid"))


class Daemon:
    """One lwmid process. stderr goes to a file (a pipe could fill up and
    block it); notifications arrive on a datagram socket."""

    def __init__(self, tmpdir, args=(), socket_path=None, rlimit_nofile=None, env=None,
                 repository=":memory:", pass_socket=True, journal=False, listen=None,
                 prefix=()):
        self.tmpdir = tmpdir
        self.socket_path = socket_path or os.path.join(tmpdir, "run", "lwmid.sock")
        self.log_path = os.path.join(tmpdir, "lwmid-%d.log" % time.monotonic_ns())
        self.notify_path = os.path.join(tmpdir, "notify-%d" % time.monotonic_ns())
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notifications = []
        # prefix: a command that execs lwmid (e.g. ip netns exec NAME), so
        # that the process started is still lwmid
        argv = list(prefix) + [lwmid_path()]
        if listen is not None:
            argv += ["--listen", listen]
        if pass_socket:
            argv += ["--socket", self.socket_path]
        if repository is not None:
            argv += ["--repository", repository]
        argv += list(args)
        full_env = dict(os.environ)
        full_env["NOTIFY_SOCKET"] = self.notify_path
        full_env.pop("JOURNAL_STREAM", None)
        if env:
            full_env.update(env)

        def preexec():
            if rlimit_nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (rlimit_nofile, rlimit_nofile))

        self.log = open(self.log_path, "wb")
        if journal:
            # what systemd sets when stderr is the journal: its dev:inode
            st = os.fstat(self.log.fileno())
            full_env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=full_env, preexec_fn=preexec)

    @property
    def pid(self):
        return self.proc.pid

    @property
    def tcp_address(self):
        """(host, port) of the TCP listener as bound (the port chosen for
        port 0), from the readiness STATUS ("Listening on PATH and tcp
        127.0.0.1:45123"); IPv6 hosts without brackets. Needs wait_ready()."""
        for n in reversed(self.notifications):
            m = re.match(r"STATUS=Listening on .* and tcp (\[([^\]]+)\]|([^:]+)):(\d+)$", n)
            if m:
                return (m.group(2) or m.group(3), int(m.group(4)))
        raise AssertionError("lwmid reported no TCP listener: %r\n%s"
                             % (self.notifications, self.log_text()))

    @property
    def tcp_connect(self):
        """The TCP listener as a client address: "tcp:127.0.0.1:45123" or
        "tcp:[::1]:45123"."""
        host, port = self.tcp_address
        return "tcp:%s:%d" % ("[%s]" % host if ":" in host else host, port)

    def read_notifications(self, timeout):
        """Collect sd_notify messages until timeout; returns all so far."""
        self.notify.settimeout(timeout)
        try:
            while True:
                data = self.notify.recv(4096)
                self.notifications.extend(data.decode().split("\n"))
                self.notify.settimeout(0.01)
        except (socket.timeout, BlockingIOError):
            pass
        return self.notifications

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "READY=1" in self.read_notifications(0.05):
                return
            if self.proc.poll() is not None:
                raise AssertionError("lwmid exited with %d before it was ready:\n%s"
                                     % (self.proc.returncode, self.log_text()))
        raise AssertionError("lwmid not ready within %s s:\n%s" % (timeout, self.log_text()))

    def wait_exit(self, timeout=10):
        return self.proc.wait(timeout)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def cpu_seconds(self):
        """User plus system CPU time of the process, from /proc/PID/stat."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        """SIGTERM, then SIGKILL if it does not go. Returns a complaint (a
        string) if a daemon that was running did not exit 0 on SIGTERM or
        its log shows a sanitizer report, else None; never raises."""
        complaint = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
                if rc != 0:
                    complaint = "lwmid exited with %d on SIGTERM" % rc
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                complaint = "lwmid did not exit within 10 s of SIGTERM"
        self.log.close()
        self.notify.close()
        log = self.log_text()
        if "Sanitizer" in log or "runtime error:" in log:
            complaint = "sanitizer report"
        if complaint:
            return "%s; its log:\n%s" % (complaint, log)
        return None


class Client:
    """A raw client: JSON-RPC lines over the Unix socket (path a string) or
    TCP (path a (host, port) tuple)."""

    def __init__(self, path, timeout=10):
        if isinstance(path, tuple):
            self.sock = socket.create_connection(path, timeout)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def request(self, method, params=None, id=1):
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def recv_line(self):
        """One line (bytes, without newline), or None at EOF."""
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def recv(self):
        line = self.recv_line()
        if line is None:
            raise AssertionError("connection closed by lwmid")
        return json.loads(line)

    def call(self, method, params=None, id=1):
        self.request(method, params, id)
        reply = self.recv()
        if reply.get("id") != id:
            raise AssertionError("answer with id %r to request %r: %r" % (reply.get("id"), id, reply))
        return reply

    def call_ok(self, method, params=None, id=1):
        """The result of a call; an error answer fails with its message."""
        reply = self.call(method, params, id)
        if "error" in reply:
            raise AssertionError("%s failed: %r" % (method, reply["error"]))
        return reply["result"]

    def pipeline(self, messages, timeout=60):
        """Send messages (dicts) in one go from a writer thread while
        reading, as a client must (lwmid stops reading a client whose
        answers pile up). Returns the answers to those with an id, in the
        order received."""
        data = b"".join(json.dumps(m).encode() + b"\n" for m in messages)
        expected = sum(1 for m in messages if "id" in m)
        failure = []

        def writer():
            try:
                self.send_raw(data)
            except OSError as e:
                failure.append(e)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        replies = [self.recv() for _ in range(expected)]
        t.join(timeout)
        if failure:
            raise failure[0]
        return replies

    def at_eof(self):
        """True if lwmid closed the connection (after any lines left)."""
        try:
            return self.recv_line() is None
        except ConnectionResetError:
            return True


PINGER = r"""
import json, select, socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
f = sock.makefile("rwb")
times = []
i = 0
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0)[0]:
    t0 = time.monotonic()
    f.write(b'{"jsonrpc":"2.0","id":%d,"method":"Ping"}\n' % i)
    f.flush()
    reply = json.loads(f.readline())
    assert reply["id"] == i and reply["result"] == {}, reply
    times.append(time.monotonic() - t0)
    i += 1
print(json.dumps(times), flush=True)
"""


class Pinger:
    """Another client, in a process of its own (so that this process's
    work, e.g. decoding a large answer, does not hold it up): it sends Ping
    after Ping, one at a time, until stop() returns their round-trip times
    in seconds."""

    def __init__(self, socket_path):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", PINGER, socket_path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self.proc.stdout.readline() != b"ready\n":
            raise AssertionError("the pinger did not start")

    def stop(self):
        out, _ = self.proc.communicate(b"stop\n", timeout=30)
        if self.proc.returncode != 0:
            raise AssertionError("the pinger failed")
        return json.loads(out)


class DaemonTestCase(unittest.TestCase):
    """Starts lwmid in setUp (unless start_daemon is False) in a fresh
    temporary directory and always stops it."""

    start_daemon = True
    daemon_args = ()
    daemon_listen = None  # e.g. "127.0.0.1:0": also listen on TCP

    def setUp(self):
        def on_alarm(signum, frame):
            raise TimeoutError("test exceeded %d s" % TEST_TIMEOUT_S)

        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TEST_TIMEOUT_S)
        self.addCleanup(signal.alarm, 0)
        self.tmpdir = tempfile.mkdtemp(prefix="lwmid-e2e-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        self.daemons = []
        self.addCleanup(self.stop_daemons)
        self.clients = []
        self.addCleanup(self.close_clients)
        if self.start_daemon:
            self.daemon = self.start(args=self.daemon_args, listen=self.daemon_listen)

    def start(self, wait=True, **kwargs):
        d = Daemon(self.tmpdir, **kwargs)
        self.daemons.append(d)
        if wait:
            d.wait_ready()
        return d

    def stop_daemons(self):
        complaints = [c for c in (d.stop() for d in self.daemons) if c]
        if complaints:
            raise AssertionError("\n".join(complaints))

    def close_clients(self):
        for c in self.clients:
            c.close()

    def connect(self, daemon=None, timeout=10):
        c = Client((daemon or self.daemon).socket_path, timeout)
        self.clients.append(c)
        return c

    def connect_tcp(self, daemon=None, timeout=10):
        """A raw client on the daemon's TCP listener (started with
        listen=...)."""
        c = Client((daemon or self.daemon).tcp_address, timeout)
        self.clients.append(c)
        return c

    def grant(self, ns, principal, rights, daemon=None):
        """Grant rights (docs/security.md) as root, over the Unix socket."""
        c = self.connect(daemon)
        result = c.call_ok("GrantRights", {"namespace": ns, "principal": principal,
                                           "rights": rights}, id="grant")
        c.close()
        return result["grant"]

    def assert_alive(self, daemon=None):
        """The daemon still answers a fresh client."""
        d = daemon or self.daemon
        self.assertIsNone(d.proc.poll(), "lwmid exited:\n" + d.log_text())
        c = self.connect(d)
        self.assertEqual(c.call("Ping", id="alive")["result"], {})

    def assert_error(self, reply, code, status, id=None, message_has=None):
        self.assertIn("error", reply, reply)
        self.assertEqual(reply["jsonrpc"], "2.0")
        self.assertEqual(reply["id"], id, reply)
        self.assertEqual(reply["error"]["code"], code, reply)
        self.assertEqual(reply["error"]["data"]["status"], status, reply)
        self.assertIsInstance(reply["error"]["message"], str)
        if message_has:
            self.assertIn(message_has, reply["error"]["message"], reply)


# ---- for the fault tests (test_liveness.py) ----------------------------

_help_cache = {}


def lwmid_help():
    """lwmid --help, asked once per binary: tests that need an option
    (--keepalive-ms, --stall-timeout-ms, ...) skip when it is absent."""
    path = lwmid_path()
    if path not in _help_cache:
        out = subprocess.run([path, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=10)
        _help_cache[path] = out.stdout.decode(errors="replace")
    return _help_cache[path]


def lwmid_has_option(option):
    return option in lwmid_help()


def lwmid_binary_has(symbol):
    """Whether the lwmid binary mentions symbol (bytes): an imported
    function such as malloc_trim, or a sanitizer's runtime."""
    with open(lwmid_path(), "rb") as f:
        return symbol in f.read()


def sanitized():
    """True when lwmid runs under a sanitizer (meson passes b_sanitize as
    LWMI_SANITIZE; a binary built by hand shows the runtime's symbols)."""
    option = os.environ.get("LWMI_SANITIZE")
    if option is not None:
        return option not in ("", "none")
    return lwmid_binary_has(b"__asan_init") or lwmid_binary_has(b"__ubsan_handle")


def rss_kib(pid):
    """Resident set size of a process, in KiB (VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class Monitor(Client):
    """A raw client that asks for the longest keepalive and answers the
    server's Pings while it waits for a response, so it can sit idle
    between calls for as long as a test takes (it skips notifications,
    or keeps them in a list `notifications` a subclass sets)."""

    notifications = None

    def __init__(self, path, timeout=20):
        super().__init__(path, timeout)
        self.next_id = 1
        self.call_ok("Hello", {"client": "monitor", "keepalive_ms": 60000})

    def call(self, method, params=None, id=None):
        if id is None:
            id = self.next_id
            self.next_id += 1
        self.request(method, params, id)
        while True:
            m = self.recv()
            if "method" in m:
                if "id" in m:
                    self.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
                elif self.notifications is not None:
                    self.notifications.append(m)
                continue
            if m.get("id") != id:
                raise AssertionError("answer with id %r to request %r: %r" % (m.get("id"), id, m))
            return m

    def call_ok(self, method, params=None, id=None):
        reply = self.call(method, params, id)
        if "error" in reply:
            raise AssertionError("%s failed: %r" % (method, reply["error"]))
        return reply["result"]

    def query(self, ns, wql):
        return self.call_ok("ExecQuery", {"namespace": ns, "query": wql})["objects"]

    def daemon(self):
        """The LWMI_Daemon instance (root/lwmi), or None when lwmid does
        not describe itself."""
        reply = self.call("ExecQuery", {"namespace": "root/lwmi",
                                        "query": "SELECT * FROM LWMI_Daemon"})
        if "error" in reply or not reply["result"]["objects"]:
            return None
        return reply["result"]["objects"][0]
