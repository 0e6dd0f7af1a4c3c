"""Fault test: a consumer on TCP whose network goes silent (issue 5, "How it
is checked", 4th bullet).

lwmid runs in this (the root) network namespace and listens, with
--insecure-tcp, on one end of a veth pair; the consumer, liblwmi's example
program, runs in a network namespace of its own on the other end, with one
registration. Then every packet in the consumer's namespace is dropped
(iptables INPUT and OUTPUT DROP there), so no FIN or RST ever reaches
lwmid: the consumer looks exactly like a host whose cable was cut. lwmid
must release the session within 1.5 x keepalive of the last thing it heard.

Each run makes its own namespace and veth pair with a unique name
(lwmi-<pid>-<random>), removed by the test's cleanup, by an atexit handler
(also on SIGTERM) if the cleanup never ran, and at the start of a later
run if this process died without either (its pid is gone). The test skips,
saying why, when not root, without `ip netns`, veth, or iptables/nft, and
while lwmid has no keepalive (--keepalive-ms). Run with tests/e2e/run.sh;
scripts/setup.sh installs iproute2 and iptables."""

import atexit
import datetime
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import unittest

from lwmitest import DaemonTestCase, consumer_path, lwmid_path

NS = "root/cimv2"
KEEPALIVE_MS = 1000
# What may pass beyond 1.5 x keepalive before lwmid writes its line: timer
# slack and a loaded (or sanitized) build.
MARGIN_S = 0.5

SIGNAL_CLASS = {"__CLASS": "E2E_NetSignal", "__SUPERCLASS": "__ExtrinsicEvent",
                "properties": {"Level": {"type": "uint32"}}}

NAME_RE = re.compile(r"^lwmi-(\d+)-([0-9a-f]{6})$")

# Namespaces (and their host-side veth) this process made and has not
# removed yet: the atexit handler's list.
_made = {}


def run(*argv, check=True):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                  p.stderr.strip()))
    return p


def remove_netns(name, host_veth):
    """Never raises: used on every way out."""
    for argv in (["ip", "netns", "del", name], ["ip", "link", "del", host_veth]):
        try:
            subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            pass
    _made.pop(name, None)


def _remove_all_made():
    for name, host_veth in list(_made.items()):
        remove_netns(name, host_veth)


atexit.register(_remove_all_made)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def remove_stale():
    """Namespaces of earlier runs whose process died without cleaning up."""
    p = run("ip", "netns", "list", check=False)
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = NAME_RE.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            remove_netns(name, "lwa%sh" % m.group(2))


def firewall_argvs(name):
    """The commands that drop everything in namespace `name`: iptables
    (either backend), else nft. None when neither is installed."""
    inside = ["ip", "netns", "exec", name]
    for tool in ("iptables", "iptables-legacy"):
        if shutil.which(tool):
            return [inside + [tool, "-w", "-A", chain, "-j", "DROP"]
                    for chain in ("INPUT", "OUTPUT")]
    if shutil.which("nft"):
        return [inside + ["nft", "add table inet lwmi_cut"],
                inside + ["nft", "add chain inet lwmi_cut in { type filter hook input "
                                 "priority 0; policy drop; }"],
                inside + ["nft", "add chain inet lwmi_cut out { type filter hook output "
                                 "priority 0; policy drop; }"]]
    return None


def readline_within(stream, timeout):
    """The next line of a child's pipe, or "" when none comes in time (the
    pipe must hold no buffered partial data: one line at a time)."""
    if not select.select([stream], [], [], timeout)[0]:
        return ""
    return stream.readline()


def log_time(line):
    """The wall-clock time (epoch seconds) at the start of a log line."""
    stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


class TestSilentNetworkLoss(DaemonTestCase):
    start_daemon = False

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to make network namespaces")
        if not shutil.which("ip"):
            self.skipTest("no ip command (iproute2)")
        help_text = subprocess.run([lwmid_path(), "--help"], capture_output=True,
                                   text=True, timeout=10).stdout
        if "--keepalive-ms" not in help_text:
            self.skipTest("lwmid has no keepalive yet (--keepalive-ms): nothing detects a "
                          "silent peer")
        super().setUp()
        # a SIGTERM (meson's timeout) still runs the atexit cleanup
        previous = signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
        self.addCleanup(signal.signal, signal.SIGTERM, previous)
        remove_stale()
        self.make_netns()

    def make_netns(self):
        tag = "%06x" % random.getrandbits(24)
        self.ns = "lwmi-%d-%s" % (os.getpid(), tag)
        self.host_veth, ns_veth = "lwa%sh" % tag, "lwa%sc" % tag
        used = run("ip", "-4", "addr", "show").stdout
        for _ in range(100):
            net = "10.%d.%d" % (random.randint(200, 254), random.randint(0, 255))
            if " %s." % net not in used:
                break
        self.server_ip, self.consumer_ip = net + ".1", net + ".2"
        if run("ip", "netns", "add", self.ns, check=False).returncode != 0:
            self.skipTest("cannot make a network namespace (ip netns add failed)")
        _made[self.ns] = self.host_veth
        self.addCleanup(remove_netns, self.ns, self.host_veth)
        if run("ip", "link", "add", self.host_veth, "type", "veth", "peer", "name", ns_veth,
               check=False).returncode != 0:
            self.skipTest("cannot make a veth pair")
        run("ip", "link", "set", ns_veth, "netns", self.ns)
        run("ip", "addr", "add", self.server_ip + "/24", "dev", self.host_veth)
        run("ip", "link", "set", self.host_veth, "up")
        run("ip", "-n", self.ns, "addr", "add", self.consumer_ip + "/24", "dev", ns_veth)
        run("ip", "-n", self.ns, "link", "set", ns_veth, "up")
        run("ip", "-n", self.ns, "link", "set", "lo", "up")
        self.cut = firewall_argvs(self.ns)
        if self.cut is None:
            self.skipTest("neither iptables nor nft is installed (scripts/setup.sh installs "
                          "iptables)")

    def publish(self, level):
        """How many registrations got an event. A fresh connection over the
        Unix socket each time: a raw client does not answer lwmid's Pings,
        so one kept across the keepalive would be closed."""
        c = self.connect()
        delivered = c.call_ok("PublishEvent", {"namespace": NS, "event": {
            "__CLASS": "E2E_NetSignal", "Level": level}})["delivered"]
        c.close()
        return delivered

    def loss_line(self, log):
        """lwmid's line for the consumer's session ending, or None."""
        for line in log.splitlines():
            if re.search(r"session %s (closed|lost)\b" % self.session, line):
                return line
        return None

    def test_dropped_traffic_released_within_keepalive(self):
        self.daemon = self.start(listen=self.server_ip + ":0",
                                 args=("--insecure-tcp", "--keepalive-ms", str(KEEPALIVE_MS),
                                       "--log-level", "debug"))
        host, port = self.daemon.tcp_address
        self.assertEqual(host, self.server_ip)
        self.connect().call_ok("PutClass", {"namespace": NS, "class": SIGNAL_CLASS})

        env = dict(os.environ, LWMI_SOCKET=self.daemon.tcp_connect)
        consumer = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, consumer_path(), "-n", NS,
             "SELECT * FROM E2E_NetSignal"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            stdin=subprocess.DEVNULL)

        def stop_consumer():
            if consumer.poll() is None:
                consumer.kill()
            consumer.communicate(timeout=10)
        self.addCleanup(stop_consumer)
        line = readline_within(consumer.stderr, 15)
        self.assertIn("registered", line, "the consumer did not register: %s%s\nlwmid:\n%s"
                      % (line, consumer.stderr.read() if consumer.poll() is not None else "",
                         self.daemon.log_text()))
        m = re.search(r"session (\d+) connected: tcp %s:(\d+)," % re.escape(self.consumer_ip),
                      self.daemon.log_text())
        self.assertIsNotNone(m, "no TCP session from %s:\n%s"
                             % (self.consumer_ip, self.daemon.log_text()))
        self.session = m.group(1)

        # Healthy over TCP across the namespaces: longer than 1.5 x
        # keepalive with Pings answered, and the event arrives.
        time.sleep(2 * KEEPALIVE_MS / 1000)
        self.assertEqual(self.publish(1), 1)
        event = readline_within(consumer.stdout, 10)
        self.assertTrue(event, "the event did not reach the consumer")
        self.assertEqual(json.loads(event)["Level"], 1)
        self.assertIsNone(self.loss_line(self.daemon.log_text()),
                          "a consumer answering Pings was lost:\n" + self.daemon.log_text())

        # The cut: nothing in or out of the consumer's namespace.
        # The bound counts from when the cut is complete: until then the
        # consumer may still be heard (the commands take a while on a
        # loaded machine).
        for argv in self.cut:
            run(*argv)
        cut_at = time.time()
        bound = 1.5 * KEEPALIVE_MS / 1000 + MARGIN_S
        deadline = time.monotonic() + bound + 5
        line = None
        while line is None and time.monotonic() < deadline:
            time.sleep(0.05)
            line = self.loss_line(self.daemon.log_text())
        self.assertIsNotNone(line, "session %s not released within %.1f s of the cut:\n%s"
                             % (self.session, bound + 5, self.daemon.log_text()))
        took = log_time(line) - cut_at
        self.assertLessEqual(took, bound, "released %.3f s after the cut, bound %.3f s: %s"
                             % (took, bound, line))
        # lost by the keepalive (or, with a Ping pending, TCP_USER_TIMEOUT:
        # a reset), never because the peer closed
        m = re.search(r"reason=(\w+)", line)
        if m:
            self.assertIn(m.group(1), ("keepalive", "reset"), line)
            self.assertIn('peer="tcp %s:' % self.consumer_ip, line)
        else:
            self.assertRegex(line, r"keepalive|timed out|Ping", line)
        # and its registration went with it
        self.assertEqual(self.publish(2), 0)
        self.assertIsNone(self.daemon.proc.poll())


if __name__ == "__main__":
    unittest.main()
