"""End-to-end tests of events through liblwmi: `lwmi watch`, `lwmi publish`,
the example consumer (examples/consumer.c) and tests/e2e/many-filters.c.

Two servers play the other side. EventServer is a stand-in that follows
docs/protocol.md (registrations, Indicate, SetStatus, CancelAsyncCall,
PublishEvent, Pings) and does what each test scripts, so the clients'
behaviour is checked exactly. The real lwmid is used by the tests of
TestWithDaemon, which skip themselves while lwmid answers the asynchronous
methods with "method not found". Run with tests/e2e/run.sh."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

from lwmitest import DaemonTestCase, built, consumer_path, lwmi_path

EXIT_OK, EXIT_SERVER, EXIT_USAGE, EXIT_CONNECT, EXIT_NO_EVENTS = 0, 1, 2, 3, 4


def many_filters_path():
    return built("LWMI_MANY_FILTERS", "build/gcc/tests/e2e/many-filters",
                 "build/tests/e2e/many-filters")


CREATION = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'E2E_Job'"


def creation_event(target, cls="__InstanceCreationEvent"):
    return {"__GENUS": 2, "__CLASS": cls, "TIME_CREATED": "133000000000000000",
            "TargetInstance": dict(target, __GENUS=2)}


class EventServer:
    """A stand-in lwmid in a thread, one session at a time. It assigns call
    ids from 100, answers Hello, GetObject (of self.classes),
    ExecNotificationQueryAsync (then runs self.on_register(server, call)),
    CancelAsyncCall (a SetStatus per call, then the response) and
    PublishEvent (an Indicate for each registration whose FROM class is the
    event's class). Everything received is recorded; a test sends Indicate,
    SetStatus and Ping with the methods below, from any thread."""

    def __init__(self, path):
        self.path = path
        self.classes = {}
        self.requests = []
        self.answers = []       # answers to our requests (Pings)
        self.errors = []
        self.calls = {}         # open call id -> {"sink", "query"}
        self.seq = {}           # sink -> last seq
        self.next_call = 100
        self.on_register = None
        self.registered = threading.Event()
        self.ended = threading.Event()  # the session's socket reached EOF
        self.lock = threading.Lock()
        self.out = None
        self.conn = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self.sock.close()
        if self.conn:
            try:
                self.conn.close()
            except OSError:
                pass
        self.thread.join(5)

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conn = conn
            with conn:
                f = conn.makefile("rwb")
                self.out = f
                try:
                    self.session(f)
                except (OSError, ValueError):
                    pass  # the test closed it
                except Exception as e:  # recorded, checked by the test
                    self.errors.append(repr(e))
            self.ended.set()

    def send(self, obj):
        with self.lock:
            self.out.write(json.dumps(obj).encode() + b"\n")
            self.out.flush()

    def indicate(self, call, *objects, seq=None):
        sink = self.calls[call]["sink"]
        self.seq[sink] = seq if seq is not None else self.seq.get(sink, 0) + 1
        self.send({"jsonrpc": "2.0", "method": "Indicate",
                   "params": {"sink": sink, "call": call, "seq": self.seq[sink],
                              "objects": list(objects)}})

    def set_status(self, call, status, message=""):
        sink = self.calls.pop(call)["sink"]
        self.send({"jsonrpc": "2.0", "method": "SetStatus",
                   "params": {"sink": sink, "call": call, "status": status,
                              "message": message}})

    def ping(self, id):
        self.send({"jsonrpc": "2.0", "id": id, "method": "Ping"})

    def hang_up(self):
        self.conn.shutdown(socket.SHUT_RDWR)

    def methods(self):
        return [m["method"] for m in self.requests]

    def session(self, f):
        for line in f:
            m = json.loads(line)
            if "method" not in m:
                self.answers.append(m)
                continue
            self.requests.append(m)
            p = m.get("params") or {}
            after = None
            try:
                result, after = self.method(m["method"], p)
                answer = {"result": result}
            except KeyError as e:
                answer = {"error": {"code": -32000, "message": "%s not found" % e.args[0],
                                    "data": {"status": "WBEM_E_NOT_FOUND"}}}
            except SyntaxError:
                answer = {"error": {"code": -32000,
                                    "message": "line 1, column 10: expected FROM, found 'FORM'",
                                    "data": {"status": "WBEM_E_INVALID_QUERY",
                                             "line": 1, "column": 10}}}
            answer.update(jsonrpc="2.0", id=m["id"])
            self.send(answer)
            if after:
                after()

    def method(self, name, p):
        if name == "Hello":
            return {"server": "fake", "version": "0", "protocol": 1, "session": 1,
                    "keepalive_ms": 10000}, None
        if name == "GetObject":
            return self.classes[p["path"]], None
        if name == "ExecNotificationQueryAsync":
            if " FORM " in p["query"]:
                raise SyntaxError()
            call = self.next_call
            self.next_call += 1
            self.calls[call] = {"sink": p["sink"], "query": p["query"]}

            def after():
                self.registered.set()
                if self.on_register:
                    self.on_register(self, call)
            return {"call": call}, after
        if name == "CancelAsyncCall":
            ids = [c for c, v in self.calls.items()
                   if c == p.get("call") or v["sink"] == p.get("sink")]
            for c in ids:  # each SetStatus before the response
                self.set_status(c, "WBEM_E_CALL_CANCELLED", "cancelled")
            return {"cancelled": len(ids)}, None
        if name == "PublishEvent":
            event = p["event"]
            matching = [c for c, v in self.calls.items()
                        if re.search(r"FROM\s+%s\b" % re.escape(event["__CLASS"]), v["query"])]
            for c in matching:
                self.indicate(c, event)
            return {"delivered": len(matching)}, None
        raise AssertionError("unexpected method " + name)


class EventsTestCase(DaemonTestCase):
    def run_lwmi(self, *args, socket_path=None, code=None, timeout=30):
        argv = [lwmi_path(), "--socket", socket_path or self.server.path] + list(args)
        env = dict(os.environ)
        env.pop("LWMI_SOCKET", None)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, env=env)
        if code is not None:
            self.assert_exit(p, code)
        return p

    def assert_exit(self, p, code):
        self.assertEqual(p.returncode, code,
                         "exit %d, expected %d\nstdout: %s\nstderr: %s"
                         % (p.returncode, code, p.stdout, p.stderr))

    def wait_for(self, predicate, what, timeout=10):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for " + what)
            time.sleep(0.01)


class TestWatchOnStandIn(EventsTestCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        self.server = EventServer(os.path.join(self.tmpdir, "fake.sock"))
        self.addCleanup(self.server.close)

    def test_count_prints_a_table_then_cancels(self):
        def on_register(s, call):
            s.indicate(call, creation_event({"__CLASS": "E2E_Job", "Id": 1, "Name": "backup",
                                             "Size": "18446744073709551615"}),
                       creation_event({"__CLASS": "E2E_Job", "Id": 22, "Name": "gr\u00fc\u00df",
                                       "Size": "7"}))
            s.indicate(call, creation_event({"__CLASS": "E2E_Job", "Id": 3, "Name": "x",
                                             "Size": "1"}))
        self.server.on_register = on_register
        p = self.run_lwmi("-n", "root/test", "watch", "--count", "2", CREATION, code=EXIT_OK)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 3, p.stdout)
        self.assertEqual(lines[0].split(), ["Event", "Id", "Name", "Size"])
        self.assertEqual(lines[1].split(), ["__InstanceCreationEvent", "1", "backup",
                                            "18446744073709551615"])
        self.assertEqual(lines[2].split(), ["__InstanceCreationEvent", "22", "gr\u00fc\u00df",
                                            "7"])
        # The columns line up: each starts where its header does.
        name_at = lines[0].index("Name")
        self.assertEqual(lines[1][name_at:].split()[0], "backup")
        self.assertEqual(lines[2][name_at:].split()[0], "gr\u00fc\u00df")
        self.assertTrue(lines[2].endswith(" 7"))  # numbers align right
        self.server.ended.wait(5)
        self.assertEqual(self.server.methods(),
                         ["Hello", "ExecNotificationQueryAsync", "CancelAsyncCall"])
        reg = self.server.requests[1]["params"]
        self.assertEqual(reg["namespace"], "root/test")
        self.assertEqual(reg["query"], CREATION)
        self.assertIsInstance(reg["sink"], str)
        self.assertEqual(self.server.requests[2]["params"], {"call": 100})
        self.assertEqual(self.server.errors, [])

    def test_json_lines_and_ping_answered_between_events(self):
        def on_register(s, call):
            s.indicate(call, creation_event({"__CLASS": "E2E_Job", "Id": 1}))
            s.ping("s:1")
            s.indicate(call, creation_event({"__CLASS": "E2E_Job", "Id": 2},
                                            cls="__InstanceDeletionEvent"))
        self.server.on_register = on_register
        p = self.run_lwmi("--json", "watch", "--count", "2", CREATION, code=EXIT_OK)
        events = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual([e["__CLASS"] for e in events],
                         ["__InstanceCreationEvent", "__InstanceDeletionEvent"])
        self.assertEqual(events[1]["TargetInstance"]["Id"], 2)
        self.server.ended.wait(5)
        self.assertEqual(self.server.answers, [{"jsonrpc": "2.0", "id": "s:1", "result": {}}])

    def test_timeout_without_and_with_events(self):
        t0 = time.monotonic()
        p = self.run_lwmi("watch", "--timeout", "0.5", CREATION, code=EXIT_NO_EVENTS)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        self.assertEqual(p.stdout, "")
        self.server.ended.wait(5)
        self.assertEqual(self.server.methods()[-1], "CancelAsyncCall")

        self.server.ended.clear()
        self.server.on_register = lambda s, call: s.indicate(
            call, creation_event({"__CLASS": "E2E_Job", "Id": 5}))
        p = self.run_lwmi("watch", "--timeout", "0.3", CREATION, code=EXIT_OK)
        self.assertEqual(len(p.stdout.splitlines()), 2)

    def test_sigint_cancels_then_closes(self):
        proc = subprocess.Popen([lwmi_path(), "--socket", self.server.path, "watch", CREATION],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(self.server.registered.wait(10))
            self.server.indicate(100, creation_event({"__CLASS": "E2E_Job", "Id": 9}))
            self.assertEqual(proc.stdout.readline().split(), ["Event", "Id"])
            self.assertEqual(proc.stdout.readline().split(), ["__InstanceCreationEvent", "9"])
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, EXIT_OK, err)
        self.assertEqual(err, "")
        self.assertEqual(out, "")
        self.assertTrue(self.server.ended.wait(5))
        self.assertEqual(self.server.methods()[-1], "CancelAsyncCall")

    def test_extrinsic_columns(self):
        def on_register(s, call):
            s.indicate(call, {"__GENUS": 2, "__CLASS": "App_Alert",
                              "SECURITY_DESCRIPTOR": None, "TIME_CREATED": "1",
                              "Severity": 3, "Text": "disk full"})
            s.indicate(call, {"__GENUS": 2, "__CLASS": "App_Alert", "Severity": 10,
                              "Text": "ok"})
        self.server.on_register = on_register
        p = self.run_lwmi("watch", "--count", "2", "SELECT * FROM App_Alert", code=EXIT_OK)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["Severity", "Text"])
        self.assertEqual(lines[1], "       3  disk full")
        self.assertEqual(lines[2], "      10  ok")

    def test_server_ends_the_call(self):
        self.server.on_register = lambda s, call: s.set_status(
            call, "WBEM_E_SHUTTING_DOWN", "lwmid is stopping")
        p = self.run_lwmi("watch", CREATION, code=EXIT_SERVER)
        self.assertEqual(p.stderr,
                         "lwmi: the watch ended: lwmid is stopping (WBEM_E_SHUTTING_DOWN)\n")

    def test_connection_lost(self):
        def on_register(s, call):
            s.indicate(call, creation_event({"__CLASS": "E2E_Job", "Id": 1}))
            s.hang_up()
        self.server.on_register = on_register
        p = self.run_lwmi("watch", CREATION, code=EXIT_SERVER)
        self.assertEqual(len(p.stdout.splitlines()), 2)  # what came first is printed
        self.assertIn("connection to the server lost", p.stderr)
        self.assertIn("WBEM_E_TRANSPORT_FAILURE", p.stderr)

    def test_invalid_query_shows_caret(self):
        p = self.run_lwmi("watch", "SELECT * FORM X", code=EXIT_SERVER)
        self.assertEqual(p.stderr.splitlines(), [
            "lwmi: line 1, column 10: expected FROM, found 'FORM' (WBEM_E_INVALID_QUERY)",
            "  SELECT * FORM X",
            "           ^"])

    def test_consumer_example(self):
        def on_register(s, call):
            s.ping("s:1")
            s.indicate(call, creation_event({"__CLASS": "Linux_Process", "ProcessId": 1}),
                       creation_event({"__CLASS": "Linux_Process", "ProcessId": 2}))
        self.server.on_register = on_register
        env = dict(os.environ, LWMI_SOCKET=self.server.path)
        p = subprocess.run([consumer_path(), "-c", "2"], capture_output=True, text=True,
                           timeout=30, env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        events = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual([e["TargetInstance"]["ProcessId"] for e in events], [1, 2])
        self.assertIn("registered", p.stderr)
        self.server.ended.wait(5)
        self.assertEqual(self.server.requests[1]["params"]["query"],
                         "SELECT * FROM __InstanceCreationEvent WITHIN 1 "
                         "WHERE TargetInstance ISA 'Linux_Process'")
        self.assertEqual(self.server.methods()[-1], "CancelAsyncCall")
        self.assertEqual(self.server.answers, [{"jsonrpc": "2.0", "id": "s:1", "result": {}}])


ALERT_CLASS = {"__GENUS": 1, "__CLASS": "App_Alert", "__SUPERCLASS": "__ExtrinsicEvent",
               "properties": {
                   "SECURITY_DESCRIPTOR": {"type": "uint8", "array": True,
                                           "origin": "__Event"},
                   "TIME_CREATED": {"type": "uint64", "origin": "__Event"},
                   "Severity": {"type": "uint32"},
                   "Total": {"type": "uint64"},
                   "Delta": {"type": "sint16"},
                   "Ok": {"type": "boolean"},
                   "Ratio": {"type": "real64"},
                   "Text": {"type": "string"},
                   "Tags": {"type": "string", "array": True},
                   "Codes": {"type": "sint32", "array": True},
                   "At": {"type": "datetime"},
                   "Detail": {"type": "object"}}}


class TestPublishOnStandIn(EventsTestCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        self.server = EventServer(os.path.join(self.tmpdir, "fake.sock"))
        self.server.classes["App_Alert"] = ALERT_CLASS
        self.addCleanup(self.server.close)

    def published(self):
        return [m["params"] for m in self.server.requests if m["method"] == "PublishEvent"]

    def test_values_typed_by_the_class(self):
        p = self.run_lwmi("-n", "root/app", "publish", "App_Alert", "severity=3",
                          "Total=18446744073709551615", "Delta=-5", "Ok=true", "Ratio=0.5",
                          "Text=disk full", "Tags={ops, disk}", "Codes={1,-2}",
                          "At=20261126083000.000000+000", 'Detail={"__CLASS":"X","A":1}',
                          code=EXIT_OK)
        self.assertEqual(p.stdout, "delivered to 0 registrations\n")
        self.assertEqual(self.published(), [{"namespace": "root/app", "event": {
            "__CLASS": "App_Alert", "Severity": 3, "Total": "18446744073709551615",
            "Delta": -5, "Ok": True, "Ratio": 0.5, "Text": "disk full",
            "Tags": ["ops", "disk"], "Codes": [1, -2], "At": "20261126083000.000000+000",
            "Detail": {"__CLASS": "X", "A": 1}}}])
        self.assertEqual(self.server.requests[1]["params"],
                         {"namespace": "root/app", "path": "App_Alert"})

    def test_empty_null_and_json(self):
        p = self.run_lwmi("--json", "publish", "App_Alert", "Text=", "Severity=", "Tags={}",
                          "Codes=NULL", code=EXIT_OK)
        self.assertEqual(json.loads(p.stdout), {"delivered": 0})
        self.assertEqual(self.published()[0]["event"],
                         {"__CLASS": "App_Alert", "Text": "", "Severity": None, "Tags": [],
                          "Codes": None})

    def test_delivered_to_a_watch(self):
        watch = subprocess.Popen([lwmi_path(), "--socket", self.server.path, "--json", "watch",
                                  "--count", "1", "SELECT * FROM App_Alert WHERE Severity > 2"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(self.server.registered.wait(10))
            # The stand-in serves one session at a time: publish through it
            # by hand, as a second client would.
            self.server.indicate(100, {"__CLASS": "App_Alert", "Severity": 4})
            out, err = watch.communicate(timeout=10)
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait()
        self.assertEqual(watch.returncode, 0, err)
        self.assertEqual(json.loads(out)["Severity"], 4)

    def test_errors(self):
        cases = [
            (("App_Alert", "Nope=1"), EXIT_USAGE, "class App_Alert has no property 'Nope'"),
            (("App_Alert", "Severity=high"), EXIT_USAGE, "Severity: 'high' is not a uint32"),
            (("App_Alert", "Severity=4294967296"), EXIT_USAGE, "out of its range"),
            (("App_Alert", "Delta=40000"), EXIT_USAGE, "not a sint16"),
            (("App_Alert", "Ok=maybe"), EXIT_USAGE, "not a boolean"),
            (("App_Alert", "Ratio=1e999"), EXIT_USAGE, "not a real64"),
            (("App_Alert", "Tags={a"), EXIT_USAGE, "write {a,b,c}"),
            (("App_Alert", "Detail=[1]"), EXIT_USAGE, "not a JSON object"),
            (("App_Alert", "Ok=1", "ok=0"), EXIT_USAGE, "given twice"),
            (("App_Alert", "__CLASS=X"), EXIT_USAGE, "no property '__CLASS'"),
            (("Missing",), EXIT_SERVER, "Missing not found (WBEM_E_NOT_FOUND)"),
        ]
        for args, code, message in cases:
            with self.subTest(args=args):
                p = self.run_lwmi("publish", *args, code=code)
                self.assertIn(message, p.stderr)
                self.assertTrue(p.stderr.startswith("lwmi: "), p.stderr)
        self.assertEqual(self.published(), [])
        # Shapes that are wrong before any connection is made.
        for args in (("App_Alert", "NoEquals"), ("App_Alert", "=5"), ("App.X=1",)):
            with self.subTest(args=args):
                p = self.run_lwmi("publish", *args, socket_path="/nonexistent",
                                  code=EXIT_USAGE)


class TestUsage(EventsTestCase):
    start_daemon = False

    def test_usage_errors(self):
        for args in (("watch",), ("watch", "a", "b"), ("watch", "--count", "0", "Q"),
                     ("watch", "--count", "-1", "Q"), ("watch", "--count", "x", "Q"),
                     ("--count", "2", "ping"), ("publish",)):
            with self.subTest(args=args):
                p = self.run_lwmi(*args, socket_path="/nonexistent", code=EXIT_USAGE)
                self.assertTrue(p.stderr.startswith("lwmi: "), p.stderr)

    def test_help(self):
        for cmd in ("watch", "publish"):
            with self.subTest(cmd=cmd):
                a = self.run_lwmi("help", cmd, socket_path="/x", code=EXIT_OK)
                b = self.run_lwmi(cmd, "--help", socket_path="/x", code=EXIT_OK)
                self.assertEqual(a.stdout, b.stdout)
                self.assertTrue(a.stdout.startswith("Usage: lwmi [OPTIONS] " + cmd))
        p = self.run_lwmi("--help", socket_path="/x", code=EXIT_OK)
        self.assertIn("watch WQL", p.stdout)
        self.assertIn("4  watch --timeout ended without any event", p.stdout)
        p = self.run_lwmi("help", "watch", socket_path="/x", code=EXIT_OK)
        self.assertIn("status 0 if at least one event", p.stdout)

    def test_no_daemon(self):
        p = self.run_lwmi("watch", CREATION, socket_path=os.path.join(self.tmpdir, "x.sock"),
                          code=EXIT_CONNECT)
        self.assertIn("is lwmid running?", p.stderr)


# ---- against the real lwmid ------------------------------------------------

NS = "root/cimv2"

ITEM_CLASS = {"__CLASS": "E2E_Item", "__SUPERCLASS": None,
              "properties": {"Id": {"type": "uint32", "key": True},
                             "Name": {"type": "string"}}}

SIGNAL_CLASS = {"__CLASS": "E2E_Signal", "__SUPERCLASS": "__ExtrinsicEvent",
                "properties": {"Level": {"type": "uint32"},
                               "Source": {"type": "string"},
                               "Tags": {"type": "string", "array": True}}}


class TestWithDaemon(EventsTestCase):
    """watch, publish, the consumer and many-filters against lwmid."""

    # test_process_start_and_exit watches Linux_Process by WITHIN polling
    # (native process events: test_proc_events.py)
    daemon_args = ("--no-proc-connector",)

    def setUp(self):
        super().setUp()
        c = self.connect()
        reply = c.call("ExecNotificationQueryAsync",
                       {"namespace": NS, "sink": "probe", "query": "SELECT * FROM E2E_NoSuchEvent"})
        if reply.get("error", {}).get("code") == -32601:
            self.skipTest("lwmid does not offer the asynchronous methods yet")
        c.close()

    def lwmi(self, *args, code=None, timeout=30):
        return self.run_lwmi(*args, socket_path=self.daemon.socket_path, code=code,
                             timeout=timeout)

    def put_class(self, cls):
        reply = self.connect().call("PutClass", {"namespace": NS, "class": cls})
        self.assertIn("result", reply, reply)

    def start_watch(self, *args):
        env = dict(os.environ)
        env.pop("LWMI_SOCKET", None)
        proc = subprocess.Popen([lwmi_path(), "--socket", self.daemon.socket_path, "-n", NS]
                                + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
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

    def test_watch_repository_creation(self):
        self.put_class(ITEM_CLASS)
        proc = self.start_watch("--json", "watch", "--count", "1",
                                "SELECT * FROM __InstanceCreationEvent "
                                "WHERE TargetInstance ISA 'E2E_Item'")
        writer = self.connect()

        def put(i):
            writer.call("PutInstance", {"namespace": NS, "instance": {
                "__CLASS": "E2E_Item", "Id": i, "Name": "n%d" % i}}, id=i + 10)
        out, err = self.until_exit(proc, put)
        self.assertEqual(proc.returncode, 0, err)
        event = json.loads(out)
        self.assertEqual(event["__CLASS"], "__InstanceCreationEvent")
        self.assertEqual(event["TargetInstance"]["__CLASS"], "E2E_Item")
        self.assertRegex(event["TargetInstance"]["Name"], r"^n\d+$")

    def test_publish_to_watch(self):
        self.put_class(SIGNAL_CLASS)
        proc = self.start_watch("watch", "--count", "1",
                                "SELECT * FROM E2E_Signal WHERE Level >= 3")
        delivered = []

        def publish(i):
            # Level 1 never matches; then one that does.
            p = self.lwmi("-n", NS, "--json", "publish", "E2E_Signal",
                          "Level=%d" % (1 if i % 2 == 0 else 5), "Source=e2e",
                          "Tags={a, b}", code=EXIT_OK)
            delivered.append(json.loads(p.stdout)["delivered"])
        out, err = self.until_exit(proc, publish)
        self.assertEqual(proc.returncode, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["Level", "Source", "Tags"])
        self.assertEqual(lines[1].split(), ["5", "e2e", "{a,", "b}"])
        self.assertIn(1, delivered)
        self.assertTrue(all(d == 0 for d, i in zip(delivered, range(len(delivered)))
                            if i % 2 == 0))

    def registrations(self):
        if not hasattr(self, "stats_client"):
            self.stats_client = self.connect()
        reply = self.stats_client.call("ExecQuery", {"namespace": "root/lwmi",
                                                     "query": "SELECT * FROM LWMI_Daemon"})
        if "result" not in reply:
            self.skipTest("lwmid does not describe itself (LWMI_Daemon) yet")
        return int(reply["result"]["objects"][0]["Registrations"])

    def test_process_start_and_exit(self):
        # A process with a name of its own, caught by WITHIN 1 polling of
        # Linux_Process when it starts and when it exits.
        name = "e2e%d" % (os.getpid() % 100000)
        program = os.path.join(self.tmpdir, name)
        with open("/bin/sleep", "rb") as src, open(program, "wb") as dst:
            dst.write(src.read())
        os.chmod(program, 0o755)
        proc = self.start_watch("--json", "watch", "--count", "2", "--timeout", "30",
                                "SELECT * FROM __InstanceOperationEvent WITHIN 1 "
                                "WHERE TargetInstance ISA 'Linux_Process' "
                                "AND TargetInstance.Name = '%s'" % name)
        self.wait_for(lambda: proc.poll() is not None or self.registrations() >= 1,
                      "the watch to register")
        child = subprocess.Popen([program, "2.5"])
        child.wait(10)
        out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([e["__CLASS"] for e in events],
                         ["__InstanceCreationEvent", "__InstanceDeletionEvent"])
        for e in events:
            self.assertEqual(e["TargetInstance"]["ProcessId"], child.pid)
            self.assertEqual(e["TargetInstance"]["Name"], name)
        self.wait_for(lambda: self.registrations() == 0, "the registration to go")

    def test_consumer_example(self):
        self.put_class(ITEM_CLASS)
        env = dict(os.environ, LWMI_SOCKET=self.daemon.socket_path)
        proc = subprocess.Popen([consumer_path(), "-n", NS, "-c", "2",
                                 "SELECT * FROM __InstanceOperationEvent "
                                 "WHERE TargetInstance ISA 'E2E_Item'"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        writer = self.connect()

        def put(i):
            writer.call("PutInstance", {"namespace": NS, "instance": {
                "__CLASS": "E2E_Item", "Id": 1, "Name": "v%d" % i}}, id=i + 10)
        out, err = self.until_exit(proc, put)
        self.assertEqual(proc.returncode, 0, err)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(events), 2)
        self.assertIn(events[0]["__CLASS"], ("__InstanceCreationEvent",
                                             "__InstanceModificationEvent"))
        self.assertEqual(events[1]["__CLASS"], "__InstanceModificationEvent")
        self.assertIn("PreviousInstance", events[1])

    def test_many_filters_on_one_sink(self):
        env = dict(os.environ, LWMI_SOCKET=self.daemon.socket_path)
        p = subprocess.run([many_filters_path()], capture_output=True, text=True, timeout=120,
                           env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (p.stdout, p.stderr))
        self.assertIn("ok", p.stdout)


if __name__ == "__main__":
    unittest.main()
