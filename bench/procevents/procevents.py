#!/usr/bin/python3
"""Linux_Process events: native (the kernel's proc connector) against
WITHIN 1 polling of /proc. Run as root (the proc connector needs
CAP_NET_ADMIN); bench/procevents/run.sh starts it.

Measured:
  latency  exec-to-event: the time from posix_spawn() returning (glibc
           spawns with vfork, so the parent resumes once the child has
           exec'd) to the client reading the __InstanceCreationEvent of that
           child, for --latency-n processes (/bin/sleep 0.3 or 1.5) spawned one
           at a time --gap-ms apart: p50, p99, max. Native: an lwmid started
           as is, with "SELECT * FROM __InstanceCreationEvent WHERE
           TargetInstance ISA 'Linux_Process' AND
           TargetInstance.ParentProcessId = <ours>". Polled: lwmid
           --no-proc-connector, the same query with WITHIN 1.
  cpu      the daemon's CPU time (user + system, /proc/PID/stat) over a
           burst of --burst-n /bin/true processes (at most 64 alive at once)
           while creation and deletion are both subscribed, per 1,000
           process events (a creation or a deletion is one event), until
           every event arrived (native) or for the burst plus 2 s of polls
           (polled).

Standard library only. Prints a Markdown table and a JSON line."""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Daemon:
    def __init__(self, lwmid, tmp, args):
        self.sock = os.path.join(tmp, "lwmid-%d.sock" % time.monotonic_ns())
        self.log = open(os.path.join(tmp, "lwmid.log"), "ab")
        self.proc = subprocess.Popen([lwmid, "--socket", self.sock, "--repository", ":memory:",
                                      "--log-level", "info"] + list(args),
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("lwmid did not start")
            time.sleep(0.01)

    def cpu(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        self.log.close()


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.next_id = 1

    def send(self, obj):
        self.s.sendall(json.dumps(obj).encode() + b"\n")

    def read(self, timeout):
        """One message, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            self.s.settimeout(max(remaining, 0.0))
            try:
                data = self.s.recv(1 << 16)
            except (TimeoutError, socket.timeout, BlockingIOError):
                return None
            if not data:
                raise SystemExit("lwmid closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        m = json.loads(line)
        if "method" in m and "id" in m:  # a Ping from the server
            self.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
            return self.read(max(0.0, deadline - time.monotonic()))
        return m

    def call(self, method, **params):
        i = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        while True:
            m = self.read(30)
            if m is None:
                raise SystemExit("no answer to %s" % method)
            if m.get("id") == i:
                if "error" in m:
                    raise SystemExit("%s: %s" % (method, m["error"]["message"]))
                return m["result"]

    def events(self, timeout):
        """(receipt time, event) of every Indicate read within timeout."""
        out = []
        m = self.read(timeout)
        while m is not None:
            if m.get("method") == "Indicate":
                now = time.monotonic()
                out.extend((now, ev) for ev in m["params"]["objects"])
            m = self.read(0)
        return out


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def latency(lwmid, tmp, native, n, gap):
    d = Daemon(lwmid, tmp, [] if native else ["--no-proc-connector"])
    try:
        c = Client(d.sock)
        within = "" if native else "WITHIN 1 "
        c.call("ExecNotificationQueryAsync", namespace="root/cimv2", sink="s",
               query="SELECT * FROM __InstanceCreationEvent %sWHERE TargetInstance ISA "
                     "'Linux_Process' AND TargetInstance.ParentProcessId = %d"
                     % (within, os.getpid()))
        life = "0.3" if native else "1.5"
        spawned, seen, alive = {}, {}, []
        for _ in range(n):
            pid = os.posix_spawn("/bin/sleep", ["/bin/sleep", life], os.environ)
            spawned[pid] = time.monotonic()
            alive.append(pid)
            for t, ev in c.events(gap):
                seen.setdefault(int(ev["TargetInstance"]["ProcessId"]), t)
            while len(alive) > 64:
                os.waitpid(alive.pop(0), 0)
        deadline = time.monotonic() + 5
        while len(seen) < len(spawned) and time.monotonic() < deadline:
            for t, ev in c.events(0.2):
                seen.setdefault(int(ev["TargetInstance"]["ProcessId"]), t)
        for pid in alive:
            os.waitpid(pid, 0)
        lat = [(seen[p] - spawned[p]) * 1000 for p in spawned if p in seen]
        return {"n": n, "seen": len(lat), "p50_ms": percentile(lat, 50),
                "p99_ms": percentile(lat, 99), "max_ms": max(lat)}
    finally:
        d.stop()


def cpu(lwmid, tmp, native, n):
    d = Daemon(lwmid, tmp, [] if native else ["--no-proc-connector"])
    try:
        c = Client(d.sock)
        within = "" if native else "WITHIN 1 "
        for kind in ("Creation", "Deletion"):
            c.call("ExecNotificationQueryAsync", namespace="root/cimv2", sink=kind,
                   query="SELECT * FROM __Instance%sEvent %sWHERE TargetInstance ISA "
                         "'Linux_Process' AND TargetInstance.ParentProcessId = %d"
                         % (kind, within, os.getpid()))
        time.sleep(0.5)
        cpu0, t0 = d.cpu(), time.monotonic()
        pids, alive, got = set(), [], 0
        for _ in range(n):
            if len(alive) >= 64:
                os.waitpid(alive.pop(0), 0)
            pid = os.posix_spawn("/bin/true", ["/bin/true"], os.environ)
            pids.add(pid)
            alive.append(pid)
            got += len(c.events(0))
        for pid in alive:
            os.waitpid(pid, 0)
        spawn_s = time.monotonic() - t0
        deadline = time.monotonic() + (30 if native else 2)
        while time.monotonic() < deadline and (not native or got < 2 * n):
            got += len(c.events(0.2))
        cpu1, t1 = d.cpu(), time.monotonic()
        events = got
        return {"n": n, "events": events, "spawn_s": spawn_s, "wall_s": t1 - t0,
                "cpu_s": cpu1 - cpu0,
                "cpu_ms_per_1000": (cpu1 - cpu0) * 1000 / max(events, 1) * 1000}
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lwmid", default=os.path.join(ROOT, "build/src/daemon/lwmid"))
    ap.add_argument("--latency-n", type=int, default=300)
    ap.add_argument("--polled-n", type=int, default=40)
    ap.add_argument("--gap-ms", type=float, default=20)
    ap.add_argument("--burst-n", type=int, default=2000)
    opts = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the proc connector needs CAP_NET_ADMIN")
    with tempfile.TemporaryDirectory(prefix="lwmi-procevents-") as tmp:
        res = {
            "native_latency": latency(opts.lwmid, tmp, True, opts.latency_n, opts.gap_ms / 1000),
            "polled_latency": latency(opts.lwmid, tmp, False, opts.polled_n, 0.25),
            "native_cpu": cpu(opts.lwmid, tmp, True, opts.burst_n),
            "polled_cpu": cpu(opts.lwmid, tmp, False, opts.burst_n),
        }
    nl, pl, nc, pc = (res[k] for k in ("native_latency", "polled_latency", "native_cpu",
                                        "polled_cpu"))
    print("| source | processes | seen | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in (("native (proc connector)", nl), ("WITHIN 1 polling", pl)):
        print("| %s | %d | %d | %.2f | %.2f | %.2f |" % (name, r["n"], r["seen"], r["p50_ms"],
                                                       r["p99_ms"], r["max_ms"]))
    print()
    print("| source | processes | events received | burst s | daemon CPU s | CPU ms per 1,000 events |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in (("native (proc connector)", nc), ("WITHIN 1 polling", pc)):
        print("| %s | %d | %d | %.1f | %.3f | %.1f |" % (name, r["n"], r["events"],
                                                         r["spawn_s"], r["cpu_s"],
                                                         r["cpu_ms_per_1000"]))
    print(json.dumps(res))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
