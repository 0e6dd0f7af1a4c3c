"""The adversarial end-to-end test of issue 7 part 5: bad input of every
kind sent to a real lwmid (as root) by clients running as uid 65534 (see
quotatest.py): deeply nested JSON, huge numbers, invalid UTF-8, NUL bytes
in strings and lines, over-long lines, wrong types in every field of every
method, 10,000 registrations past the quota, malformed objects, queries
and paths. Each gets a clear error (the JSON-RPC code and WBEM status the
protocol promises, a message), the attacker's session goes on (but for the
over-long line, which closes it as documented), nothing crashes (lwmid
still answers; under ASan/UBSan its log has no report: lwmitest's
Daemon.stop checks), nothing leaks (LWMI_Daemon's levels and the attacker's
LWMI_User back where they were), and other sessions see no difference: a
healthy root subscriber receives every event published between the
attacks, with continuous seq and no EventsDropped.

Requests for other users' sessions (the rights work, issue 7 part 2): the
attacker sees and reaches only its own sessions, calls and user."""

import json
import time

from quotatest import NOBODY, SELF, QuotaTestCase

NS = "root/cimv2"
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
WBEM_ERROR = -32000
LEVELS = ("Sessions", "Sinks", "Registrations", "Filters", "PollTasks", "Sources", "Watches")
MAX_LINE = 64 * 1024

# Every method's params and their types (docs/protocol.md).
METHODS = {
    "Hello": {"client": "string", "keepalive_ms": "integer"},
    "Ping": {},
    "GetObject": {"namespace": "string", "path": "string"},
    "ExecQuery": {"namespace": "string", "query": "string"},
    "EnumInstances": {"namespace": "string", "class": "string", "deep": "boolean"},
    "EnumClasses": {"namespace": "string", "superclass": "string", "deep": "boolean"},
    "PutClass": {"namespace": "string", "class": "object"},
    "DeleteClass": {"namespace": "string", "class": "string"},
    "PutInstance": {"namespace": "string", "instance": "object"},
    "DeleteInstance": {"namespace": "string", "path": "string"},
    "ExecQueryAsync": {"namespace": "string", "query": "string", "sink": "string"},
    "ExecNotificationQueryAsync": {"namespace": "string", "query": "string", "sink": "string"},
    "CancelAsyncCall": {"sink": "string", "call": "integer"},
    "PublishEvent": {"namespace": "string", "event": "object"},
}
OPTIONAL = {("Hello", "client"), ("Hello", "keepalive_ms"), ("EnumInstances", "deep"),
            ("EnumClasses", "superclass"), ("EnumClasses", "deep")}
GOOD = {"string": "x", "integer": 1000, "boolean": True, "object": {"__CLASS": "T_Alarm"}}
WRONG = {
    "string": [1, -1, 1.5, True, None, [], {}, ["x"]],
    "integer": ["1000", 1.5, True, None, [], {}, 1e3],
    "boolean": [1, 0, "true", None, [], {}],
    "object": ["x", 1, True, None, [], [{}]],
}


def line(obj):
    return json.dumps(obj).encode() + b"\n"


class AdversarialTest(QuotaTestCase):
    config_text = "[quota:%d]\nregistrations = 100\n" % NOBODY
    extra_args = ("--max-line-bytes", str(MAX_LINE))

    def setUp(self):
        super().setUp()
        # the attackers may write and publish in root/cimv2, so that their
        # bad objects reach the parsers (rights are checked before the
        # method runs), and read root/lwmi (to ask for others' sessions)
        self.c.ok("GrantRights", namespace=NS, principal="user:%d" % NOBODY,
                  rights="write,publish")
        self.c.ok("GrantRights", namespace=SELF, principal="user:%d" % NOBODY, rights="read")
        # the healthy subscriber (root) and its expected seq
        self.watcher = self.root_client()
        self.watch_session = int(self.watcher.ok("Hello", client="watcher")["session"])
        self.watch_call = self.watcher.ok("ExecNotificationQueryAsync", namespace=NS, sink="w",
                                          query="SELECT * FROM T_Alarm")["call"]
        self.watch_seq = 0
        self.published = 0
        self.attackers = []
        self.before = self.daemon_figures()

    def attacker(self):
        """A raw client as uid 65534 (answers the server's Pings)."""
        c = self.nobody(hello=False)
        self.attackers.append(c)
        return c

    def check_watcher(self):
        """Publish one event: the healthy subscriber gets it, seq + 1."""
        self.published += 1
        self.c.ok("PublishEvent", namespace=NS,
                  event={"__CLASS": "T_Alarm", "Sev": self.published, "Source": "healthy"})
        note = self.watcher.take_notes(1)[0]
        self.assertEqual(note["method"], "Indicate", note)
        p = note["params"]
        self.assertEqual(p["call"], self.watch_call)
        self.assertEqual(p["seq"], self.watch_seq + 1, "a gap in the healthy subscriber's seq")
        self.watch_seq = p["seq"]
        self.assertEqual([o["Sev"] for o in p["objects"]], [self.published])

    def raw_reply(self, c, data):
        """Send raw bytes (one line); the one answer."""
        c.send_raw(data)
        return c.recv()

    def assert_error(self, reply, code, status=None, id=None):
        self.assertIn("error", reply, reply)
        self.assertEqual(reply["error"]["code"], code, reply)
        self.assertEqual(reply.get("id"), id, reply)
        if status:
            self.assertEqual(reply["error"]["data"]["status"], status, reply)
        self.assertIsInstance(reply["error"]["message"], str)
        self.assertGreater(len(reply["error"]["message"]), 10, reply)

    def assert_goes_on(self, c):
        self.assertEqual(c.ok("Ping"), {})

    def assert_nothing_leaked(self):
        """The attackers go: every level back where it was, their user's
        bucket gone, the watcher still served."""
        for c in self.attackers:
            c.close()
        self.wait_for(self.users, lambda u: str(NOBODY) not in u)

        def levels():
            fig = self.daemon_figures()
            return {k: fig[k] for k in LEVELS}
        want = {k: self.before[k] for k in LEVELS}
        self.wait_for(levels, lambda v: v == want)
        self.check_watcher()
        self.assertIsNone(self.daemon.proc.poll(), "lwmid exited")

    # ---- the attacks ------------------------------------------------------

    def test_deep_nesting(self):
        c = self.attacker()
        for depth in (3000, 30000):
            self.assert_error(self.raw_reply(c, b"[" * depth + b"]" * depth + b"\n"),
                              PARSE_ERROR, "WBEM_E_INVALID_PARAMETER")
            levels = max(depth // 3, 3000)
            nested = b'{"a":' * levels + b"1" + b"}" * levels
            self.assert_error(self.raw_reply(
                c, b'{"jsonrpc":"2.0","id":1,"method":"Ping","params":' + nested + b"}\n"),
                PARSE_ERROR)
            # unterminated: only the opening brackets
            self.assert_error(self.raw_reply(c, b"[" * depth + b"\n"), PARSE_ERROR)
        # within the parser's 2048 levels: parsed, then refused as params
        nested = b'{"a":' * 2000 + b"1" + b"}" * 2000
        self.assert_error(self.raw_reply(
            c, b'{"jsonrpc":"2.0","id":1,"method":"Ping","params":' + nested + b"}\n"),
            INVALID_PARAMS, id=1)
        self.assert_goes_on(c)
        # nesting the parser accepts, refused deeper in: embedded objects
        inner = {"__CLASS": "T_Alarm", "Sev": 1}
        for _ in range(200):
            inner = {"__CLASS": "T_Alarm", "Sev": 1, "Source": inner}
        r = c.rpc("PublishEvent", namespace=NS, event=inner)
        self.assertIn("error", r)
        self.assertIn(r["error"]["code"], (WBEM_ERROR, INVALID_PARAMS))
        self.assert_goes_on(c)
        self.check_watcher()
        self.assert_nothing_leaked()

    def test_huge_numbers(self):
        c = self.attacker()
        for number in (b"1e400", b"-1e400", b"99999999999999999999999999", b"1" * 5000,
                       b"9223372036854775808", b"-9223372036854775809", b"1" + b"0" * 400 + b".5"):
            self.assert_error(self.raw_reply(
                c, b'{"jsonrpc":"2.0","id":' + number + b',"method":"Ping"}\n'),
                PARSE_ERROR)
            r = self.raw_reply(c, b'{"jsonrpc":"2.0","id":7,"method":"Hello","params":'
                                  b'{"keepalive_ms":' + number + b"}}\n")
            self.assertIn("error", r)
            self.assertIn(r["error"]["code"], (PARSE_ERROR, INVALID_PARAMS))
        # numbers out of a property's range
        for sev in (2 ** 32, -1, 1e308, -1e308, 0.5, 2 ** 63 - 1, -(2 ** 63)):
            r = c.rpc("PublishEvent", namespace=NS, event={"__CLASS": "T_Alarm", "Sev": sev})
            self.assertIn("error", r, sev)
            self.assertEqual(r["error"]["code"], WBEM_ERROR)
            self.assertEqual(r["error"]["data"]["status"], "WBEM_E_TYPE_MISMATCH")
            self.assertIn("Sev", r["error"]["message"])
        # beyond 64 bits: the line does not parse (id null)
        r = self.raw_reply(c, line({"jsonrpc": "2.0", "id": 3, "method": "PublishEvent",
                                    "params": {"namespace": NS, "event": {
                                        "__CLASS": "T_Alarm", "Sev": 2 ** 64}}}))
        self.assert_error(r, PARSE_ERROR)
        for call in (0, -1, 2 ** 63 - 1):
            r = c.rpc("CancelAsyncCall", call=call)
            if "result" in r:
                self.assertEqual(r["result"]["cancelled"], 0)
            else:
                self.assertEqual(r["error"]["code"], INVALID_PARAMS)
        self.assert_goes_on(c)
        self.check_watcher()
        self.assert_nothing_leaked()

    def test_invalid_utf8(self):
        c = self.attacker()
        for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82",
                    b"\x80", b"\xfe\xfe\xff\xff"):
            self.assert_error(self.raw_reply(
                c, b'{"jsonrpc":"2.0","id":1,"method":"Ping' + bad + b'"}\n'),
                PARSE_ERROR, "WBEM_E_INVALID_PARAMETER")
            self.assert_error(self.raw_reply(
                c, b'{"jsonrpc":"2.0","id":2,"method":"ExecNotificationQueryAsync","params":'
                   b'{"namespace":"root/cimv2","sink":"s' + bad + b'","query":'
                   b'"SELECT * FROM T_Alarm"}}\n'), PARSE_ERROR)
            self.assert_error(self.raw_reply(c, bad + b"\n"), PARSE_ERROR)
        # lone surrogates written as escapes
        for esc in (b"\\ud800", b"\\udfff", b"\\ud800x"):
            r = self.raw_reply(c, b'{"jsonrpc":"2.0","id":3,"method":"Hello","params":'
                                  b'{"client":"' + esc + b'"}}\n')
            self.assertIn("error", r)
        self.assert_goes_on(c)
        self.check_watcher()
        self.assert_nothing_leaked()

    def test_nul_bytes(self):
        c = self.attacker()
        cases = [
            b'{"jsonrpc":"2.0",\x00"id":1,"method":"Ping"}\n',
            b'\x00{"jsonrpc":"2.0","id":1,"method":"Ping"}\n',
            b'{"jsonrpc":"2.0","id":1,"method":"Ping"}\x00\n',
            b'{"jsonrpc":"2.0","id":1,"method":"Pi\x00ng"}\n',
            b'{"jsonrpc":"2.0","id":1,"method":"Ping\\u0000"}\n',
            b'{"jsonrpc":"2.0","id":1,"method":"Hello","params":{"client":"a\\u0000b"}}\n',
            b'{"jsonrpc":"2.0","id":1,"method":"ExecNotificationQueryAsync","params":{"namespace":'
            b'"root/cimv2","sink":"s","query":"SELECT * FROM T_Alarm\\u0000 WHERE Sev = 1"}}\n',
            b'{"jsonrpc":"2.0","id":1,"method":"PublishEvent","params":{"namespace":"root/cimv2",'
            b'"event":{"__CLASS":"T_Alarm","Source":"a\\u0000b"}}}\n',
            b"\x00" * 1000 + b"\n",
        ]
        for data in cases:
            r = self.raw_reply(c, data)
            self.assert_error(r, PARSE_ERROR, "WBEM_E_INVALID_PARAMETER")
        self.assert_goes_on(c)
        self.assertEqual(self.users()[str(NOBODY)]["Registrations"], 0)
        self.check_watcher()
        self.assert_nothing_leaked()

    def test_overlong_lines(self):
        # a line over the limit: the error, then the connection closes
        for data in (b"x" * (MAX_LINE + 1) + b"\n",
                     b'{"jsonrpc":"2.0","id":1,"method":"Ping","params":{"a":"'
                     + b"y" * (2 * MAX_LINE) + b'"}}\n',
                     b"z" * (4 * MAX_LINE)):  # and no newline at all
            c = self.attacker()
            try:
                c.send_raw(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                r = c.recv()
            except ConnectionResetError:
                continue  # it may reset while we still write; the error was sent
            self.assert_error(r, INVALID_REQUEST, "WBEM_E_QUOTA_VIOLATION")
            self.assertIn(str(MAX_LINE), r["error"]["message"])
            self.assertTrue(c.at_eof())
            self.check_watcher()
        # a line exactly at the limit is read (and refused as JSON only)
        c = self.attacker()
        self.assert_error(self.raw_reply(c, b" " * (MAX_LINE - 1) + b"x\n"), PARSE_ERROR)
        self.assert_goes_on(c)
        self.assert_nothing_leaked()

    def test_wrong_types_in_every_field(self):
        c = self.attacker()
        # the envelope
        for msg in ({"jsonrpc": 2, "id": 1, "method": "Ping"},
                    {"jsonrpc": "1.0", "id": 1, "method": "Ping"},
                    {"jsonrpc": None, "id": 1, "method": "Ping"},
                    {"id": 1, "method": "Ping"},
                    {"jsonrpc": "2.0", "id": 1, "method": 5},
                    {"jsonrpc": "2.0", "id": 1, "method": None},
                    {"jsonrpc": "2.0", "id": 1, "method": ["Ping"]},
                    {"jsonrpc": "2.0", "id": 1, "method": "Ping", "params": "x"},
                    {"jsonrpc": "2.0", "id": 1, "method": "Ping", "params": 5},
                    {"jsonrpc": "2.0", "id": 1, "method": "Ping", "result": {}},
                    {"jsonrpc": "2.0", "method": "Ping", "error": {}},
                    ):
            r = self.raw_reply(c, line(msg))
            self.assertIn("error", r, msg)
            self.assertEqual(r["error"]["code"], INVALID_REQUEST, (msg, r))
        for bad_id in ([], {}, True, 1.5, [1]):
            r = self.raw_reply(c, line({"jsonrpc": "2.0", "id": bad_id, "method": "Ping"}))
            self.assert_error(r, INVALID_REQUEST)
        for text in (b"[]", b"[1,2]", b'"Ping"', b"42", b"null", b"true"):
            r = self.raw_reply(c, text + b"\n")
            self.assertIn(r["error"]["code"], (INVALID_REQUEST, PARSE_ERROR), text)
        r = c.rpc("NoSuchMethod")
        self.assertEqual(r["error"]["code"], METHOD_NOT_FOUND)
        # every param of every method, every wrong type
        n = 0
        for method, params in METHODS.items():
            for name, kind in params.items():
                for wrong in WRONG[kind]:
                    p = {k: GOOD[t] for k, t in params.items()}
                    if method == "CancelAsyncCall":
                        p = {}
                    p[name] = wrong
                    r = c.rpc(method, **p)
                    if wrong is None and (method, name) in OPTIONAL:
                        # null stands for an optional param not given
                        self.assertNotEqual(r.get("error", {}).get("code"), INVALID_PARAMS, r)
                        continue
                    self.assertIn("error", r, (method, name, wrong))
                    self.assertEqual(r["error"]["code"], INVALID_PARAMS, (method, name, wrong, r))
                    self.assertIn(name, r["error"]["message"], (method, name, r))
                    n += 1
            # an unknown param, and params as an array
            r = c.rpc(method, nonsense=1)
            self.assertEqual(r["error"]["code"], INVALID_PARAMS, (method, r))
            c.send({"jsonrpc": "2.0", "id": 99, "method": method, "params": [1, 2]})
            self.assertEqual(c.response(99)["error"]["code"], INVALID_PARAMS)
        self.assertGreater(n, 150)
        # wrong types inside objects: classes and instances
        for cls in ({"__CLASS": 5}, {"__CLASS": "X_Bad", "properties": []},
                    {"__CLASS": "X_Bad", "properties": {"P": {"type": "nosuchtype"}}},
                    {"__CLASS": "X_Bad", "properties": {"P": {"type": 5}}},
                    {"__CLASS": "X_Bad", "properties": {"P": {"type": "uint32", "key": "yes"}}},
                    {"__CLASS": "X_Bad", "__SUPERCLASS": 7},
                    {"__CLASS": "", "properties": {}}):
            r = c.rpc("PutClass", namespace=NS, **{"class": cls})
            self.assertIn("error", r, str(cls)[:200])
        for inst in ({"__CLASS": "T_Alarm", "Sev": "high"}, {"__CLASS": "T_Alarm", "Sev": [1]},
                     {"__CLASS": "T_Alarm", "Source": 5}, {"__CLASS": "T_Alarm", "Source": {}},
                     {"__CLASS": "T_Alarm", "Nope": 1}, {"__CLASS": None}, {}):
            r = c.rpc("PublishEvent", namespace=NS, event=inst)
            self.assertIn("error", r, inst)
        # garbage queries, paths, namespaces
        for q in ("", "SELECT", "SELECT * FROM", "SELECT * FROM T_Alarm WHERE (((((", "\x01",
                  "SELECT * FROM T_Alarm WHERE Sev = 'a" + "'" * 3, "x" * 5000):
            r = c.rpc("ExecNotificationQueryAsync", namespace=NS, sink="s", query=q)
            self.assertIn("error", r, q)
        for path in ("", ":", "T_Alarm.", 'T_Alarm.Sev="', "\\\\\\", "a" * 10000, "x=@=@"):
            r = c.rpc("GetObject", namespace=NS, path=path)
            self.assertIn("error", r, path)
        for ns in ("", "/", "root//cimv2", "../../etc", "root/" + "x" * 5000, "root\\cimv2"):
            r = c.rpc("ExecQuery", namespace=ns, query="SELECT * FROM T_Alarm")
            self.assertIn("error", r, ns)
        # responses nobody asked for, spoofed server ids
        for resp in ({"jsonrpc": "2.0", "id": "s:1", "result": {}},
                     {"jsonrpc": "2.0", "id": "s:999999999999999999999", "result": {}},
                     {"jsonrpc": "2.0", "id": 5, "error": {"code": 1, "message": "x"}},
                     {"jsonrpc": "2.0", "id": None, "result": 5}):
            c.send(resp)
        self.assert_goes_on(c)
        self.assertEqual(self.users()[str(NOBODY)]["Registrations"], 0)
        self.check_watcher()
        self.assert_nothing_leaked()

    def test_ten_thousand_registrations_past_the_quota(self):
        c = self.attacker()
        params = self.subscribe_params(10100, "flood")
        t0 = time.monotonic()
        replies = c.pipeline("ExecNotificationQueryAsync", params)
        ok = [r for r in replies if "result" in r]
        refused = [r for r in replies if "error" in r]
        self.assertEqual(len(ok), 100)
        self.assertEqual(len(refused), 10000)
        for r in refused[:50] + refused[-50:]:
            self.assert_quota_error(r, "registrations", 100)
        self.assertTrue(all(r["error"]["data"]["status"] == "WBEM_E_QUOTA_VIOLATION"
                            for r in refused))
        self.assertEqual(self.users()[str(NOBODY)]["Registrations"], 100)
        # logged once, not 10,000 times
        self.assertEqual(self.daemon.log_text().count("quota 'registrations' exceeded"), 1)
        self.check_watcher()
        # a second attacker of the same user gets nothing either; root does
        d = self.attacker()
        self.assert_quota_error(d.rpc("ExecNotificationQueryAsync", **params[0]),
                                "registrations")
        root = self.root_client()
        self.attackers.append(root)  # closed with them
        self.assertTrue(all("result" in r for r in root.pipeline(
            "ExecNotificationQueryAsync", self.subscribe_params(500, "root-sink"))))
        self.assert_goes_on(c)
        measured = time.monotonic() - t0
        self.assertLess(measured, 60)
        self.assert_nothing_leaked()

    def test_failed_calls_leave_no_sinks(self):
        # Regression: a subscription that failed left its (new) sink behind
        # for the session's life; bad queries under fresh sink ids grew the
        # session without bound.
        c = self.attacker()
        session = c.ok("Hello", client="sinks")["session"]
        replies = c.pipeline("ExecNotificationQueryAsync",
                             [dict(namespace=NS, sink="bad-%d" % k, query="SELECT * FROM Nope")
                              for k in range(2000)])
        self.assertTrue(all(r["error"]["data"]["status"] == "WBEM_E_INVALID_CLASS"
                            for r in replies))
        row = self.c.ok("ExecQuery", namespace="root/lwmi",
                        query="SELECT Sinks FROM LWMI_Session WHERE SessionId = %d" % int(session))
        self.assertEqual(row["objects"][0]["Sinks"], 0)
        self.check_watcher()
        self.assert_nothing_leaked()

    def test_other_users_sessions(self):
        # Requests for other users' sessions (the rights work): a peer
        # without admin on root/lwmi sees only its own sessions, calls and
        # user; asking for another's by key is refused without a word about
        # it; cancelling reaches only its own calls.
        c = self.attacker()
        mine = int(c.ok("Hello", client="attacker")["session"])
        own_call = c.ok("ExecNotificationQueryAsync", namespace=NS, sink="w",
                        query="SELECT * FROM T_Alarm WHERE Sev = 0")["call"]
        for cls, key in (("LWMI_Session", "SessionId"), ("LWMI_Registration", "SessionId")):
            rows = c.ok("ExecQuery", namespace=SELF, query="SELECT * FROM " + cls)["objects"]
            self.assertEqual({int(r[key]) for r in rows}, {mine}, cls)
            rows = c.ok("ExecQuery", namespace=SELF, query="SELECT * FROM %s WHERE %s = %d"
                        % (cls, key, self.watch_session))["objects"]
            self.assertEqual(rows, [], cls)
        users = c.ok("ExecQuery", namespace=SELF, query="SELECT * FROM LWMI_User")["objects"]
        self.assertEqual([u["User"] for u in users], [str(NOBODY)])
        for path in ("LWMI_Session.SessionId=%d" % self.watch_session,
                     "LWMI_Registration.Call=%d,SessionId=%d" % (self.watch_call,
                                                                 self.watch_session)):
            r = c.rpc("GetObject", namespace=SELF, path=path)
            self.assertEqual(r["error"]["data"]["status"], "WBEM_E_ACCESS_DENIED", r)
            self.assertNotIn("watcher", r["error"]["message"])
            self.assertNotIn("root-test", r["error"]["message"])
        # event queries on root/lwmi would poll every session: admin only
        r = c.rpc("ExecNotificationQueryAsync", namespace=SELF, sink="x",
                  query="SELECT * FROM __InstanceCreationEvent WITHIN 1 "
                        "WHERE TargetInstance ISA 'LWMI_Session'")
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_ACCESS_DENIED", r)
        # cancelling by the watcher's call id or sink reaches only its own
        self.assertEqual(c.ok("CancelAsyncCall", call=self.watch_call + 1000)["cancelled"], 0)
        self.assertEqual(c.ok("CancelAsyncCall", sink="w")["cancelled"], 1)
        self.assertEqual(own_call, 1)
        self.check_watcher()
        self.assert_nothing_leaked()
