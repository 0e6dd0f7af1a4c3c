#!/usr/bin/python3
"""Linux_Process events: native (the kernel's proc connector) against
WITHIN 1 polling of /proc. Run as root (the proc connector needs
CAP_NET_ADMIN); bench/procevents/run.sh starts it.

Measured:
  latency  exec-to-event: the time from the child's exec, as the kernel
           stamps it (CLOCK_MONOTONIC of the PROC_EVENT_EXEC this client
           reads from its own proc connector socket), to the client's
           receiving the __InstanceCreationEvent of that child (the recv()
           that completed its line), for --latency-n processes (/bin/sleep
           0.3 or 1.5) spawned one at a time --gap-ms apart: p50, p99, max.
           Also from posix_spawn() returning, as earlier versions measured:
           glibc spawns with vfork, but the parent is let go in the middle
           of the child's execve() and then waits for a CPU, so on a busy
           machine that start is late and the figure too low. Native: an lwmid started
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
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ExecClock:
    """The kernel's exec times, by pid, from a proc connector socket of our
    own (netlink, NETLINK_CONNECTOR, group CN_IDX_PROC)."""
    NETLINK_CONNECTOR, CN_IDX_PROC, CN_VAL_PROC = 11, 1, 1
    PROC_CN_MCAST_LISTEN, PROC_EVENT_EXEC = 1, 2

    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, self.NETLINK_CONNECTOR)
        self.s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        self.s.bind((0, self.CN_IDX_PROC))
        op = struct.pack("=I", self.PROC_CN_MCAST_LISTEN)
        cn = struct.pack("=IIIIHH", self.CN_IDX_PROC, self.CN_VAL_PROC, 0, 0, len(op), 0) + op
        self.s.send(struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, 0) + cn)  # NLMSG_DONE
        self.s.setblocking(False)
        self.execs = {}  # pid -> [timestamps, seconds]

    def drain(self):
        while True:
            try:
                data = self.s.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:  # ENOBUFS: some lost; the samples they held have none
                continue
            off = 0
            while off + 16 <= len(data):
                length = struct.unpack_from("=I", data, off)[0]
                if length < 16:
                    break
                p = off + 16 + 20  # nlmsghdr, cn_msg
                if length >= 16 + 20 + 24:
                    what, _cpu, ts, pid, tgid = struct.unpack_from("=IIQII", data, p)
                    if what == self.PROC_EVENT_EXEC and pid == tgid:
                        self.execs.setdefault(pid, []).append(ts / 1e9)
                off += (length + 3) & ~3

    def exec_time(self, pid, after):
        """The first exec of pid at or after `after` (seconds), or None."""
        return next((t for t in self.execs.get(pid, []) if t >= after), None)

    def close(self):
        self.s.close()


class Daemon:
    def __init__(self, lwmid, tmp, args):
        stamp = time.monotonic_ns()
        self.sock = os.path.join(tmp, "lwmid-%d.sock" % stamp)
        self.log_path = os.path.join(tmp, "lwmid-%d.log" % stamp)
        self.log = open(self.log_path, "ab")
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

    def traces(self):
        """The procevents-trace lines of a -Dprocevents_trace=true lwmid
        (written when its source stops): pid -> [dict of CLOCK_MONOTONIC
        seconds], oldest first."""
        out = {}
        with open(self.log_path, errors="replace") as f:
            for line in f:
                if not line.startswith("procevents-trace "):
                    continue
                kv = dict(x.split("=", 1) for x in line.split()[1:])
                t = {k: int(v) / 1e9 for k, v in kv.items() if k not in ("pid", "creation")}
                t["creation"] = kv["creation"] == "1"
                out.setdefault(int(kv["pid"]), []).append(t)
        return out


class Client:
    def __init__(self, path):
        deadline = time.monotonic() + 10
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)  # the file may exist a moment before listen()
                break
            except (ConnectionRefusedError, FileNotFoundError):
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.buf = b""
        self.next_id = 1
        self.received = 0.0  # CLOCK_MONOTONIC of the last recv() that brought data

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
            self.received = time.monotonic()
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
                # the recv() that completed the line (an approximation when a
                # line took several: it lands at the last)
                out.extend((self.received, ev) for ev in m["params"]["objects"])
            m = self.read(0)
        return out


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def latency(lwmid, tmp, native, n, gap, dump=None, breakdown=None):
    d = Daemon(lwmid, tmp, [] if native else ["--no-proc-connector"])
    result = None
    try:
        c = Client(d.sock)
        within = "" if native else "WITHIN 1 "
        c.call("ExecNotificationQueryAsync", namespace="root/cimv2", sink="s",
               query="SELECT * FROM __InstanceCreationEvent %sWHERE TargetInstance ISA "
                     "'Linux_Process' AND TargetInstance.ParentProcessId = %d"
                     % (within, os.getpid()))
        life = "0.3" if native else "1.5"
        clock = ExecClock()
        spawned, before, seen, alive = {}, {}, {}, []
        try:
            for _ in range(n):
                t0 = time.monotonic()
                pid = os.posix_spawn("/bin/sleep", ["/bin/sleep", life], os.environ)
                spawned[pid] = time.monotonic()
                before[pid] = t0
                alive.append(pid)
                # wait for events until the gap is over: the next child is
                # spawned gap after this one, whenever its event came
                while True:
                    left = t0 + gap - time.monotonic()
                    if left <= 0:
                        break
                    for t, ev in c.events(left):
                        seen.setdefault(int(ev["TargetInstance"]["ProcessId"]), t)
                clock.drain()
                while len(alive) > 64:
                    os.waitpid(alive.pop(0), 0)
            deadline = time.monotonic() + 5
            while len(seen) < len(spawned) and time.monotonic() < deadline:
                for t, ev in c.events(0.2):
                    seen.setdefault(int(ev["TargetInstance"]["ProcessId"]), t)
            for pid in alive:
                os.waitpid(pid, 0)
            clock.drain()
        finally:
            clock.close()
        execd = {p: clock.exec_time(p, before[p]) for p in spawned}
        lat = [(seen[p] - execd[p]) * 1000 for p in spawned if p in seen and execd[p] is not None]
        lat_spawn = [(seen[p] - spawned[p]) * 1000 for p in spawned if p in seen]
        if dump is not None:
            dump.extend({"native": native, "pid": p, "before": before[p], "spawned": spawned[p],
                         "exec": execd[p], "seen": seen.get(p)} for p in spawned)
        # a creation before the exec (announced at the fork's grace, with
        # the parent's image): counted, and in the figures as it came
        early = sum(1 for p in spawned if p in seen and execd[p] is not None and seen[p] < execd[p])
        result = {"n": n, "seen": len(lat_spawn), "timed": len(lat), "early": early,
                  "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "max_ms": max(lat),
                  "spawn_p50_ms": percentile(lat_spawn, 50),
                  "spawn_p99_ms": percentile(lat_spawn, 99)}
    finally:
        d.stop()
    if breakdown is not None:
        traces = d.traces()
        for p in spawned:
            # the daemon's record of this exec: the same kernel stamp
            t = next((t for t in traces.get(p, []) if execd[p] is not None and
                      abs(t["exec"] - execd[p]) < 1e-6), None)
            if t is not None and p in seen and t["creation"]:
                breakdown.append({"pid": p, "creation": t["creation"], "exec": t["exec"],
                                  "recv": t["recv"], "handle": t["handle"],
                                  "read": t["read"] or t["raised"], "raised": t["raised"],
                                  "seen": seen[p]})
    return result


def breakdown_table(rows):
    """Where the time from exec to receipt went, per sample: p50, p90, p99,
    max of each stage, and the stages of the slowest samples."""
    stages = (("exec -> daemon recv", "exec", "recv"),
              ("recv -> handling", "recv", "handle"),
              ("/proc read", "handle", "read"),
              ("raise (filter, encode, queue)", "read", "raised"),
              ("queued -> client recv", "raised", "seen"),
              ("total", "exec", "seen"))
    print("| stage (%d samples) | p50 ms | p90 ms | p99 ms | max ms |" % len(rows))
    print("|---|---:|---:|---:|---:|")
    for name, a, b in stages:
        v = [(r[b] - r[a]) * 1000 for r in rows]
        print("| %s | %.3f | %.3f | %.3f | %.3f |" % (name, percentile(v, 50), percentile(v, 90),
                                                       percentile(v, 99), max(v)))
    print()
    print("Slowest: " + "; ".join(
        "pid %d %.2f ms = %s" % (r["pid"], (r["seen"] - r["exec"]) * 1000,
                                 " + ".join("%.2f" % ((r[b] - r[a]) * 1000)
                                            for _, a, b in stages[:-1]))
        for r in sorted(rows, key=lambda r: r["exec"] - r["seen"])[:5]))


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
    ap.add_argument("--native-only", action="store_true",
                    help="skip the polled runs (for quick comparisons of the native source)")
    ap.add_argument("--breakdown", action="store_true",
                    help="with an lwmid built with -Dprocevents_trace=true: where each native "
                         "sample's time went (daemon wake-up, /proc read, raise, delivery)")
    ap.add_argument("--dump", metavar="FILE",
                    help="write every latency sample (pid; CLOCK_MONOTONIC seconds before and "
                         "after posix_spawn and at the event's receipt) to FILE as JSON")
    opts = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the proc connector needs CAP_NET_ADMIN")
    samples = [] if opts.dump else None
    stages = [] if opts.breakdown else None
    with tempfile.TemporaryDirectory(prefix="lwmi-procevents-") as tmp:
        res = {"native_latency": latency(opts.lwmid, tmp, True, opts.latency_n,
                                         opts.gap_ms / 1000, samples, stages)}
        if not opts.native_only:
            res["polled_latency"] = latency(opts.lwmid, tmp, False, opts.polled_n, 0.25, samples)
        res["native_cpu"] = cpu(opts.lwmid, tmp, True, opts.burst_n)
        if not opts.native_only:
            res["polled_cpu"] = cpu(opts.lwmid, tmp, False, opts.burst_n)
    if opts.dump:
        with open(opts.dump, "w") as f:
            json.dump(samples, f)
    print("| source | processes | seen | p50 ms | p99 ms | max ms | from spawn return: p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, key in (("native (proc connector)", "native_latency"),
                      ("WITHIN 1 polling", "polled_latency")):
        if key in res:
            r = res[key]
            print("| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f |"
                  % (name, r["n"], r["seen"], r["p50_ms"], r["p99_ms"], r["max_ms"],
                     r["spawn_p50_ms"], r["spawn_p99_ms"]))
    for name, key in (("native", "native_latency"), ("polled", "polled_latency")):
        if res.get(key, {}).get("early"):
            print("(%s: %d creations came before their exec, announced at the fork's grace)"
                  % (name, res[key]["early"]))
    print()
    print("| source | processes | events received | burst s | daemon CPU s | CPU ms per 1,000 events |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, key in (("native (proc connector)", "native_cpu"), ("WITHIN 1 polling", "polled_cpu")):
        if key in res:
            r = res[key]
            print("| %s | %d | %d | %.1f | %.3f | %.1f |" % (name, r["n"], r["events"],
                                                             r["spawn_s"], r["cpu_s"],
                                                             r["cpu_ms_per_1000"]))
    if stages is not None:
        print()
        if stages:
            breakdown_table(stages)
        else:
            print("No breakdown: this lwmid was not built with -Dprocevents_trace=true.")
    print(json.dumps(res))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
