"""End-to-end tests of the TCP transport: lwmid --listen (loopback only
unless --insecure-tcp, port 0, IPv4 and IPv6, the config key), raw clients,
`lwmi --connect tcp:HOST:PORT` and liblwmi's example consumer over TCP,
queries and subscriptions alike. Run with tests/e2e/run.sh."""

import json
import os
import re
import socket
import subprocess
import time
import unittest

from lwmitest import Client, DaemonTestCase, consumer_path, lwmi_path

EXIT_OK, EXIT_SERVER, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3
NS = "root/cimv2"

SIGNAL_CLASS = {"__CLASS": "E2E_TcpSignal", "__SUPERCLASS": "__ExtrinsicEvent",
                "properties": {"Level": {"type": "uint32"}}}
ITEM_CLASS = {"__CLASS": "E2E_TcpItem", "__SUPERCLASS": None,
              "properties": {"Id": {"type": "uint32", "key": True},
                             "Name": {"type": "string"}}}


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class TcpTestCase(DaemonTestCase):
    def lwmi(self, *args, env=None, code=None, timeout=30):
        """Run lwmi with the given arguments (no --socket of ours);
        LWMI_SOCKET is unset unless env sets it."""
        full_env = dict(os.environ)
        full_env.pop("LWMI_SOCKET", None)
        full_env.update(env or {})
        p = subprocess.run([lwmi_path()] + list(args), capture_output=True, text=True,
                           env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)
        if code is not None:
            self.assertEqual(p.returncode, code, "exit %d, expected %d\nstdout: %s\nstderr: %s"
                             % (p.returncode, code, p.stdout, p.stderr))
        return p

    def wait_for(self, predicate, what, timeout=10):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for %s; lwmid's log:\n%s"
                          % (what, self.daemon.log_text()))
            time.sleep(0.05)

    def put_class(self, client, cls):
        reply = client.call("PutClass", {"namespace": NS, "class": cls})
        self.assertIn("result", reply, reply)

    def spawn(self, argv, env=None):
        full_env = dict(os.environ)
        full_env.pop("LWMI_SOCKET", None)
        full_env.update(env or {})
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=full_env, stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        return proc

    def until_exit(self, proc, action, timeout=20):
        """Repeat action(i) every 0.2 s until proc exits (it may register
        after the first ones); returns (stdout, stderr)."""
        deadline = time.monotonic() + timeout
        i = 0
        while proc.poll() is None and time.monotonic() < deadline:
            action(i)
            i += 1
            time.sleep(0.2)
        return proc.communicate(timeout=10)


class TestLoopback(TcpTestCase):
    """lwmid on its Unix socket and on 127.0.0.1, port 0."""

    daemon_listen = "127.0.0.1:0"
    daemon_args = ("--log-level", "debug")

    def setUp(self):
        super().setUp()
        # Plain TCP peers are anonymous, who may only read and subscribe in
        # root/cimv2 by default (docs/security.md): these tests also write,
        # publish and read their own session in root/lwmi.
        self.grant(NS, "anonymous", "write,publish")
        self.grant("root/lwmi", "anonymous", "read")

    def test_port_reported_and_unix_socket_kept(self):
        host, port = self.daemon.tcp_address
        self.assertEqual(host, "127.0.0.1")
        self.assertGreater(port, 0)
        self.assertEqual(self.daemon.tcp_connect, "tcp:127.0.0.1:%d" % port)
        self.assertIn("listening on tcp 127.0.0.1:%d\n" % port, self.daemon.log_text())
        # the Unix socket serves as before
        self.assert_alive()

    def test_raw_session_has_no_credentials(self):
        c = self.connect_tcp()
        hello = c.call_ok("Hello", {"client": "tcp-e2e"})
        local_port = c.sock.getsockname()[1]
        sessions = c.call_ok("ExecQuery", {"namespace": "root/lwmi",
                                           "query": "SELECT * FROM LWMI_Session"}, id=2)
        mine = [o for o in sessions["objects"] if str(o["SessionId"]) == str(hello["session"])]
        self.assertEqual(len(mine), 1, sessions)
        self.assertIsNone(mine[0]["UserId"])
        self.assertIsNone(mine[0]["ProcessId"])
        if "Peer" in mine[0]:
            self.assertEqual(mine[0]["Peer"], "tcp 127.0.0.1:%d" % local_port)
        self.assertIn("session %s connected: tcp 127.0.0.1:%d," % (hello["session"], local_port),
                      self.daemon.log_text())
        # a Unix client is still known by its credentials
        u = self.connect()
        self.assertEqual(u.call_ok("Ping"), {})
        self.assertRegex(self.daemon.log_text(), r"session \d+ connected: unix pid %d," % os.getpid())
        # closing the TCP connection ends the session at once
        c.close()
        self.wait_for(lambda: re.search(r"session %s closed" % hello["session"],
                                        self.daemon.log_text()), "the session to close")

    def test_lwmi_ping_and_query(self):
        p = self.lwmi("--connect", self.daemon.tcp_connect, "ping", code=EXIT_OK)
        self.assertRegex(p.stdout, r"^pong from lwmid \S+, session \d+, in [0-9.]+ ms\n$")
        p = self.lwmi("--connect", self.daemon.tcp_connect, "--json", "query",
                      "SELECT Name FROM Linux_OperatingSystem", code=EXIT_OK)
        objects = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual(len(objects), 1, p.stdout)
        self.assertEqual(objects[0]["Name"], "Linux")
        # LWMI_SOCKET may hold a TCP address too
        p = self.lwmi("ping", env={"LWMI_SOCKET": self.daemon.tcp_connect}, code=EXIT_OK)
        self.assertIn("pong", p.stdout)
        # the host may be a name
        p = self.lwmi("--connect", "tcp:localhost:%d" % self.daemon.tcp_address[1], "ping",
                      code=EXIT_OK)

    def test_lwmi_watch_and_publish(self):
        self.put_class(self.connect_tcp(), SIGNAL_CLASS)
        proc = self.spawn([lwmi_path(), "--connect", self.daemon.tcp_connect, "-n", NS,
                           "--json", "watch", "--count", "1",
                           "SELECT * FROM E2E_TcpSignal WHERE Level >= 3"])
        delivered = []

        def publish(i):
            p = self.lwmi("--connect", self.daemon.tcp_connect, "-n", NS, "--json", "publish",
                          "E2E_TcpSignal", "Level=5", code=EXIT_OK)
            delivered.append(json.loads(p.stdout)["delivered"])
        out, err = self.until_exit(proc, publish)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(json.loads(out)["Level"], 5)
        self.assertIn(1, delivered)

    def test_liblwmi_consumer(self):
        writer = self.connect_tcp()
        self.put_class(writer, ITEM_CLASS)
        proc = self.spawn([consumer_path(), "-n", NS, "-c", "2",
                           "SELECT * FROM __InstanceOperationEvent "
                           "WHERE TargetInstance ISA 'E2E_TcpItem'"],
                          env={"LWMI_SOCKET": self.daemon.tcp_connect})

        def put(i):
            writer.call_ok("PutInstance", {"namespace": NS, "instance": {
                "__CLASS": "E2E_TcpItem", "Id": 1, "Name": "v%d" % i}}, id=i + 10)
        out, err = self.until_exit(proc, put)
        self.assertEqual(proc.returncode, 0, err)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(events), 2)
        self.assertEqual(events[1]["__CLASS"], "__InstanceModificationEvent")
        self.assertEqual(events[1]["TargetInstance"]["__CLASS"], "E2E_TcpItem")

    def test_raw_subscription_released_on_close(self):
        sub = self.connect_tcp()
        self.put_class(sub, SIGNAL_CLASS)
        reply = sub.call_ok("ExecNotificationQueryAsync",
                            {"namespace": NS, "sink": "s1",
                             "query": "SELECT * FROM E2E_TcpSignal"}, id=2)
        call = reply["call"]
        pub = self.connect_tcp()
        result = pub.call_ok("PublishEvent", {"namespace": NS, "event": {
            "__CLASS": "E2E_TcpSignal", "Level": 7}})
        self.assertEqual(result["delivered"], 1)
        indicate = sub.recv()
        self.assertEqual(indicate["method"], "Indicate")
        self.assertEqual(indicate["params"]["call"], call)
        self.assertEqual(indicate["params"]["seq"], 1)
        self.assertEqual(indicate["params"]["objects"][0]["Level"], 7)
        sub.close()
        # the registration goes with the connection
        self.wait_for(lambda: pub.call_ok("PublishEvent", {"namespace": NS, "event": {
            "__CLASS": "E2E_TcpSignal", "Level": 1}}, id=3)["delivered"] == 0,
            "the registration to be released")

    def test_socket_and_connect_together_is_usage_error(self):
        p = self.lwmi("--socket", self.daemon.socket_path, "--connect", self.daemon.tcp_connect,
                      "ping", code=EXIT_USAGE)
        self.assertIn("--socket or --connect, not both", p.stderr)
        p = self.lwmi("--connect", "", "ping", code=EXIT_USAGE)
        p = self.lwmi("--connect", "tcp:127.0.0.1", "ping", code=EXIT_USAGE)
        self.assertIn("expected tcp:HOST:PORT", p.stderr)
        # the same option twice: the last wins
        self.lwmi("--connect", "tcp:127.0.0.1:1", "--connect", self.daemon.tcp_connect, "ping",
                  code=EXIT_OK)


class TestStartup(TcpTestCase):
    """What lwmid accepts and refuses as a TCP address."""

    start_daemon = False

    def refused(self, listen, *args, code=EXIT_USAGE):
        d = self.start(wait=False, listen=listen, args=args,
                       socket_path=os.path.join(self.tmpdir, "r%d.sock" % time.monotonic_ns()))
        try:
            rc = d.wait_exit(10)
        except subprocess.TimeoutExpired:
            self.fail("lwmid started on %s:\n%s" % (listen, d.log_text()))
        self.assertEqual(rc, code, d.log_text())
        self.assertFalse(os.path.exists(d.socket_path), "the socket was left behind")
        return d.log_text()

    def test_not_loopback_refused(self):
        for listen in ("0.0.0.0:0", "10.11.12.13:7000", "[::]:0"):
            log = self.refused(listen)
            self.assertIn("listen address %s is not loopback" % listen, log)
            self.assertIn("--insecure-tcp", log)

    def test_insecure_tcp_allows_any_address_with_a_warning(self):
        d = self.start(listen="0.0.0.0:0", args=("--insecure-tcp",))
        host, port = d.tcp_address
        self.assertEqual(host, "0.0.0.0")
        self.assertRegex(d.log_text(), r"warning lwmid: --insecure-tcp: listening on tcp "
                                       r"0\.0\.0\.0:%d, which is not loopback" % port)
        c = self.connect(d)
        t = Client(("127.0.0.1", port))
        self.clients.append(t)
        self.assertEqual(t.call_ok("Ping"), {})
        self.assertEqual(c.call_ok("Ping"), {})

    def test_bad_addresses(self):
        for listen, want in (("::1:7000", "an IPv6 address goes in brackets"),
                             ("localhost:7000", "'localhost' is not a numeric IPv4 address"),
                             ("127.0.0.1", "has no port"),
                             ("127.0.0.1:70000", "the port must be a number from 0 to 65535")):
            d = self.start(wait=False, listen=listen)
            self.assertEqual(d.wait_exit(10), EXIT_USAGE, d.log_text())
            self.assertIn(want, d.log_text())

    def test_port_in_use(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            log = self.refused("127.0.0.1:%d" % port, code=EXIT_SERVER)
        self.assertIn("cannot bind tcp 127.0.0.1:%d: Address already in use" % port, log)

    def test_config_file(self):
        conf = os.path.join(self.tmpdir, "lwmid.conf")
        with open(conf, "w") as f:
            f.write("[daemon]\nlisten = 127.0.0.1:0\n")
        d = self.start(args=("--config", conf))
        self.assertEqual(d.tcp_address[0], "127.0.0.1")
        c = self.connect_tcp(d)
        self.assertEqual(c.call_ok("Ping"), {})
        # not loopback in the file: refused the same way; insecure_tcp
        # in the file allows it
        with open(conf, "w") as f:
            f.write("[daemon]\nlisten = 0.0.0.0:0\n")
        self.assertIn("is not loopback", self.refused(None, "--config", conf))
        with open(conf, "w") as f:
            f.write("[daemon]\nlisten = 0.0.0.0:0\ninsecure_tcp = true\n")
        d2 = self.start(args=("--config", conf), socket_path=os.path.join(self.tmpdir, "b.sock"))
        self.assertEqual(d2.tcp_address[0], "0.0.0.0")
        with open(conf, "w") as f:
            f.write("[daemon]\ninsecure_tcp = maybe\n")
        self.assertIn("key insecure_tcp: 'maybe' is not true or false",
                      self.refused(None, "--config", conf))

    def test_ipv6_loopback(self):
        if not have_ipv6_loopback():
            self.skipTest("this machine has no IPv6 loopback (::1)")
        d = self.start(listen="[::1]:0", args=("--log-level", "debug"))
        host, port = d.tcp_address
        self.assertEqual(host, "::1")
        self.assertEqual(d.tcp_connect, "tcp:[::1]:%d" % port)
        self.assertIn("listening on tcp [::1]:%d\n" % port, d.log_text())
        c = self.connect_tcp(d)
        self.assertIn("session", c.call_ok("Hello", {"client": "v6"}))
        self.assertRegex(d.log_text(), r"connected: tcp \[::1\]:%d," % c.sock.getsockname()[1])
        p = self.lwmi("--connect", d.tcp_connect, "ping", code=EXIT_OK)
        self.assertIn("pong", p.stdout)
        # IPv4 is not served by a [::1] listener
        p = self.lwmi("--connect", "tcp:127.0.0.1:%d" % port, "ping", code=EXIT_CONNECT)
        self.assertIn("cannot connect to tcp:127.0.0.1:%d: Connection refused" % port, p.stderr)


if __name__ == "__main__":
    unittest.main()
