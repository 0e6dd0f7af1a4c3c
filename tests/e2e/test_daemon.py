"""End-to-end tests of lwmid: a real daemon on a temporary socket, driven by
raw JSON-RPC clients. Each test starts its own lwmid (--repository :memory:)
and always stops it; see lwmitest.py. Run with tests/e2e/run.sh."""

import json
import os
import signal
import socket
import stat
import subprocess
import threading
import time
import unittest

from lwmitest import Client, DaemonTestCase, lwmid_path

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602


class TestHelloPing(DaemonTestCase):
    def test_hello(self):
        c = self.connect()
        r = c.call("Hello", {"client": "e2e", "keepalive_ms": 2500}, id=7)
        self.assertEqual(r["jsonrpc"], "2.0")
        res = r["result"]
        self.assertEqual(res["server"], "lwmid")
        self.assertIsInstance(res["version"], str)
        self.assertEqual(res["protocol"], 1)
        self.assertIsInstance(res["session"], int)
        self.assertEqual(res["keepalive_ms"], 2500)

    def test_hello_defaults_and_repeat(self):
        c = self.connect()
        self.assertEqual(c.call("Hello")["result"]["keepalive_ms"], 10000)
        self.assertEqual(c.call("Hello", {"keepalive_ms": 500})["result"]["keepalive_ms"], 500)
        self.assertEqual(c.call("Hello", {"keepalive_ms": 60000})["result"]["keepalive_ms"], 60000)
        # null stands for "not given": the keepalive in force stays
        self.assertEqual(c.call("Hello", {"keepalive_ms": None})["result"]["keepalive_ms"], 60000)

    def test_sessions_have_distinct_ids(self):
        a = self.connect().call("Hello")["result"]["session"]
        b = self.connect().call("Hello")["result"]["session"]
        self.assertNotEqual(a, b)

    def test_keepalive_out_of_range(self):
        c = self.connect()
        for bad in (0, 499, 60001, -1):
            r = c.call("Hello", {"keepalive_ms": bad}, id="k")
            self.assert_error(r, INVALID_PARAMS, "WBEM_E_INVALID_PARAMETER", id="k",
                              message_has="keepalive_ms")

    def test_ping(self):
        c = self.connect()
        self.assertEqual(c.call("Ping", id="p")["result"], {})
        self.assertEqual(c.call("Ping", {}, id=0)["result"], {})
        self.assertEqual(c.call("Ping", id=None)["result"], {})

    def test_id_types_echoed(self):
        c = self.connect()
        for id in (0, -5, 2**62, "x", "", "ünï"):
            self.assertEqual(c.call("Ping", id=id)["id"], id)

    def test_notification_not_answered(self):
        c = self.connect()
        c.send({"jsonrpc": "2.0", "method": "Ping"})
        c.send({"jsonrpc": "2.0", "method": "NoSuchMethod"})
        c.send({"jsonrpc": "2.0", "method": "Hello", "params": {"keepalive_ms": "bad"}})
        self.assertEqual(c.call("Ping", id=2)["id"], 2)

    def test_blank_lines_and_crlf(self):
        c = self.connect()
        c.send_raw(b"\n  \r\n\t\n")
        c.send_raw(b'{"jsonrpc":"2.0","id":3,"method":"Ping"}\r\n')
        self.assertEqual(c.recv()["id"], 3)

    def test_client_response_to_unknown_ping_is_ignored(self):
        c = self.connect()
        c.send({"jsonrpc": "2.0", "id": "s:99", "result": {}})
        c.send({"jsonrpc": "2.0", "id": 5, "error": {"code": 1, "message": "x"}})
        self.assertEqual(c.call("Ping", id=1)["id"], 1)


class TestPipelining(DaemonTestCase):
    def test_1000_requests_in_one_write(self):
        c = self.connect()
        data = b"".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "Ping"}).encode() + b"\n"
                        for i in range(1000))
        c.send_raw(data)
        ids = [c.recv()["id"] for _ in range(1000)]
        self.assertEqual(ids, list(range(1000)))

    def test_mixed_pipeline_keeps_order(self):
        c = self.connect()
        lines = []
        for i in range(300):
            kind = i % 3
            if kind == 0:
                lines.append(json.dumps({"jsonrpc": "2.0", "id": i, "method": "Ping"}))
            elif kind == 1:
                lines.append(json.dumps({"jsonrpc": "2.0", "id": i, "method": "Nope"}))
            else:
                lines.append(json.dumps({"jsonrpc": "2.0", "id": i, "method": "Hello",
                                         "params": {"keepalive_ms": "x"}}))
        c.send_raw("\n".join(lines).encode() + b"\n")
        for i in range(300):
            r = c.recv()
            self.assertEqual(r["id"], i)
            self.assertEqual("result" in r, i % 3 == 0)

    def test_client_that_does_not_read(self):
        """A client that sends a lot and reads nothing makes lwmid stop
        reading it (output high-water mark); others are served meanwhile,
        and when it reads it gets every answer, in order."""
        c = self.connect(timeout=60)
        count = 150000
        data = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"Ping"}\n' % i for i in range(count))
        done = threading.Event()

        def writer():
            c.send_raw(data)
            done.set()

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        time.sleep(0.5)
        # lwmid pushes back: the writer cannot finish while nobody reads
        self.assertFalse(done.is_set())
        other = self.connect()
        t0 = time.monotonic()
        for i in range(20):
            self.assertEqual(other.call("Ping", id=i)["id"], i)
        self.assertLess(time.monotonic() - t0, 2.0)
        for i in range(count):
            r = c.recv()
            self.assertEqual(r["id"], i)
        t.join(10)
        self.assertTrue(done.is_set())


class TestConcurrency(DaemonTestCase):
    def test_200_concurrent_clients(self):
        n = 200
        barrier = threading.Barrier(n)
        errors = []
        sessions = []
        lock = threading.Lock()

        def run(i):
            try:
                c = Client(self.daemon.socket_path, timeout=30)
                try:
                    barrier.wait(30)
                    hello = c.call("Hello", {"client": "c%d" % i}, id="h%d" % i)
                    ping = c.call("Ping", id=i)
                    self.assertEqual(ping["result"], {})
                    with lock:
                        sessions.append(hello["result"]["session"])
                finally:
                    c.close()
            except Exception as e:  # reported below
                with lock:
                    errors.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(set(sessions)), n)
        self.assert_alive()


class TestMalformed(DaemonTestCase):
    def test_malformed_json_session_continues(self):
        c = self.connect()
        for bad in (b"foo", b"{", b'{"a":1,}', b"\xff\xfe", b'{"a":"\\u0000"}',
                    b'{"jsonrpc":"2.0","id":1,"id":2,"method":"Ping"}', b'{"a":1} x'):
            c.send_raw(bad + b"\n")
            r = c.recv()
            self.assert_error(r, PARSE_ERROR, "WBEM_E_INVALID_PARAMETER")
        self.assertEqual(c.call("Ping", id=9)["result"], {})
        self.assert_alive()

    def test_invalid_requests(self):
        c = self.connect()
        cases = [
            # (message, id answered with, message fragment)
            ([{"jsonrpc": "2.0", "id": 1, "method": "Ping"}], None, "batch"),
            (5, None, "object"),
            ("str", None, "object"),
            ({"id": 1, "method": "Ping"}, 1, "jsonrpc"),
            ({"jsonrpc": "1.0", "id": 1, "method": "Ping"}, 1, "jsonrpc"),
            ({"jsonrpc": 2.0, "id": 1, "method": "Ping"}, 1, "jsonrpc"),
            ({"jsonrpc": "2.0", "id": 1.5, "method": "Ping"}, None, "id"),
            ({"jsonrpc": "2.0", "id": [1], "method": "Ping"}, None, "id"),
            ({"jsonrpc": "2.0", "id": True, "method": "Ping"}, None, "id"),
            ({"jsonrpc": "2.0", "id": 1, "method": 5}, 1, "method"),
            ({"jsonrpc": "2.0", "id": 1, "method": "Ping", "params": 5}, 1, "params"),
            ({"jsonrpc": "2.0", "id": 1, "method": "Ping", "params": "x"}, 1, "params"),
            ({"jsonrpc": "2.0", "id": 1, "method": "Ping", "result": {}}, 1, "result"),
            ({"jsonrpc": "2.0", "id": 1}, None, "method"),
            ({"jsonrpc": "2.0", "id": "s:1", "result": 1, "error": {"code": 1, "message": "m"}},
             None, "both"),
            ({"jsonrpc": "2.0", "result": {}}, None, "id"),
            ({"jsonrpc": "2.0", "id": "s:1", "error": "bad"}, None, "error"),
            ({"jsonrpc": "2.0", "id": "s:1", "error": {"code": "1", "message": "m"}}, None, "error"),
        ]
        for msg, id, fragment in cases:
            with self.subTest(msg=msg):
                c.send(msg)
                self.assert_error(c.recv(), INVALID_REQUEST, "WBEM_E_INVALID_PARAMETER", id=id,
                                  message_has=fragment)
        self.assertEqual(c.call("Ping", id="after")["id"], "after")

    def test_unknown_method(self):
        c = self.connect()
        for name in ("Nope", "ping", "getobject", "execQueryAsync", "", "rpc.discover"):
            r = c.call(name, id=name)
            self.assert_error(r, METHOD_NOT_FOUND, "WBEM_E_INVALID_METHOD", id=name,
                              message_has="method not found")

    def test_wrong_param_types(self):
        c = self.connect()
        cases = [
            ("Hello", {"client": 5}, "client"),
            ("Hello", {"client": ["x"]}, "client"),
            ("Hello", {"client": "x" * 257}, "client"),
            ("Hello", {"keepalive_ms": "1000"}, "keepalive_ms"),
            ("Hello", {"keepalive_ms": 1000.5}, "keepalive_ms"),
            ("Hello", {"keepalive_ms": True}, "keepalive_ms"),
            ("Hello", {"keepalive_ms": {}}, "keepalive_ms"),
            ("Hello", {"bogus": 1}, "bogus"),
            ("Ping", {"x": 1}, "x"),
            ("Ping", [1], "params"),
            ("Hello", [], "params"),
        ]
        for method, params, fragment in cases:
            with self.subTest(method=method, params=params):
                r = c.call(method, params, id=fragment)
                self.assert_error(r, INVALID_PARAMS, "WBEM_E_INVALID_PARAMETER", id=fragment,
                                  message_has=fragment)
        self.assertEqual(c.call("Ping", id=1)["result"], {})


class TestOversizeLine(DaemonTestCase):
    daemon_args = ("--max-line-bytes", "4096")

    def check_oversize(self, data):
        other = self.connect()
        self.assertEqual(other.call("Hello", id=1)["id"], 1)
        c = self.connect()
        try:
            c.send_raw(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.recv()
        self.assert_error(r, INVALID_REQUEST, "WBEM_E_QUOTA_VIOLATION", message_has="4096")
        self.assertTrue(c.at_eof())
        # an open session and a new one are unaffected
        self.assertEqual(other.call("Ping", id=2)["id"], 2)
        self.assert_alive()

    def test_oversize_line_with_newline(self):
        self.check_oversize(b'{"jsonrpc":"2.0","id":1,"method":"Ping","x":"' + b"a" * 5000 + b'"}\n')

    def test_oversize_line_without_newline(self):
        self.check_oversize(b"a" * 4097)

    def test_line_at_the_limit_is_accepted(self):
        c = self.connect()
        msg = b'{"jsonrpc":"2.0","id":1,"method":"Ping"}'
        line = msg + b" " * (4096 - len(msg))
        self.assertEqual(len(line), 4096)
        c.send_raw(line + b"\n")
        self.assertEqual(c.recv()["result"], {})
        c.send_raw(line + b" \n")
        self.assert_error(c.recv(), INVALID_REQUEST, "WBEM_E_QUOTA_VIOLATION")
        self.assertTrue(c.at_eof())

    def test_requests_before_the_oversize_line_are_answered(self):
        c = self.connect()
        c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"Ping"}\n' + b"x" * 5000 + b"\n")
        self.assertEqual(c.recv()["id"], 1)
        self.assert_error(c.recv(), INVALID_REQUEST, "WBEM_E_QUOTA_VIOLATION")
        self.assertTrue(c.at_eof())


class TestDefaultLineLimit(DaemonTestCase):
    def test_default_limit_is_1mib(self):
        c = self.connect(timeout=30)
        msg = b'{"jsonrpc":"2.0","id":1,"method":"Ping"}'
        c.send_raw(msg + b" " * (1048576 - len(msg)) + b"\n")
        self.assertEqual(c.recv()["result"], {})
        try:
            c.send_raw(msg + b" " * (1048577 - len(msg)) + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assert_error(c.recv(), INVALID_REQUEST, "WBEM_E_QUOTA_VIOLATION",
                          message_has="1048576")
        self.assertTrue(c.at_eof())
        self.assert_alive()


class TestBadPeers(DaemonTestCase):
    def test_silent_client(self):
        silent = [self.connect() for _ in range(5)]
        c = self.connect()
        t0 = time.monotonic()
        for i in range(10):
            self.assertEqual(c.call("Ping", id=i)["id"], i)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assert_alive()
        del silent

    def test_disconnect_mid_request(self):
        c = self.connect()
        c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"Pi')
        time.sleep(0.1)
        c.close()
        self.clients.remove(c)
        # and one that resets with a full request unanswered in flight
        d = self.connect()
        d.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"Ping"}\n' * 100)
        d.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        d.close()
        self.clients.remove(d)
        self.assert_alive()
        deadline = time.monotonic() + 5
        while "middle of a message" not in self.daemon.log_text():
            self.assertLess(time.monotonic(), deadline, self.daemon.log_text())
            time.sleep(0.05)

    def test_half_close_still_answered(self):
        """A client that sends its requests and shuts down its side (like
        `nc -N`) gets every answer, then the connection closes."""
        c = self.connect()
        c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"Ping"}\n'
                   b'{"jsonrpc":"2.0","id":2,"method":"Hello"}\n'
                   b'{"jsonrpc":"2.0","id":3,"meth')
        c.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(c.recv()["id"], 1)
        self.assertEqual(c.recv()["id"], 2)
        self.assertTrue(c.at_eof())
        self.assert_alive()

    def test_trickled_line(self):
        """A line sent a few bytes at a time is put together."""
        c = self.connect()
        data = b'{"jsonrpc":"2.0","id":"t","method":"Ping"}\n'
        for i in range(0, len(data), 3):
            c.send_raw(data[i:i + 3])
            time.sleep(0.005)
        self.assertEqual(c.recv()["id"], "t")


class TestInstance(DaemonTestCase):
    start_daemon = False

    def test_socket_mode_and_lock(self):
        d = self.start()
        st = os.lstat(d.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(d.socket_path)).st_mode), 0o700)
        with open(d.socket_path + ".lock") as f:
            self.assertEqual(int(f.read()), d.pid)

    def test_second_instance_refused(self):
        d = self.start()
        second = self.start(wait=False)
        self.assertEqual(second.wait_exit(10), 3)
        log = second.log_text()
        self.assertIn("another lwmid (pid %d)" % d.pid, log)
        self.assertIn(d.socket_path, log)
        self.assertNotIn("READY=1", second.read_notifications(0.1))
        # the first one is untouched
        self.assert_alive(d)

    def test_stale_socket_replaced(self):
        path = os.path.join(self.tmpdir, "run", "lwmid.sock")
        os.makedirs(os.path.dirname(path))
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()  # the file stays, nobody listens
        with open(path + ".lock", "w") as f:
            f.write("999999\n")  # left by a crash: not locked
        d = self.start(socket_path=path)
        self.assert_alive(d)
        self.assertIn("replaced stale socket", d.log_text())

    def test_not_a_socket_is_not_replaced(self):
        path = os.path.join(self.tmpdir, "file")
        with open(path, "w") as f:
            f.write("data")
        d = self.start(socket_path=path, wait=False)
        self.assertEqual(d.wait_exit(10), 1)
        self.assertIn("not a socket", d.log_text())
        with open(path) as f:
            self.assertEqual(f.read(), "data")

    def test_sigterm_removes_socket(self):
        d = self.start()
        c = self.connect(d)
        self.assertEqual(c.call("Ping")["result"], {})
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(10), 0)
        self.assertFalse(os.path.exists(d.socket_path))
        self.assertFalse(os.path.exists(d.socket_path + ".lock"))
        self.assertTrue(c.at_eof())
        self.assertIn("STOPPING=1", d.read_notifications(0.1))
        # and a new instance starts on the same socket
        self.assert_alive(self.start(socket_path=d.socket_path))

    def test_sigint_shuts_down(self):
        d = self.start()
        d.proc.send_signal(signal.SIGINT)
        self.assertEqual(d.wait_exit(10), 0)
        self.assertFalse(os.path.exists(d.socket_path))

    def test_socket_path_too_long(self):
        d = self.start(socket_path="/tmp/" + "x" * 120, wait=False)
        self.assertEqual(d.wait_exit(10), 1)
        self.assertIn("too long", d.log_text())


class TestLogging(DaemonTestCase):
    start_daemon = False

    def test_iso_timestamps(self):
        d = self.start()
        first = d.log_text().splitlines()[0]
        self.assertRegex(first, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} "
                                r"info lwmid: listening on ")

    def test_journal_priority_prefix(self):
        d = self.start(journal=True)
        c = self.connect(d)
        c.call("Hello", {"client": "two\nlines"})
        c.close()
        self.clients.remove(c)
        deadline = time.monotonic() + 5
        while "closed" not in d.log_text():
            self.assertLess(time.monotonic(), deadline, d.log_text())
            time.sleep(0.05)
        lines = d.log_text().splitlines()
        self.assertTrue(lines[0].startswith("<6>info lwmid: listening on "), lines)
        for line in lines:
            self.assertRegex(line, r"^<[3-7]>(error|warning|info|debug) lwmid: ")
        # a client's name cannot start a line of its own
        self.assertTrue(any("client=\"two\\x0alines\"" in line for line in lines), lines)

    def test_journal_stream_of_another_file_is_ignored(self):
        d = self.start(env={"JOURNAL_STREAM": "1:1"})
        self.assertFalse(d.log_text().startswith("<"))


class TestFileDescriptorExhaustion(DaemonTestCase):
    start_daemon = False

    def test_emfile_does_not_spin(self):
        d = self.start(rlimit_nofile=24)
        early = self.connect(d)
        self.assertEqual(early.call("Hello", id=0)["id"], 0)
        # more clients than lwmid has descriptors: they wait in the backlog
        flood = [self.connect(d) for _ in range(60)]
        time.sleep(0.3)
        cpu0 = d.cpu_seconds()
        time.sleep(1.0)
        cpu = d.cpu_seconds() - cpu0
        self.assertLess(cpu, 0.25, "lwmid used %.2f s of CPU in 1 s while out of fds" % cpu)
        # the session opened before is served all along
        for i in range(5):
            self.assertEqual(early.call("Ping", id=i)["result"], {})
        log = d.log_text()
        self.assertEqual(log.count("cannot accept connections"), 1, log)
        # clients accepted before the limit work too
        self.assertEqual(flood[0].call("Ping", id="f")["result"], {})
        # when descriptors come free, waiting clients are accepted
        for c in flood[:-1]:
            c.close()
            self.clients.remove(c)
        last = flood[-1]
        self.assertEqual(last.call("Ping", id="last")["result"], {})
        deadline = time.monotonic() + 5
        while "accepting connections" not in d.log_text():
            self.assertLess(time.monotonic(), deadline, d.log_text())
            time.sleep(0.05)
        self.assert_alive(d)


class TestOptions(DaemonTestCase):
    start_daemon = False

    def run_lwmid(self, *args, env=None, preexec_fn=None):
        full_env = dict(os.environ)
        if env is not None:
            full_env = env
        return subprocess.run([lwmid_path()] + list(args), capture_output=True, text=True,
                              timeout=10, env=full_env, preexec_fn=preexec_fn, cwd="/")

    def test_help(self):
        r = self.run_lwmid("--help")
        self.assertEqual(r.returncode, 0)
        for text in ("--socket", "--repository", "--config", "--log-level", "--max-line-bytes",
                     "--max-backlog-bytes", "max_backlog_bytes",
                     "--version", "Exit status", "/run/lwmi/lwmid.sock", "XDG_RUNTIME_DIR",
                     "SIGHUP"):
            self.assertIn(text, r.stdout)
        self.assertEqual(self.run_lwmid("-h").returncode, 0)

    def test_version(self):
        r = self.run_lwmid("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^lwmid \d+\.\d+\.\d+")

    def test_bad_options(self):
        for args, fragment in ((["--bogus"], "--bogus"),
                               (["-x"], "-x"),
                               (["--socket"], "--socket"),
                               (["--log-level", "loud"], "loud"),
                               (["--max-line-bytes", "12"], "out of range"),
                               (["--max-line-bytes", "2T"], "unit"),
                               (["--max-line-bytes", "-1"], "not a size"),
                               (["--max-backlog-bytes", "1K"], "out of range"),
                               (["--max-backlog-bytes", "x"], "--max-backlog-bytes"),
                               (["--socket", ""], "empty"),
                               (["extra"], "extra")):
            with self.subTest(args=args):
                r = self.run_lwmid(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(fragment, r.stderr)

    def test_no_runtime_dir(self):
        """Not root and no XDG_RUNTIME_DIR: no default socket (as root the
        test drops to user nobody to see it)."""
        env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        drop = (lambda: os.setuid(65534)) if os.geteuid() == 0 else None
        r = self.run_lwmid("--repository", ":memory:", env=env, preexec_fn=drop)
        self.assertEqual(r.returncode, 2)
        self.assertIn("XDG_RUNTIME_DIR", r.stderr)

    def write_config(self, text, name="lwmid.conf"):
        path = os.path.join(self.tmpdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_bad_config(self):
        for text, fragment in (("[daemon]\nbogus = 1\n", ":2: unknown key 'bogus'"),
                               ("[daemon]\nlog_level = loud\n", ":2: key 'log_level'"),
                               ("; c\n[daemon]\nmax_line_bytes = 1\n", ":3: key max_line_bytes"),
                               ("[daemon]\nmax_backlog_bytes = 2G\n", ":2: key max_backlog_bytes"),
                               ("[other]\nsocket = /x\n", ":2: unknown section [other]"),
                               ("socket = /x\n", ":1: key 'socket' outside a section"),
                               ("[daemon]\nsocket = /a\nsocket = /b\n", ":3: key 'socket' set more"),
                               ("[daemon]\nthis is not ini\n", ":2: syntax error")):
            with self.subTest(text=text):
                path = self.write_config(text)
                r = self.run_lwmid("--config", path, "--socket",
                                   os.path.join(self.tmpdir, "s.sock"))
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(path + fragment, r.stderr)
        r = self.run_lwmid("--config", os.path.join(self.tmpdir, "missing.conf"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.conf", r.stderr)

    def test_config_and_command_line(self):
        sock = os.path.join(self.tmpdir, "from-config.sock")
        path = self.write_config("[daemon]\nsocket = %s\nmax_line_bytes = 1K ; comment\n"
                                 "log_level = debug\nrepository = :memory:\n" % sock)
        # the command line wins over the file for the line limit
        d = self.start(args=("--config", path, "--max-line-bytes", "2K"), socket_path=sock,
                       repository=None)
        c = self.connect(d)
        msg = b'{"jsonrpc":"2.0","id":1,"method":"Ping"}'
        c.send_raw(msg + b" " * (1500 - len(msg)) + b"\n")
        self.assertEqual(c.recv()["result"], {})
        self.assertIn("debug lwmid:", d.log_text())

    def test_sighup_reload(self):
        sock = os.path.join(self.tmpdir, "hup.sock")
        path = self.write_config("[daemon]\nlog_level = info\nmax_line_bytes = 64K\n"
                                 "socket = %s\nrepository = :memory:\n" % sock)
        d = self.start(args=("--config", path), socket_path=sock, pass_socket=False,
                       repository=None)
        c = self.connect(d)
        msg = b'{"jsonrpc":"2.0","id":1,"method":"Ping"}'
        c.send_raw(msg + b" " * 2000 + b"\n")
        self.assertEqual(c.recv()["result"], {})
        self.assertNotIn("debug lwmid:", d.log_text())

        self.write_config("[daemon]\nlog_level = debug\nmax_line_bytes = 1K\n"
                          "max_backlog_bytes = 256K\n"
                          "socket = /elsewhere.sock\nrepository = /elsewhere.db\n")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "reloaded" not in d.log_text():
            self.assertLess(time.monotonic(), deadline, d.log_text())
            time.sleep(0.05)
        log = d.log_text()
        self.assertIn("socket changed to /elsewhere.sock", log)
        self.assertIn("repository changed to /elsewhere.db", log)
        self.assertIn("until a restart", log)
        self.assertIn("backlog up to 262144 bytes", log)
        # the new limit holds for the session opened before the reload
        c.send_raw(msg + b" " * 2000 + b"\n")
        self.assert_error(c.recv(), INVALID_REQUEST, "WBEM_E_QUOTA_VIOLATION", message_has="1024")
        self.assertTrue(c.at_eof())
        self.assert_alive(d)
        self.assertIn("debug lwmid:", d.log_text())

        # a broken file on reload is reported and changes nothing
        self.write_config("[daemon]\nlog_level = loud\n")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "not reloaded" not in d.log_text():
            self.assertLess(time.monotonic(), deadline, d.log_text())
            time.sleep(0.05)
        self.assert_alive(d)
        self.assertEqual(os.path.realpath(d.socket_path), sock)


if __name__ == "__main__":
    unittest.main()
