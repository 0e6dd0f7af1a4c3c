"""bench/kb931320/subscribe.py: lwmi's two KB 931320 figures for
registrations, side by side for several lwmid builds in one run: the time
to subscribe N registrations pipelined on one connection (distinct
equality filters, `SELECT * FROM Bench_Event WHERE Id = <i>`, with the
harness's own client, bench/lib/agent.py) and the daemon's RSS growth / N,
as kb931320.py measures them; plus the CPU time lwmid spent meanwhile
(from /proc/PID/stat), which a loaded machine disturbs less than the wall
time.

With --shared every registration is the same query (`Id = 1`: one
filter, shared).

Usage: python3 bench/kb931320/subscribe.py [--n N] [--reps R] [--shared] LWMID...
Each repetition starts each lwmid afresh (--repository :memory:), in
turn."""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import agent  # noqa: E402
import peers  # noqa: E402


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(lwmid, n, shared):
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "lwmid.sock")
        proc = subprocess.Popen([lwmid, "--socket", sock, "--repository", ":memory:",
                                 "--log-level", "warning"], stderr=subprocess.DEVNULL)
        try:
            addr = "unix:" + sock
            for _ in range(200):
                try:
                    setup = agent.Lwmi(addr, "setup")
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    time.sleep(0.05)
            else:
                raise RuntimeError("%s did not start" % lwmid)
            setup.call("PutClass", namespace=agent.LWMI_NAMESPACE,
                       **{"class": {"__CLASS": agent.LWMI_EVENT_CLASS, "__SUPERCLASS": "__ExtrinsicEvent",
                                    "properties": {"Id": {"type": "uint32"}, "T": {"type": "sint64"}}}})
            healthy = agent.Lwmi(addr, "healthy")
            healthy.subscribe([0])
            time.sleep(0.3)
            rss0 = peers.rss_kib(proc.pid)
            consumer = agent.Lwmi(addr, "consumer")
            cpu0 = cpu_seconds(proc.pid)
            if shared:
                elapsed = consumer.subscribe_queries([agent.Lwmi.query(1)] * n)
            else:
                elapsed = consumer.subscribe(range(1, n + 1))
            cpu = cpu_seconds(proc.pid) - cpu0
            time.sleep(0.3)
            rss1 = peers.rss_kib(proc.pid)
            return elapsed, cpu, (rss1 - rss0) * 1024.0 / n
        finally:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--shared", action="store_true", help="one query N times")
    parser.add_argument("lwmid", nargs="+")
    args = parser.parse_args()
    for rep in range(args.reps):
        for lwmid in args.lwmid:
            elapsed, cpu, per_reg = run(lwmid, args.n, args.shared)
            print("%-40s N = %d%s: subscribe %.3f s, lwmid CPU %.2f s, RSS growth %.1f B per registration"
                  % (lwmid, args.n, " (shared)" if args.shared else "", elapsed, cpu, per_reg), flush=True)


if __name__ == "__main__":
    sys.exit(main())
