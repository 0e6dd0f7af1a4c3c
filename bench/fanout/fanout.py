"""bench/fanout: small events delivered per second to 1 and to 100
consumers, on mosquitto, nats-server and lwmi.

For each system, on a fresh server: a consumer process (fanout-client
consume) opens K connections, each subscribed to the one stream, and once
every subscription is confirmed a publisher process (fanout-client publish,
a connection of its own) sends M small events (a 16-byte payload; for lwmi
a Bench_Event with Id and T, each Indicate parsed by the consumer as
liblwmi would: jansson, seq checked, every object read) as fast as its
flow control allows. The figure is deliveries per second: events received over all K connections
divided by the time from the publisher's first byte to the last event
received; "per consumer" divides that by K. Each case runs --repeat times;
the table gives the best and the median, and how many deliveries were
missing (a server that drops events for a slow consumer). Prints one
Markdown table with lwmi's ratios to each peer; exits 1 if a peer (or lwmi,
other than by not offering a method yet) did not run."""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "lib"))
import peers  # noqa: E402

SYSTEMS = ["mosquitto", "nats-server", "lwmi"]


def log(*args):
    print("#", *args, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    """User + system CPU time of a process so far (all its threads), in s."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(server, client, k, m, opts, children):
    tag = ["--tag", children.tmp]
    consumer = children.spawn("agent", [client, "consume", server.system, server.addr, "--connections", str(k),
                                        "--events", str(m), "--idle-ms", str(opts.idle_ms),
                                        "--timeout-s", str(opts.timeout)] + tag,
                              stdout=subprocess.PIPE)
    lines = peers.ProcLines(consumer, "fanout-client consume")
    cpu_before = cpu_seconds(server.proc.pid)
    try:
        ready = lines.read(60)
        if not ready.get("ready"):
            raise peers.BenchError("consumers could not subscribe")
        publisher = subprocess.run([client, "publish", server.system, server.addr, "--events", str(m),
                                    "--window", str(opts.window), "--timeout-s", str(opts.timeout)] + tag,
                                   capture_output=True, text=True, timeout=opts.timeout + 30)
        if publisher.returncode != 0:
            raise peers.BenchError("publisher failed: %s" % publisher.stderr.strip()[-300:])
        pub = json.loads(publisher.stdout)
        got = lines.read(opts.timeout + opts.idle_ms / 1000 + 30)
        consumer.wait(timeout=10)
    finally:
        peers.Children.kill(consumer)
    if not server.alive():
        raise peers.BenchError("%s died: %s" % (server.name, peers.tail(server.log)))
    # the server's own CPU time over the run: what one delivery costs it,
    # whatever share of a loaded machine it got
    server_cpu = cpu_seconds(server.proc.pid) - cpu_before
    seconds = (got["last_ns"] - pub["start_ns"]) / 1e9 if got["last_ns"] else None
    return {"k": k, "m": m, "received": got["received"], "expected": k * m,
            "min_per_connection": got["min_per_connection"], "closed": got["closed"],
            "seconds": seconds, "publish_seconds": (pub["end_ns"] - pub["start_ns"]) / 1e9,
            "rate": got["received"] / seconds if seconds else 0.0,
            "server_cpu_s": server_cpu,
            "server_us_per_delivery": server_cpu * 1e6 / got["received"] if got["received"] else None,
            # the clients' own CPU (whole process lives, connecting included)
            "publisher_cpu_s": pub.get("cpu_us", 0) / 1e6, "consumer_cpu_s": got.get("cpu_us", 0) / 1e6,
            # lwmi: Indicate lines (several events each when batched) and
            # events reported dropped (EventsDropped)
            "lines": got.get("lines"), "dropped": got.get("dropped")}


def run_system(name, opts, children, tmp, client):
    res = {"system": name, "cases": {}}
    if name == "mosquitto":
        server = peers.Mosquitto(children, tmp)
    elif name == "nats-server":
        server = peers.NatsServer(children, tmp)
    else:
        server = peers.Lwmid(children, tmp, opts.lwmid, tcp=opts.lwmi_transport == "tcp")
    res["version"] = server.version
    try:
        for k, m in ((1, opts.events1), (100, opts.events100)):
            runs = []
            for i in range(opts.repeat):
                r = one_run(server, client, k, m, opts, children)
                log("%s K=%d run %d: %s" % (name, k, i + 1, json.dumps(r)))
                runs.append(r)
            res["cases"][k] = runs
    finally:
        server.stop()
    return res


def report(results, opts):
    names = [s for s in SYSTEMS if s in opts.systems]
    peers_run = [s for s in names if s != "lwmi"]
    by = {r["system"]: r for r in results}
    header = ["deliveries per second"] + ["%s %s" % (s, by[s].get("version", "")) if s in by else s
                                          for s in names]
    if "lwmi" in names:
        header += ["lwmi / %s" % p for p in peers_run]
    rows = []
    notes = []

    def case(s, k):
        r = by.get(s)
        if not r or "error" in r:
            return None
        return r["cases"].get(k)

    def cell(s, fn):
        r = by.get(s)
        if r is None:
            return "did not run"
        if "error" in r:
            return "failed (below)"
        return fn(r)

    for k, m in ((1, opts.events1), (100, opts.events100)):
        def best(s, k=k):
            runs = case(s, k)
            return max(x["rate"] for x in runs) if runs else None

        def median(s, k=k):
            runs = case(s, k)
            return statistics.median(x["rate"] for x in runs) if runs else None

        def missing(s, k=k):
            runs = case(s, k)
            return sum(x["expected"] - x["received"] for x in runs) if runs else None

        label = "%d consumer%s, %s events" % (k, "" if k == 1 else "s", "{:,}".format(m))
        row = [label + ", best"] + [cell(s, lambda r, s=s: "{:,.0f}/s".format(best(s))) for s in names]
        if "lwmi" in names:
            row += [peers.ratio(best("lwmi"), best(p)) for p in peers_run]
        rows.append(row)
        row = [label + ", median"] + [cell(s, lambda r, s=s: "{:,.0f}/s".format(median(s))) for s in names]
        if "lwmi" in names:
            row += [peers.ratio(median("lwmi"), median(p)) for p in peers_run]
        rows.append(row)
        if k > 1:
            row = [label + ", per consumer (median)"] + [
                cell(s, lambda r, s=s: "{:,.0f}/s".format(median(s) / k)) for s in names]
            if "lwmi" in names:
                row += [""] * len(peers_run)
            rows.append(row)
        def cpu(s, k=k):
            runs = case(s, k)
            return statistics.median(x["server_us_per_delivery"] for x in runs) if runs else None

        row = [label + ", server CPU per delivery (median)"] + [
            cell(s, lambda r, s=s: "%.2f µs" % cpu(s)) for s in names]
        if "lwmi" in names:
            # how many times less CPU lwmi spends per delivery
            row += [peers.ratio(cpu(p), cpu("lwmi")) for p in peers_run]
        rows.append(row)
        row = [label + ", deliveries missing (all runs)"] + [
            cell(s, lambda r, s=s: "{:,}".format(missing(s))) for s in names]
        if "lwmi" in names:
            row += [""] * len(peers_run)
        rows.append(row)
    for s in names:
        r = by.get(s)
        if r and "error" in r:
            notes.append("- %s: failed: %s" % (s, r["error"]))
    return peers.table(header, rows) + ("\n\n" + "\n".join(notes) if notes else "")


def main():
    parser = argparse.ArgumentParser(description="Fan-out of small events on mosquitto, nats-server, lwmi.")
    parser.add_argument("--lwmid", required=True, help="the lwmid executable (fanout-client is found beside it)")
    parser.add_argument("--quick", action="store_true", help="fewer events, one run each")
    parser.add_argument("--smoke", action="store_true", help="a few thousand events, one run each (seconds)")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--events1", type=int, default=200000, help="events published to 1 consumer")
    parser.add_argument("--events100", type=int, default=20000, help="events published to 100 consumers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--window", type=int, default=4096, help="most events the publisher is ahead")
    parser.add_argument("--idle-ms", type=int, default=3000, help="consumers stop after this long without events")
    parser.add_argument("--timeout", type=int, default=300, help="bound on one run (s)")
    parser.add_argument("--lwmi-transport", choices=["unix", "tcp"], default="tcp",
                        help="lwmi's clients connect over a Unix socket or loopback TCP (the peers"
                        " always use loopback TCP; default tcp, the like-for-like comparison)")
    parser.add_argument("--json", help="write the raw figures to this file")
    opts = parser.parse_args()
    if opts.quick:
        opts.events1, opts.events100, opts.repeat = 100000, 5000, 1
    if opts.smoke:
        opts.events1, opts.events100, opts.repeat, opts.idle_ms = 5000, 200, 1, 1000
    opts.systems = [s.strip() for s in opts.systems.split(",") if s.strip()]
    for s in opts.systems:
        if s not in SYSTEMS:
            parser.error("unknown system %r" % s)
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(opts.lwmid))))
    client = os.path.join(build, "bench", "fanout-client")
    if not os.access(client, os.X_OK):
        parser.error("%s is not built (ninja -C %s)" % (client, build))

    peers.install_signal_handlers()
    tmp = os.environ.get("KB_TMP") or tempfile.mkdtemp(prefix="fanout.")
    children = peers.Children(tmp)
    results, failed = [], []
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        for name in opts.systems:
            try:
                results.append(run_system(name, opts, children, tmp, client))
            except (peers.BenchError, OSError, RuntimeError, ValueError, KeyError,
                    subprocess.TimeoutExpired) as e:
                traceback.print_exc()
                results.append({"system": name, "error": "%s: %s" % (type(e).__name__, e)})
                failed.append(name)
            finally:
                children.cleanup()
    finally:
        children.cleanup()
    mode = "smoke" if opts.smoke else "quick" if opts.quick else "full"
    print("## fanout (%s run), %s" % (mode, started.strftime("%Y-%m-%d %H:%M UTC")))
    print()
    print("Machine: %s. Publisher window %d events; %d run%s per case; lwmi over %s."
          % (peers.machine(), opts.window, opts.repeat, "" if opts.repeat == 1 else "s",
             "loopback TCP" if opts.lwmi_transport == "tcp" else "a Unix socket"))
    print()
    print(report(results, opts))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1)
    if failed:
        print("\nFAILED: %s" % ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
