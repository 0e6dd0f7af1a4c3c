"""End-to-end tests of the command-line client lwmi (and through it
liblwmi) against a real lwmid on a temporary socket (--repository
:memory:), started and always stopped by lwmitest.DaemonTestCase.

The lwmi binary is $LWMI, else the build directory's. The engine methods
(query, get, put, delete, classes, class) run against lwmid; the same
commands also run against FakeServer, a stand-in that follows
docs/protocol.md and checks that the client answers its Pings. Run with
tests/e2e/run.sh."""

import json
import os
import socket
import subprocess
import threading
import time
import unittest

from lwmitest import DaemonTestCase, lwmi_path

EXIT_OK, EXIT_SERVER, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3


class CliTestCase(DaemonTestCase):
    def lwmi(self, *args, input=None, socket_path=None, env=None, use_socket=True):
        """Run lwmi; returns the CompletedProcess (text mode)."""
        argv = [lwmi_path()]
        if use_socket:
            argv += ["--socket", socket_path or self.daemon.socket_path]
        argv += list(args)
        full_env = dict(os.environ)
        full_env.pop("LWMI_SOCKET", None)
        if env:
            full_env.update(env)
        return subprocess.run(argv, input=input, capture_output=True, text=True,
                              env=full_env, timeout=30, stdin=None if input is not None
                              else subprocess.DEVNULL)

    def assert_exit(self, p, code):
        self.assertEqual(p.returncode, code,
                         "exit %d, expected %d\nstdout: %s\nstderr: %s"
                         % (p.returncode, code, p.stdout, p.stderr))


class TestPing(CliTestCase):
    def test_ping(self):
        p = self.lwmi("ping")
        self.assert_exit(p, EXIT_OK)
        self.assertRegex(p.stdout, r"^pong from lwmid \S+, session \d+, in [0-9.]+ ms\n$")
        self.assertEqual(p.stderr, "")

    def test_ping_json(self):
        p = self.lwmi("--json", "ping")
        self.assert_exit(p, EXIT_OK)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 1)
        j = json.loads(lines[0])
        self.assertEqual(j["server"], "lwmid")
        self.assertIsInstance(j["version"], str)
        self.assertRegex(j["session"], r"^\d+$")
        self.assertEqual(j["keepalive_ms"], 10000)
        self.assertGreaterEqual(j["rtt_ms"], 0)

    def test_options_after_the_command(self):
        p = self.lwmi("ping", "--json", "-n", "root/other")
        self.assert_exit(p, EXIT_OK)
        self.assertEqual(json.loads(p.stdout)["server"], "lwmid")

    def test_socket_from_environment_and_unix_prefix(self):
        p = self.lwmi("ping", use_socket=False, env={"LWMI_SOCKET": self.daemon.socket_path})
        self.assert_exit(p, EXIT_OK)
        p = self.lwmi("ping", socket_path="unix:" + self.daemon.socket_path)
        self.assert_exit(p, EXIT_OK)

    def test_each_run_is_one_session_and_closes_it(self):
        for _ in range(3):
            self.assert_exit(self.lwmi("ping"), EXIT_OK)
        self.assert_alive()


class TestNoDaemon(CliTestCase):
    start_daemon = False

    def test_no_socket_exits_3(self):
        path = os.path.join(self.tmpdir, "absent.sock")
        p = self.lwmi("ping", socket_path=path)
        self.assert_exit(p, EXIT_CONNECT)
        self.assertIn("cannot connect to " + path, p.stderr)
        self.assertIn("No such file or directory", p.stderr)
        self.assertTrue(p.stderr.startswith("lwmi: "))
        self.assertEqual(p.stdout, "")

    def test_stale_socket_exits_3(self):
        path = os.path.join(self.tmpdir, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()  # the file stays, nobody listens
        p = self.lwmi("query", "SELECT * FROM X", socket_path=path)
        self.assert_exit(p, EXIT_CONNECT)
        self.assertIn("Connection refused", p.stderr)

    def test_tcp_refused_exits_3(self):
        # a port with nobody listening: bound, not listening
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        address = "tcp:127.0.0.1:%d" % s.getsockname()[1]
        try:
            p = self.lwmi("--connect", address, "ping", use_socket=False)
        finally:
            s.close()
        self.assert_exit(p, EXIT_CONNECT)
        self.assertIn("cannot connect to %s: Connection refused" % address, p.stderr)

    def test_server_that_hangs_up(self):
        # A socket that accepts and closes at once: the Hello gets no answer.
        path = os.path.join(self.tmpdir, "rude.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        proc = subprocess.Popen([lwmi_path(), "--socket", path, "ping"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            conn, _ = srv.accept()
            conn.recv(65536)
            conn.close()
            out, err = proc.communicate(timeout=30)
        finally:
            srv.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, EXIT_CONNECT, err)
        self.assertIn("connection to the server lost", err)
        self.assertIn("WBEM_E_TRANSPORT_FAILURE", err)

    def test_timeout(self):
        # A server that accepts and never answers: --timeout gives up.
        path = os.path.join(self.tmpdir, "mute.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        try:
            p = self.lwmi("--timeout", "0.3", "ping", socket_path=path)
        finally:
            srv.close()
        self.assert_exit(p, EXIT_CONNECT)
        self.assertIn("no response to Hello within 300 ms", p.stderr)


class TestUsage(CliTestCase):
    start_daemon = False

    def test_bad_usage_exits_2(self):
        cases = [
            (),
            ("frobnicate",),
            ("--bogus", "ping"),
            ("query",),
            ("query", "SELECT * FROM A", "extra"),
            ("get",),
            ("ping", "extra"),
            ("delete", "App_Job"),  # a class name without --class
            ("delete", "--class", "App_Job.Id=1"),
            ("--deep", "ping"),
            ("--class", "get", "X.a=1"),
            ("--timeout", "soon", "ping"),
            ("-n", "", "ping"),
            ("-n",),
            ("help", "frobnicate"),
            ("rights", "grant", "root/cimv2", "user:x"),
            ("rights", "list", "root/cimv2", "extra"),
            ("token", "list", "extra"),
            ("token", "revoke"),
        ]
        for args in cases:
            with self.subTest(args=args):
                p = self.lwmi(*args, socket_path=os.path.join(self.tmpdir, "none.sock"))
                self.assert_exit(p, EXIT_USAGE)
                self.assertTrue(p.stderr.startswith("lwmi: "), p.stderr)
                self.assertEqual(p.stdout, "")

    def test_argument_count_named(self):
        """Too few or too many arguments: said so, with the command's usage."""
        none = os.path.join(self.tmpdir, "none.sock")
        for args, said, usage in [
            (("query",), "lwmi: query: missing argument", "Usage: lwmi [OPTIONS] query"),
            (("rights", "grant", "root", "everyone"), "lwmi: rights grant: missing argument",
             "rights grant NAMESPACE PRINCIPAL RIGHTS"),
            (("token", "list", "x"), "lwmi: token list: too many arguments",
             "Usage: lwmi token add USER"),
        ]:
            with self.subTest(args=args):
                p = self.lwmi(*args, socket_path=none)
                self.assert_exit(p, EXIT_USAGE)
                self.assertTrue(p.stderr.startswith(said + "\n\n"), p.stderr)
                self.assertIn(usage, p.stderr)

    def test_delete_class_name_explains(self):
        p = self.lwmi("delete", "App_Job", socket_path="/nonexistent")
        self.assertIn("lwmi delete --class App_Job", p.stderr)

    def test_help(self):
        p = self.lwmi("--help", use_socket=False)
        self.assert_exit(p, EXIT_OK)
        for word in ("query WQL", "put [FILE]", "delete --class NAME", "--namespace",
                     "--socket", "--json", "Exit status", "3  cannot connect"):
            self.assertIn(word, p.stdout)
        for cmd in ("query", "get", "put", "delete", "classes", "class", "ping"):
            with self.subTest(cmd=cmd):
                a = self.lwmi("help", cmd, use_socket=False)
                b = self.lwmi(cmd, "--help", use_socket=False)
                self.assert_exit(a, EXIT_OK)
                self.assert_exit(b, EXIT_OK)
                self.assertEqual(a.stdout, b.stdout)
                self.assertTrue(a.stdout.startswith("Usage: lwmi [OPTIONS] " + cmd), a.stdout)

    def test_version(self):
        p = self.lwmi("--version", use_socket=False)
        self.assert_exit(p, EXIT_OK)
        self.assertRegex(p.stdout, r"^lwmi \S+ \(liblwmi \S+\)\n$")

    def test_put_bad_input_exits_2_before_connecting(self):
        p = self.lwmi("put", input="{not json", socket_path="/nonexistent")
        self.assert_exit(p, EXIT_USAGE)
        self.assertIn("not JSON", p.stderr)
        p = self.lwmi("put", input="  \n", socket_path="/nonexistent")
        self.assert_exit(p, EXIT_USAGE)
        p = self.lwmi("put", os.path.join(self.tmpdir, "missing.json"), socket_path="/x")
        self.assert_exit(p, EXIT_USAGE)
        self.assertIn("cannot read", p.stderr)


class FakeServer:
    """A stand-in for lwmid's data methods as docs/protocol.md specifies
    them, in a thread: it keeps classes and instances in dicts, sends a
    `Ping` request before every answer (the client must answer it while it
    waits) and records what it received, so the CLI's commands can be
    checked end to end before lwmid serves those methods."""

    def __init__(self, path):
        self.path = path
        self.classes = {}
        self.instances = {}
        self.requests = []
        self.ping_answers = 0
        self.errors = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.sock.close()
        self.thread.join(5)

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self.session(conn.makefile("rwb"))
                except Exception as e:  # recorded, checked by the test
                    self.errors.append(repr(e))

    def session(self, f):
        pings = 0
        for line in f:
            m = json.loads(line)
            if "method" not in m:  # the answer to our Ping
                if m != {"jsonrpc": "2.0", "id": "s:%d" % pings, "result": {}}:
                    self.errors.append("bad Ping answer %r" % m)
                self.ping_answers += 1
                continue
            self.requests.append(m)
            pings += 1
            f.write(json.dumps({"jsonrpc": "2.0", "id": "s:%d" % pings,
                                "method": "Ping"}).encode() + b"\n")
            try:
                answer = {"result": self.method(m["method"], m.get("params") or {})}
            except KeyError as e:
                answer = {"error": {"code": -32000, "message": "%s not found" % e.args[0],
                                    "data": {"status": "WBEM_E_NOT_FOUND"}}}
            except SyntaxError:
                answer = {"error": {"code": -32000,
                                    "message": "line 1, column 10: expected FROM, found 'FORM'",
                                    "data": {"status": "WBEM_E_INVALID_QUERY",
                                             "line": 1, "column": 10}}}
            answer.update(jsonrpc="2.0", id=m["id"])
            f.write(json.dumps(answer).encode() + b"\n")
            f.flush()

    def method(self, name, p):
        if name == "Hello":
            return {"server": "fake", "version": "0", "protocol": 1, "session": 1,
                    "keepalive_ms": 10000}
        if name == "PutClass":
            self.classes[p["class"]["__CLASS"]] = dict(p["class"], __GENUS=1)
            return {"path": p["class"]["__CLASS"]}
        if name == "PutInstance":
            inst = dict(p["instance"])
            rel = "%s.Id=%s" % (inst["__CLASS"], inst["Id"])
            inst.update(__GENUS=2, __RELPATH=rel, __NAMESPACE=p["namespace"],
                        __PATH="//fake/%s:%s" % (p["namespace"], rel))
            self.instances[rel] = inst
            return {"path": rel}
        if name == "GetObject":
            path = p["path"]
            return self.instances[path] if path in self.instances else self.classes[path]
        if name == "ExecQuery":
            if " FORM " in p["query"]:
                raise SyntaxError()
            return {"objects": list(self.instances.values())}
        if name == "DeleteInstance":
            del self.instances[p["path"]]
            return {}
        if name == "DeleteClass":
            del self.classes[p["class"]]
            return {}
        if name == "EnumClasses":
            return {"classes": list(self.classes.values())}
        raise AssertionError("unexpected method " + name)


class TestCommandsOnFakeServer(CliTestCase):
    start_daemon = False

    def setUp(self):
        super().setUp()
        self.server = FakeServer(os.path.join(self.tmpdir, "fake.sock"))
        self.addCleanup(self.server.close)

    def run_lwmi(self, *args, input=None, code=EXIT_OK):
        p = self.lwmi("-n", "root/test", *args, input=input, socket_path=self.server.path)
        self.assert_exit(p, code)
        return p

    def last_params(self, method):
        for m in reversed(self.server.requests):
            if m["method"] == method:
                return m["params"]
        self.fail("no %s request" % method)

    def test_commands(self):
        p = self.run_lwmi("put", input=json.dumps(JOB_CLASS))
        self.assertEqual(p.stdout, "class E2E_Job\n")
        self.assertEqual(self.last_params("PutClass"),
                         {"namespace": "root/test", "class": JOB_CLASS})

        # Two objects, one in an array; system properties from elsewhere go.
        p = self.run_lwmi("put", input=json.dumps(
            {"__CLASS": "E2E_Job", "Id": 1, "Name": "backup", "Size": "18446744073709551615",
             "Tags": ["nightly", "db"]}) + "\n" + json.dumps(
            [{"__CLASS": "E2E_Job", "__PATH": "//other/root/x:E2E_Job.Id=22", "Id": 22,
              "Name": "gr\u00fc\u00df", "Size": "7", "Tags": None}]))
        self.assertEqual(p.stdout, "E2E_Job.Id=1\nE2E_Job.Id=22\n")
        self.assertNotIn("__PATH", self.last_params("PutInstance")["instance"])

        p = self.run_lwmi("query", "SELECT Name, Id FROM E2E_Job")
        self.assertEqual(p.stdout, "Name    Id\n"
                                   "backup   1\n"
                                   "gr\u00fc\u00df    22\n")
        self.assertEqual(self.last_params("ExecQuery"),
                         {"namespace": "root/test", "query": "SELECT Name, Id FROM E2E_Job"})

        p = self.run_lwmi("query", "SELECT * FROM E2E_Job")
        self.assertEqual(p.stdout.splitlines()[0].split(), ["Id", "Name", "Size", "Tags"])
        self.assertIn("{nightly, db}", p.stdout)

        p = self.run_lwmi("--json", "query", "SELECT * FROM E2E_Job")
        objs = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual([o["Id"] for o in objs], [1, 22])
        self.assertEqual(objs[0]["Size"], "18446744073709551615")

        p = self.run_lwmi("query", "SELECT * FORM E2E_Job", code=EXIT_SERVER)
        self.assertEqual(p.stderr.splitlines(), [
            "lwmi: line 1, column 10: expected FROM, found 'FORM' (WBEM_E_INVALID_QUERY)",
            "  SELECT * FORM E2E_Job",
            "           ^"])

        p = self.run_lwmi("get", "E2E_Job.Id=1")
        self.assertEqual(p.stdout.splitlines()[0], "__PATH  //fake/root/test:E2E_Job.Id=1")
        self.assertIn("Tags    {nightly, db}", p.stdout)
        p = self.run_lwmi("get", "E2E_Job.Id=99", code=EXIT_SERVER)
        self.assertEqual(p.stderr, "lwmi: E2E_Job.Id=99 not found (WBEM_E_NOT_FOUND)\n")

        p = self.run_lwmi("class", "E2E_Job")
        self.assertEqual(p.stdout, "class E2E_Job\n{\n    [key] uint32 Id;\n    string Name;\n"
                                   "    uint64 Size;\n    string Tags[];\n};\n")
        p = self.run_lwmi("classes", "--deep")
        self.assertEqual(p.stdout, "Class    Superclass\nE2E_Job\n")
        self.assertEqual(self.last_params("EnumClasses"), {"namespace": "root/test", "deep": True})

        self.run_lwmi("delete", "E2E_Job.Id=1")
        self.assertEqual(self.last_params("DeleteInstance"),
                         {"namespace": "root/test", "path": "E2E_Job.Id=1"})
        self.run_lwmi("delete", "--class", "E2E_Job")
        self.assertEqual(self.last_params("DeleteClass"),
                         {"namespace": "root/test", "class": "E2E_Job"})

        # Every server Ping was answered, and answered right (the server
        # thread may still be reading the last answer).
        deadline = time.monotonic() + 10
        while (self.server.ping_answers < len(self.server.requests)
               and time.monotonic() < deadline):
            time.sleep(0.01)
        self.assertEqual(self.server.errors, [])
        self.assertEqual(self.server.ping_answers, len(self.server.requests))


# lwmid's repository has root, root/cimv2 and root/lwmi (docs/repository.md);
# no method creates namespaces yet.
NS = "root/cimv2"

JOB_CLASS = {"__CLASS": "E2E_Job", "__SUPERCLASS": None,
             "properties": {"Id": {"type": "uint32", "key": True},
                            "Name": {"type": "string"},
                            "Size": {"type": "uint64"},
                            "Tags": {"type": "string", "array": True}}}


class TestEngineCommands(CliTestCase):
    """query, get, put, delete, classes, class against the real lwmid."""

    def put(self, *objects, code=EXIT_OK):
        p = self.lwmi("-n", NS, "put", input="\n".join(json.dumps(o) for o in objects))
        self.assert_exit(p, code)
        return p

    def test_put_query_get_delete(self):
        p = self.put(JOB_CLASS)
        self.assertEqual(p.stdout, "class E2E_Job\n")
        p = self.put({"__CLASS": "E2E_Job", "Id": 1, "Name": "backup", "Size": "18446744073709551615",
                      "Tags": ["nightly", "db"]},
                     {"__CLASS": "E2E_Job", "Id": 22, "Name": "gr\u00fc\u00df", "Size": "7"})
        self.assertEqual(len(p.stdout.splitlines()), 2)

        p = self.lwmi("-n", NS, "query", "SELECT Name, Id FROM E2E_Job WHERE Id > 0")
        self.assert_exit(p, EXIT_OK)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["Name", "Id"])
        # numbers align right (as in TestCommandsOnFakeServer)
        self.assertEqual(sorted(lines[1:]), sorted(["backup   1", "gr\u00fc\u00df    22"]))

        p = self.lwmi("-n", NS, "--json", "query", "SELECT * FROM E2E_Job WHERE Id = 1")
        self.assert_exit(p, EXIT_OK)
        objs = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual(len(objs), 1)
        self.assertEqual(objs[0]["Size"], "18446744073709551615")
        self.assertEqual(objs[0]["Tags"], ["nightly", "db"])
        self.assertEqual(objs[0]["__CLASS"], "E2E_Job")

        p = self.lwmi("-n", NS, "get", "E2E_Job.Id=1")
        self.assert_exit(p, EXIT_OK)
        self.assertIn("{nightly, db}", p.stdout)
        self.assertRegex(p.stdout, r"(?m)^Size +18446744073709551615$")

        # The --json output of a query is valid input to put, elsewhere.
        p = self.lwmi("-n", NS, "put", input=json.dumps(objs[0]))
        self.assert_exit(p, EXIT_OK)

        self.assert_exit(self.lwmi("-n", NS, "delete", "E2E_Job.Id=1"), EXIT_OK)
        p = self.lwmi("-n", NS, "get", "E2E_Job.Id=1")
        self.assert_exit(p, EXIT_SERVER)
        self.assertIn("WBEM_E_NOT_FOUND", p.stderr)

    def test_classes_and_class(self):
        self.put(JOB_CLASS)
        sub = {"__CLASS": "E2E_BigJob", "__SUPERCLASS": "E2E_Job", "properties": {}}
        self.put(sub)
        p = self.lwmi("-n", NS, "classes")
        self.assert_exit(p, EXIT_OK)
        self.assertIn("E2E_Job", p.stdout)
        self.assertNotIn("E2E_BigJob", p.stdout)
        p = self.lwmi("-n", NS, "classes", "--deep")
        self.assertIn("E2E_BigJob", p.stdout)
        p = self.lwmi("-n", NS, "class", "E2E_Job")
        self.assert_exit(p, EXIT_OK)
        self.assertTrue(p.stdout.startswith("class E2E_Job\n{\n"), p.stdout)
        self.assertIn("[key] uint32 Id;", p.stdout)
        self.assertIn("string Tags[];", p.stdout)
        # a class with subclasses is not deleted (protocol.md: DeleteClass)
        p = self.lwmi("-n", NS, "delete", "--class", "E2E_Job")
        self.assert_exit(p, EXIT_SERVER)
        self.assertIn("WBEM_E_CLASS_HAS_CHILDREN", p.stderr)
        self.assert_exit(self.lwmi("-n", NS, "delete", "--class", "E2E_BigJob"), EXIT_OK)
        self.assert_exit(self.lwmi("-n", NS, "delete", "--class", "E2E_Job"), EXIT_OK)
        p = self.lwmi("-n", NS, "class", "E2E_Job")
        self.assert_exit(p, EXIT_SERVER)

    def test_query_error_has_caret(self):
        self.put(JOB_CLASS)
        p = self.lwmi("-n", NS, "query", "SELECT * FORM E2E_Job")
        self.assert_exit(p, EXIT_SERVER)
        lines = p.stderr.splitlines()
        self.assertTrue(lines[0].startswith("lwmi: "), p.stderr)
        self.assertIn("WBEM_E_INVALID_QUERY", lines[0])
        self.assertEqual(lines[1], "  SELECT * FORM E2E_Job")
        self.assertEqual(lines[2], "           ^")

    def test_unknown_class(self):
        p = self.lwmi("-n", NS, "query", "SELECT * FROM E2E_Nothing")
        self.assert_exit(p, EXIT_SERVER)
        self.assertIn("E2E_Nothing", p.stderr)


if __name__ == "__main__":
    unittest.main()
