"""bench/kb931320: the KB 931320 scenario (a consumer lost or hung while it
holds many registrations) side by side on mosquitto, nats-server and lwmi.

For each system and each N, on a fresh server: a healthy consumer with one
registration (registration 0) stays connected throughout; then, for each
fault, a consumer process subscribes N registrations on one connection
(pipelined), a publisher sends `--rate` events/s to registration 0 (and, for
the "events flowing" fault, `--flood-rate` events/s round-robin to the N
registrations of the consumer under test), and after a baseline window the
consumer under test is killed (SIGKILL) or stopped (SIGSTOP). Measured:

- subscribe time: first SUBSCRIBE/SUB/request sent to last answer in
  (for NATS, the PONG after the last SUB);
- memory per registration: server VmRSS after the N registrations are in
  place minus before the consumer came, over N (the first fault, on the
  fresh server);
- release: time from the fault until the server's registration count is
  back to its level before the consumer came (mosquitto: the
  $SYS/broker/subscriptions/count it publishes every second, so the figure
  is late by up to 1 s; nats-server: num_subscriptions of /subsz; lwmi:
  LWMI_Daemon.Registrations in root/lwmi), polled until `--wait` seconds;
- RSS after release against before;
- the healthy consumer's delivery latency p50 / p99 / max for the events
  published during the fault (from the fault until release, at least
  `--min-window` s) against the baseline window just before the fault,
  and the events it lost.

A consumer that is never released within `--wait` is then killed (SIGCONT,
SIGKILL) so the next fault starts clean. Prints one Markdown table per N
with every system's figures and lwmi's ratios to each peer; exits 1 if a
peer (or lwmi, other than by not offering a method yet) did not run."""

import argparse
import datetime
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "lib"))
import peers  # noqa: E402

FAULTS = [
    ("kill", "SIGKILL"),
    ("stop-idle", "SIGSTOP, idle"),
    ("stop-flow", "SIGSTOP, events flowing"),
]
SYSTEMS = ["mosquitto", "nats-server", "lwmi"]


def log(*args):
    print("#", *args, file=sys.stderr, flush=True)


def settled_count(server):
    """The registration count once the server's figure is current."""
    if server.resolution_s > 0.5:
        time.sleep(server.resolution_s * 1.5 + 0.2)
    return server.count()


def run_fault(server, healthy, n, fault, opts, children):
    r = {"fault": fault}
    base_count = settled_count(server)
    r["count_before"] = base_count
    rss0 = server.rss_kib()
    consumer, ready = peers.start_consumer(children, server.system, server.addr, 1, n, opts.keepalive,
                                           opts.subscribe_timeout)
    try:
        r["subscribe_s"] = ready["subscribe_s"]
        if base_count is not None:
            got, _ = peers.wait_for(lambda: (server.count() or 0) >= base_count + n,
                                    10 + 2 * server.resolution_s, 0.02)
            r["count_reached"] = bool(got)
            if not got:
                log("%s N=%d: the registration count did not reach %d + %d (now %s)"
                    % (server.name, n, base_count, n, server.count()))
        rss1 = server.rss_kib()
        r["rss_before_kib"], r["rss_registered_kib"] = rss0, rss1
        publisher = peers.start_publisher(children, server.system, server.addr, opts.rate,
                                          opts.flood_rate if fault == "stop-flow" else 0, 1, n)
        try:
            time.sleep(opts.warmup)
            tb0 = time.monotonic_ns()
            server.observe(opts.baseline)  # watched as the release wait will be
            tb1 = time.monotonic_ns()
            tf = time.monotonic()
            os.kill(consumer.pid, signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
            tf_ns = time.monotonic_ns()
            released = None
            if base_count is not None:
                when, r["release_source"] = server.wait_release("kb-consumer-%d" % consumer.pid, base_count,
                                                                tf, opts.wait)
                if when is not None and when - tf <= opts.wait:
                    released = when - tf
            r["release_s"] = released
            left = tf + opts.min_window - time.monotonic()
            if left > 0:
                time.sleep(left)
            te_ns = max(tf_ns + int(opts.min_window * 1e9), time.monotonic_ns())
            r["window_s"] = (te_ns - tf_ns) / 1e9
            r["publisher_base"] = publisher.stats(tb0, tb1)["sent"]
            r["publisher_during"] = publisher.stats(tf_ns, te_ns)["sent"]
            r["publisher"] = publisher.quit()
            if not server.alive():
                raise peers.BenchError("%s died: %s" % (server.name, peers.tail(server.log)))
            time.sleep(0.2)  # let the last healthy events arrive
            r["healthy_base"] = healthy.stats(tb0, tb1)
            r["healthy_during"] = healthy.stats(tf_ns, te_ns)
        finally:
            publisher.kill()
        if r["release_s"] is not None:
            time.sleep(opts.settle)
            r["rss_after_kib"] = server.rss_kib()
    finally:
        consumer.kill()
    if r.get("release_s") is None and base_count is not None:
        # Not released in time: the killed consumer's connection is closed
        # now; wait for that release so the next fault starts clean.
        _, when = peers.wait_for(lambda: (c := server.count()) is not None and c <= base_count,
                                 30 + server.resolution_s)
        if when is None:
            raise peers.BenchError("%s kept the registrations of a killed consumer for 30 s" % server.name)
        time.sleep(opts.settle)
        r["rss_after_forced_kib"] = server.rss_kib()
    return r


def make_server(name, children, tmp, opts):
    if name == "mosquitto":
        return peers.Mosquitto(children, tmp)
    if name == "nats-server":
        return peers.NatsServer(children, tmp)
    return peers.Lwmid(children, tmp, opts.lwmid)


def run_system(name, n, opts, children, tmp):
    """Each fault on a fresh server, with a healthy consumer of its own."""
    res = {"system": name, "n": n}
    for fault, _ in opts.faults:
        server = make_server(name, children, tmp, opts)
        res["version"] = server.version
        healthy = None
        try:
            healthy, _ = peers.start_consumer(children, server.system, server.addr, 0, 1, opts.keepalive, 30)
            if name == "lwmi" and server.count() is None:
                res["monitor_error"] = server.monitor_error
                log("lwmi: registrations cannot be counted (%s): release not measured" % server.monitor_error)
            log("%s N=%d: %s" % (name, n, fault))
            res[fault] = run_fault(server, healthy, n, fault, opts, children)
            log("  %s" % json.dumps(res[fault]))
        finally:
            if healthy:
                healthy.kill()
            server.stop()
    return res


# --- the report -------------------------------------------------------------


def fmt_s(v):
    if v is None:
        return None
    return "%.3f s" % v if v < 10 else "%.1f s" % v


def fmt_lat(h):
    if not h or not h.get("count"):
        return "no events"
    return "%.2f / %.2f / %.1f ms" % (h["p50_us"] / 1000, h["p99_us"] / 1000, h["max_us"] / 1000)


def fmt_rss_after(f):
    """RSS after release against before, and the share of the growth kept."""
    after = f.get("rss_after_kib", f.get("rss_after_forced_kib"))
    if after is None:
        return None
    grown = f["rss_registered_kib"] - f["rss_before_kib"]
    delta = after - f["rss_before_kib"]
    size = "%+.1f MiB" % (delta / 1024) if abs(delta) >= 10240 else "%+d KiB" % delta
    text = "%s (%+.0f%%)" % (size, 100.0 * delta / f["rss_before_kib"])
    if grown >= 1024:
        text += ", %.0f%% of the growth kept" % (100.0 * delta / grown)
    if "rss_after_kib" not in f:
        text += " (after the forced kill)"
    return text


def release_text(f, opts):
    if f.get("release_s") is None:
        if f.get("count_before") is None:
            return "n/a (count not readable)"
        return "not released in %g s" % opts.wait
    return fmt_s(f["release_s"])


def report(results, opts):
    by = {}
    for r in results:
        by.setdefault(r["n"], {})[r["system"]] = r
    names = [s for s in SYSTEMS if s in opts.systems]
    peers_run = [s for s in names if s != "lwmi"]
    out = []
    for n in sorted(by):
        row_sys = by[n]

        def head(s):
            r = row_sys.get(s)
            return "%s %s" % (s, r.get("version") or "") if r else s
        header = ["N = {:,}".format(n)] + [head(s) for s in names]
        if "lwmi" in names:
            header += ["lwmi / %s" % p for p in peers_run]
        rows = []
        notes = set()

        def add(label, getter, num=None):
            cells = []
            for s in names:
                r = row_sys.get(s)
                if r is None:
                    cells.append("did not run")
                    continue
                if "error" in r:
                    cells.append("failed (below)")
                    notes.add("%s: failed: %s" % (s, r["error"]))
                    continue
                try:
                    cells.append(getter(r) or "—")
                except (KeyError, TypeError):
                    cells.append("—")
            if "lwmi" in names:
                for p in peers_run:
                    try:
                        cells.append(peers.ratio(num(row_sys["lwmi"]), num(row_sys[p])) if num else "")
                    except (KeyError, TypeError):
                        cells.append("—")
            rows.append([label] + cells)

        def subs(r):
            return [r[f]["subscribe_s"] for f, _ in opts.faults if f in r]

        def per_reg(r):
            return statistics.median((r[f]["rss_registered_kib"] - r[f]["rss_before_kib"]) * 1024.0 / n
                                     for f, _ in opts.faults if f in r)

        count = len(opts.faults)
        add("subscribe, pipelined: best (median) of %d" % count,
            lambda r: "%s (%s)" % (fmt_s(min(subs(r))), fmt_s(statistics.median(subs(r)))), lambda r: min(subs(r)))
        add("memory per registration: RSS growth / N, median of %d" % count, lambda r: "%.0f B" % per_reg(r),
            per_reg)
        for fault, label in opts.faults:
            def rel(r, fault=fault):
                return release_text(r[fault], opts)

            def rel_num(r, fault=fault):
                return r[fault]["release_s"]

            def lat(r, fault=fault):
                f = r[fault]
                return "%s (before: %s)" % (fmt_lat(f["healthy_during"]), fmt_lat(f["healthy_base"]))

            def p99(r, fault=fault):
                return r[fault]["healthy_during"]["p99_us"]

            def lost(r, fault=fault):
                f = r[fault]
                missing = f["publisher_during"] - f["healthy_during"]["count"]
                return "%d of %d" % (max(0, missing), f["publisher_during"])

            add("%s: release" % label, rel, rel_num)
            add("%s: RSS after release vs before" % label, lambda r, fault=fault: fmt_rss_after(r[fault]))
            add("%s: healthy p50 / p99 / max during" % label, lat, p99)
            add("%s: healthy events lost" % label, lost)
        out.append(peers.table(header, rows))
        if notes:
            out.append("\n".join("- N = {:,}, {}".format(n, note) for note in sorted(notes)))
    return "\n\n".join(out)


def main():
    parser = argparse.ArgumentParser(description="The KB 931320 scenario against mosquitto, nats-server, lwmi.")
    parser.add_argument("--lwmid", required=True, help="the lwmid executable")
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and 10,000 only")
    parser.add_argument("--smoke", action="store_true",
                        help="N = 100, short windows, 2 s wait: checks the machinery in about 30 s")
    parser.add_argument("--n", type=int, action="append", help="N (repeatable; overrides the default list)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    parser.add_argument("--faults", default=",".join(f for f, _ in FAULTS))
    parser.add_argument("--wait", type=float, default=30.0, help="bound on the wait for release (s)")
    parser.add_argument("--keepalive", type=float, default=10.0,
                        help="client keepalive: MQTT CONNECT's, lwmi Hello's (nats-server pings on its own)")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s to the healthy consumer")
    parser.add_argument("--flood-rate", type=float, default=1000.0, help="events/s to the consumer under test")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--baseline", type=float, default=3.0, help="baseline window before the fault (s)")
    parser.add_argument("--min-window", type=float, default=2.0, help="shortest window after the fault (s)")
    parser.add_argument("--settle", type=float, default=1.0, help="pause before reading RSS after release (s)")
    parser.add_argument("--subscribe-timeout", type=float, default=300.0)
    parser.add_argument("--json", help="write the raw figures to this file")
    opts = parser.parse_args()
    if opts.smoke:
        opts.n = opts.n or [100]
        opts.wait, opts.warmup, opts.baseline, opts.min_window, opts.settle = 2.0, 0.3, 1.0, 0.5, 0.2
    opts.n = opts.n or ([1000, 10000] if opts.quick else [1000, 10000, 100000])
    opts.systems = [s.strip() for s in opts.systems.split(",") if s.strip()]
    for s in opts.systems:
        if s not in SYSTEMS:
            parser.error("unknown system %r" % s)
    wanted = opts.faults.split(",")
    opts.faults = [(f, label) for f, label in FAULTS if f in wanted]

    peers.install_signal_handlers()
    tmp = os.environ.get("KB_TMP") or tempfile.mkdtemp(prefix="kb931320.")
    children = peers.Children(tmp)
    results = []
    failed = []
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        for n in opts.n:
            for name in opts.systems:
                try:
                    results.append(run_system(name, n, opts, children, tmp))
                except (peers.BenchError, OSError, RuntimeError, ValueError, KeyError) as e:
                    traceback.print_exc()
                    log("%s N=%d failed: %s" % (name, n, e))
                    results.append({"system": name, "n": n, "error": "%s: %s" % (type(e).__name__, e)})
                    failed.append("%s N=%d" % (name, n))
                finally:
                    children.cleanup()
    finally:
        children.cleanup()
    mode = "smoke" if opts.smoke else "quick" if opts.quick else "full"
    print("## kb931320 (%s run), %s" % (mode, started.strftime("%Y-%m-%d %H:%M UTC")))
    print()
    print("Machine: %s. Wait bound %g s; keepalive %g s (MQTT, lwmi); the consumer under test is stopped "
          "about %g s after its last packet; healthy stream %g events/s; flood %g events/s. Latency cells: "
          "p50 / p99 / max during the fault (and before it)."
          % (peers.machine(), opts.wait, opts.keepalive, opts.warmup + opts.baseline, opts.rate, opts.flood_rate))
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
