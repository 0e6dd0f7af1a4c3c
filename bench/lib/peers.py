"""The servers of the peer benchmarks (mosquitto, nats-server, lwmid),
started on loopback ports or a temporary socket with configurations of the
benchmark's own, watched, and always stopped; the benchmark's own client
processes (bench/lib/agent.py), which it kills and stops on purpose; and the
tables it prints.

Discipline: every process is started through Children, which records it
(pid and command line in TMP/pids, for run.sh's trap should this Python
process itself be killed) and ends it in cleanup(): a stopped process gets
SIGCONT then SIGKILL, a server SIGTERM then, after 5 s, SIGKILL. Every wait
is bounded. Standard library only."""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agent  # noqa: E402

AGENT = os.path.join(HERE, "agent.py")


class BenchError(Exception):
    """A system could not be measured (did not start, crashed, refused)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """VmRSS of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError("no VmRSS for pid %d" % pid)


def wait_for(pred, timeout, interval=0.005):
    """Poll pred() until it returns a true value or timeout seconds pass;
    returns (value, monotonic time it came) or (None, None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        now = time.monotonic()
        if value:
            return value, now
        if now >= deadline:
            return None, None
        time.sleep(interval)


class Children:
    """Every process the benchmark starts, and their end."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []  # (kind, Popen)
        self.pidfile = os.path.join(tmp, "pids")

    def spawn(self, kind, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append((kind, p))
        with open(self.pidfile, "a") as f:
            f.write("%s %d\n" % (kind, p.pid))
        return p

    @staticmethod
    def kill(p):
        """End a client process whatever its state (stopped ones too)."""
        if p.poll() is None:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(p.pid, sig)
                except ProcessLookupError:
                    pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def stop_server(p):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.terminate()
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            except ProcessLookupError:
                pass

    def cleanup(self):
        for kind, p in reversed(self.procs):
            if kind == "server":
                self.stop_server(p)
            else:
                self.kill(p)
            for f in (p.stdin, p.stdout):
                if f:
                    try:
                        f.close()
                    except OSError:
                        pass
        self.procs = []


def install_signal_handlers():
    """SIGTERM, SIGINT and SIGHUP end the benchmark through its finally
    clauses, which stop everything it started."""
    def handler(signum, frame):
        raise SystemExit("killed by signal %d" % signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)


# --- client processes -----------------------------------------------------


class ProcLines:
    """The JSON lines a child process prints on its stdout (a pipe)."""

    def __init__(self, proc, role):
        self.proc = proc
        self.role = role
        self.buf = b""

    def read(self, timeout):
        """The next JSON line, within timeout seconds."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("%s %d: no answer within %.0f s" % (self.role, self.proc.pid, timeout))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    raise BenchError("%s %d exited (status %s)" % (self.role, self.proc.pid, self.proc.poll()))
                self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)


class Agent:
    """A consumer or publisher process (agent.py) and its JSON lines."""

    def __init__(self, children, role, system, addr, *args):
        self.children = children
        self.role = role
        argv = [sys.executable, AGENT, role, system, addr, "--tag", children.tmp] + [str(a) for a in args]
        self.proc = children.spawn("agent", argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        self.lines = ProcLines(self.proc, role)

    def read(self, timeout):
        return self.lines.read(timeout)

    def command(self, text, timeout=30):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def stats(self, t0, t1, timeout=30):
        return self.command("stats %d %d" % (t0, t1), timeout)

    def quit(self, timeout=10):
        """Ask it to stop; returns its last line for a publisher."""
        last = None
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
            if self.role == "publisher":
                last = self.read(timeout)
            self.proc.wait(timeout=timeout)
        except (OSError, BenchError, subprocess.TimeoutExpired):
            pass
        Children.kill(self.proc)
        return last

    def kill(self):
        Children.kill(self.proc)


def start_consumer(children, system, addr, first, count, keepalive, timeout):
    """A consumer process with `count` registrations; returns (Agent, its
    ready line). A failed subscription raises BenchError."""
    a = Agent(children, "consumer", system, addr, "--first", first, "--count", count,
              *(["--keepalive", keepalive] if keepalive else []))
    ready = a.read(timeout)
    if not ready.get("ready"):
        a.kill()
        raise BenchError("consumer: %s" % ready.get("error"))
    if ready.get("errors"):
        a.kill()
        raise BenchError("consumer: %d registrations refused: %s" % (ready["errors"], ready.get("first_error")))
    return a, ready


def start_publisher(children, system, addr, rate, flood_rate=0, flood_first=1, flood_count=1):
    a = Agent(children, "publisher", system, addr, "--rate", rate, "--flood-rate", flood_rate,
              "--flood-first", flood_first, "--flood-count", flood_count)
    ready = a.read(15)
    if not ready.get("ready"):
        a.kill()
        raise BenchError("publisher: %s" % ready.get("error"))
    return a


# --- servers ----------------------------------------------------------------


def wait_connectable(proc, addr, log, timeout=15):
    def ok():
        if proc.poll() is not None:
            raise BenchError("exited with status %s: %s" % (proc.returncode, tail(log)))
        try:
            agent.connect(addr, timeout=1).close()
            return True
        except OSError:
            return False
    if not wait_for(ok, timeout, 0.02)[0]:
        raise BenchError("not accepting connections after %d s: %s" % (timeout, tail(log)))


def tail(path, lines=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return ""


class Server:
    """One running server: its process, address, and a way to count the
    registrations it holds (count(); None when it cannot be read)."""

    name = None
    system = None

    def __init__(self, children, tmp):
        self.children = children
        self.tmp = tmp
        self.proc = None
        self.version = None

    @property
    def pid(self):
        return self.proc.pid

    def rss_kib(self):
        if self.proc.poll() is not None:
            raise BenchError("%s exited (status %s): %s" % (self.name, self.proc.returncode, tail(self.log)))
        return rss_kib(self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.close_monitor()
        if self.proc:
            Children.stop_server(self.proc)

    def close_monitor(self):
        pass

    # How late count() may lag behind the server's state, in seconds.
    resolution_s = 0.005

    def wait_release(self, client_id, base_count, since, timeout):
        """Wait until the registrations are back to base_count; returns
        (the time they were, how it was seen) or (None, None) after
        timeout seconds. Here: count() polled every 5 ms."""
        _, when = wait_for(lambda: (c := self.count()) is not None and c <= base_count, timeout)
        return when, "count"

    def observe(self, seconds):
        """Spend seconds watching as wait_release does (here count()
        every 5 ms), so that a window measured meanwhile (the baseline)
        bears the same load from the harness as the window of the release
        wait."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.count()
            time.sleep(0.005)


class Mosquitto(Server):
    name = "mosquitto"
    system = "mqtt"

    def __init__(self, children, tmp, sys_interval=1):
        super().__init__(children, tmp)
        self.cond = threading.Condition()
        self.port = free_port()
        self.addr = "tcp:127.0.0.1:%d" % self.port
        self.conf = os.path.join(tmp, "mosquitto-%d.conf" % self.port)
        self.log = os.path.join(tmp, "mosquitto-%d.log" % self.port)
        # Loopback only, no persistence, $SYS every sys_interval s (the
        # registration count), TCP_NODELAY as the other systems have it.
        with open(self.conf, "w") as f:
            f.write("per_listener_settings false\n"
                    "listener %d 127.0.0.1\n"
                    "allow_anonymous true\n"
                    "persistence false\n"
                    "sys_interval %d\n"
                    "set_tcp_nodelay true\n"
                    "log_dest stderr\n"
                    "log_type error\n"
                    "log_type warning\n"
                    "log_type notice\n" % (self.port, sys_interval))
        self.resolution_s = 2 * sys_interval
        self.version = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.split("\n")[0]
        self.version = self.version.replace("mosquitto version ", "")
        with open(self.log, "w") as log:
            self.proc = children.spawn("server", ["mosquitto", "-c", self.conf], stdout=log, stderr=log)
        self.log_lines = []  # (monotonic time read, line)
        self.log_thread = threading.Thread(target=self._tail_log, daemon=True)
        self.log_thread.start()
        wait_connectable(self.proc, self.addr, self.log)
        self.monitor = agent.Mqtt(self.addr, "kb-monitor", keepalive=60)
        self.monitor.sock.settimeout(None)
        self.value = None
        self.probe = None
        # The SUBACK and the retained count are read by the watcher.
        self.monitor.send(self.monitor.subscribe_packets([b"$SYS/broker/subscriptions/count"]))
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        """Read $SYS/broker/subscriptions/count as the broker publishes it."""
        conn = self.monitor
        last_ping = time.monotonic()
        conn.sock.settimeout(1.0)
        while True:
            try:
                data = conn.sock.recv(65536)
            except socket.timeout:
                data = None
            except OSError:
                return
            if data == b"":
                return
            now = time.monotonic()
            if data:
                # The payload is the decimal count, not a time: parse it here.
                conn.buf += data
                while True:
                    packet = self._next_packet(conn.buf)
                    if packet is None:
                        break
                    kind, body = packet
                    if kind == 3:
                        tlen = int.from_bytes(body[:2], "big")
                        with self.cond:
                            self.value = int(body[2 + tlen:])
                            self.cond.notify_all()
            if now - last_ping > 30:
                try:
                    conn.send(b"\xc0\x00")
                except OSError:
                    return
                last_ping = now

    def _tail_log(self):
        """Read the broker's log as it is written (stderr is unbuffered):
        the time a line is read is the time the broker handled what it
        tells, within the 2 ms polling interval."""
        with open(self.log, "rb") as f:
            rest = b""
            while self.proc.poll() is None:
                data = f.read()
                if data:
                    now = time.monotonic()
                    lines = (rest + data).split(b"\n")
                    rest = lines.pop()
                    with self.cond:
                        self.log_lines.extend((now, line.decode(errors="replace")) for line in lines)
                else:
                    time.sleep(0.002)

    def _logged_disconnect(self, pattern, since):
        with self.cond:
            for when, line in self.log_lines:
                if when >= since and pattern.search(line):
                    return when
        return None

    def _probe(self):
        """A PINGREQ's round trip on a connection of its own; returns when
        the PINGRESP came."""
        if self.probe is None:
            self.probe = agent.Mqtt(self.addr, "kb-probe", keepalive=0)
            self.probe.sock.settimeout(30)
        self.probe.send(b"\xc0\x00")
        got = b""
        while not got.endswith(b"\xd0\x00"):
            chunk = self.probe.recv(64)
            if not chunk:
                raise BenchError("mosquitto closed the probe connection")
            got += chunk
        return time.monotonic()

    def wait_release(self, client_id, base_count, since, timeout):
        """mosquitto's $SYS count comes every 2 s (it publishes when more
        than sys_interval has passed): too coarse. Instead: the broker's
        log line that it dropped the client, then at once a PINGREQ on
        another connection; the broker's loop is single-threaded and frees
        the dropped session's subscriptions before it reads that PINGREQ,
        so its PINGRESP marks the release. The $SYS count must confirm it
        within 2 sys_intervals, else the release does not count."""
        pattern = re.compile(r"Client %s( closed its connection| has exceeded timeout| disconnected"
                             r"|, disconnecting)|Socket error on client %s," % (re.escape(client_id),
                                                                               re.escape(client_id)))
        logged, _ = wait_for(lambda: self._logged_disconnect(pattern, since), timeout, 0.002)
        if logged is None:
            return None, None
        released = self._probe()
        confirmed, _ = wait_for(lambda: (c := self.count()) is not None and c <= base_count,
                                self.resolution_s + 1, 0.02)
        if not confirmed:
            return None, None
        return released, "log + probe"

    @staticmethod
    def _next_packet(buf):
        if len(buf) < 2:
            return None
        length, mult, p = 0, 1, 1
        while True:
            if p >= len(buf):
                return None
            byte = buf[p]
            p += 1
            length += (byte & 0x7F) * mult
            mult *= 128
            if not byte & 0x80:
                break
        if len(buf) - p < length:
            return None
        kind = buf[0] >> 4
        body = bytes(buf[p:p + length])
        del buf[:p + length]
        return kind, body

    def count(self):
        with self.cond:
            return self.value

    def observe(self, seconds):
        """As wait_release watches: the log lines every 2 ms."""
        never = re.compile("(?!)")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._logged_disconnect(never, deadline)
            time.sleep(0.002)

    def close_monitor(self):
        for conn in (getattr(self, "monitor", None), getattr(self, "probe", None)):
            if conn:
                conn.close()


class NatsServer(Server):
    name = "nats-server"
    system = "nats"

    def __init__(self, children, tmp):
        super().__init__(children, tmp)
        self.port = free_port()
        self.mport = free_port()
        self.addr = "tcp:127.0.0.1:%d" % self.port
        self.log = os.path.join(tmp, "nats-%d.log" % self.port)
        out = subprocess.run(["nats-server", "--version"], capture_output=True, text=True).stdout
        self.version = out.strip().replace("nats-server: v", "")
        with open(self.log, "w") as log:
            self.proc = children.spawn("server", ["nats-server", "-a", "127.0.0.1", "-p", str(self.port),
                                                  "-m", str(self.mport), "-P", self.log[:-4] + ".pid"],
                                       stdout=log, stderr=log)
        wait_connectable(self.proc, self.addr, self.log)
        wait_connectable(self.proc, "tcp:127.0.0.1:%d" % self.mport, self.log)

    def count(self):
        """num_subscriptions from the monitoring endpoint /subsz."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/subsz" % self.mport, timeout=5) as r:
                return json.load(r)["num_subscriptions"]
        except OSError:
            return None


class Lwmid(Server):
    name = "lwmi"
    system = "lwmi"

    def __init__(self, children, tmp, lwmid, extra_args=(), tcp=False):
        super().__init__(children, tmp)
        self.sock = os.path.join(tmp, "lwmid-%d.sock" % len(children.procs))
        self.addr = "unix:" + self.sock
        if tcp:
            # also a loopback TCP listener, the transport the peers use;
            # clients (setup included) then connect there
            port = free_port()
            # and, like the peers, no per-user limits: plain TCP clients
            # are all one user (anonymous), whose default quotas (64
            # sessions, 10,000 requests a second) a benchmark exceeds
            extra_args = ("--listen", "127.0.0.1:%d" % port,
                          "--quota-sessions", "unlimited",
                          "--quota-request-rate", "unlimited") + tuple(extra_args)
            self.addr = "tcp:127.0.0.1:%d" % port
        self.log = self.sock.replace(".sock", ".log")
        out = subprocess.run([lwmid, "--version"], capture_output=True, text=True).stdout
        self.version = out.split()[1] if len(out.split()) > 1 else "?"
        with open(self.log, "w") as log:
            self.proc = children.spawn("server", [lwmid, "--socket", self.sock, "--repository", ":memory:",
                                                  "--log-level", "warning", *extra_args],
                                       stdout=log, stderr=log)
        wait_connectable(self.proc, self.addr, self.log)
        # set up as root over the Unix socket; plain TCP peers are
        # anonymous, which by default may only read and subscribe in
        # root/cimv2 (docs/security.md): grant what the clients do
        setup = agent.Lwmi("unix:" + self.sock, "kb-setup")
        if tcp:
            for ns, rights in ((agent.LWMI_NAMESPACE, "read,subscribe,write,publish"),
                               ("root/lwmi", "read")):
                setup.call("GrantRights", namespace=ns, principal="anonymous", rights=rights)
        setup.call("PutClass", namespace=agent.LWMI_NAMESPACE,
                   **{"class": {"__CLASS": agent.LWMI_EVENT_CLASS, "__SUPERCLASS": "__ExtrinsicEvent",
                                "properties": {"Id": {"type": "uint32"}, "T": {"type": "sint64"}}}})
        setup.close()
        self.monitor = None
        self.monitor_error = None

    def count(self):
        """LWMI_Daemon.Registrations in root/lwmi, on a connection of its
        own; None (and monitor_error set) when lwmid does not offer it."""
        try:
            if self.monitor is None:
                self.monitor = agent.Lwmi(self.addr, "kb-monitor")
            objs = self.monitor.call("ExecQuery", namespace="root/lwmi",
                                     query="SELECT * FROM LWMI_Daemon")["objects"]
            for key, value in objs[0].items():
                if key.lower() == "registrations":
                    return int(value)
            self.monitor_error = "LWMI_Daemon has no Registrations property"
        except (RuntimeError, IndexError) as e:
            self.monitor_error = str(e)
        except OSError as e:
            self.monitor_error = str(e)
            self.close_monitor()
        return None

    def close_monitor(self):
        if self.monitor:
            self.monitor.close()
            self.monitor = None


# --- reports ---------------------------------------------------------------


def table(header, rows):
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)


def ratio(a, b):
    """a / b as text, or a dash when either is missing."""
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return "%.2f" % r if r < 10 else "%.0f" % r


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs (nproc), load average %s" % (model, len(os.sched_getaffinity(0)),
                                                    " ".join(open("/proc/loadavg").read().split()[:3]))
