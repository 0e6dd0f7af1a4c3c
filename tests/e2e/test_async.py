"""End-to-end tests of lwmid's asynchronous calls and events
(docs/protocol.md "Asynchronous methods"): ExecNotificationQueryAsync,
ExecQueryAsync, CancelAsyncCall and PublishEvent with the Indicate,
SetStatus and EventsDropped notifications, against a real daemon with raw
JSON clients; and the daemon's self-description in root/lwmi. See
lwmitest.py for the harness."""

import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import uuid

from lwmitest import Client, DaemonTestCase

NS = "root/cimv2"
WBEM_ERROR = -32000
INVALID_PARAMS = -32602

EVENT_CLASS = {"__CLASS": "T_Alarm", "__SUPERCLASS": "__ExtrinsicEvent",
               "properties": {"Sev": {"type": "uint32"},
                              "Source": {"type": "string"},
                              "Code": {"type": "sint32"}}}
ITEM_CLASS = {"__CLASS": "T_Item",
              "properties": {"Id": {"type": "uint32", "key": True},
                             "Name": {"type": "string"},
                             "Size": {"type": "uint32"}}}
SUB_ITEM_CLASS = {"__CLASS": "T_SubItem", "__SUPERCLASS": "T_Item",
                  "properties": {"Extra": {"type": "string"}}}


def request(id, method, **params):
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


class EventClient(Client):
    """A raw client that keeps the server's notifications (Indicate,
    SetStatus, EventsDropped) apart from the responses, in the order they
    came, and answers the server's Pings."""

    def __init__(self, path, timeout=20):
        super().__init__(path, timeout)
        self.notes = []      # notifications not yet taken
        self.order = []      # every message received: ("note", method) or ("response", id)
        self.responses = {}  # id -> response not yet taken
        self.next_id = 1

    def pump(self):
        """Read one message and file it."""
        m = self.recv()
        if "method" in m and "id" in m:
            # a server request: answer Pings
            self.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
            return
        if "method" in m:
            self.notes.append(m)
            self.order.append(("note", m["method"], m["params"].get("call")))
        else:
            self.responses[m["id"]] = m
            self.order.append(("response", m["id"], None))

    def send_request(self, method, params):
        id = self.next_id
        self.next_id += 1
        self.request(method, params, id)
        return id

    def response(self, id):
        while id not in self.responses:
            self.pump()
        return self.responses.pop(id)

    def rpc(self, method, **params):
        """The response to one request (notifications meanwhile are kept)."""
        return self.response(self.send_request(method, params))

    def ok(self, method, **params):
        r = self.rpc(method, **params)
        if "error" in r:
            raise AssertionError("%s failed: %r" % (method, r["error"]))
        return r["result"]

    def pipeline(self, method, params_list):
        """Many requests written in one go from a writer thread while the
        answers are read; returns the responses in request order."""
        first = self.next_id
        data = b"".join(json.dumps(request(first + k, method, **p)).encode() + b"\n"
                        for k, p in enumerate(params_list))
        self.next_id += len(params_list)
        t = threading.Thread(target=self.send_raw, args=(data,), daemon=True)
        t.start()
        replies = [self.response(first + k) for k in range(len(params_list))]
        t.join(30)
        return replies

    def take_notes(self, count, timeout=20):
        """Exactly the next count notifications (waiting for them)."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(timeout)
        while len(self.notes) < count:
            if time.monotonic() > deadline:
                raise AssertionError("only %d of %d notifications came" % (len(self.notes), count))
            self.pump()
        taken, self.notes = self.notes[:count], self.notes[count:]
        return taken

    def wait_note(self, pred, timeout=20):
        """The first notification (kept or to come) for which pred is
        true; the ones before it are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            for k, n in enumerate(self.notes):
                if pred(n):
                    self.notes = self.notes[k + 1:]
                    return n
            self.notes = []
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no such notification within %s s" % timeout)
            self.sock.settimeout(remaining)
            self.pump()

    def quiet(self, seconds=0.3):
        """No notification arrives within seconds."""
        self.sock.settimeout(seconds)
        try:
            while True:
                self.pump()
        except (TimeoutError, OSError):
            pass
        self.sock.settimeout(self.timeout)
        return not self.notes


class EventTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.event_client()

    def event_client(self):
        c = EventClient(self.daemon.socket_path)
        self.clients.append(c)
        return c

    def subscribe(self, query, sink="s", client=None, ns=NS):
        r = (client or self.c).ok("ExecNotificationQueryAsync", namespace=ns, query=query,
                                  sink=sink)
        self.assertIsInstance(r["call"], int)
        return r["call"]

    def sub_error(self, query, status, message_has=None, client=None):
        r = (client or self.c).rpc("ExecNotificationQueryAsync", namespace=NS, query=query,
                                   sink="s")
        self.assertIn("error", r, r)
        self.assertEqual(r["error"]["data"]["status"], status, r)
        if message_has:
            self.assertIn(message_has, r["error"]["message"])
        return r["error"]

    def daemon_counts(self, client=None):
        d = (client or self.c).ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")
        return {k: d[k] for k in ("Sessions", "Sinks", "Registrations", "Filters",
                                  "PollTasks", "Sources")}

    def wait_counts(self, want, client=None, timeout=10):
        """LWMI_Daemon's counts become want (a session that went away is
        released on the daemon's next turn)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.daemon_counts(client)
            if got == want or time.monotonic() > deadline:
                self.assertEqual(got, want)
                return
            time.sleep(0.02)


def matches(f, ev):
    """The Python reading of the filters test_many_registrations makes."""
    kind, a, b = f
    if kind == "eq":
        return ev["Sev"] == a
    if kind == "gt":
        return ev["Sev"] > a
    if kind == "src":
        return ev["Source"].lower() == a.lower()
    if kind == "like":
        return ev["Source"].startswith(a)
    if kind == "and":
        return ev["Sev"] == a and ev["Code"] < b
    if kind == "or":
        return ev["Sev"] == a or ev["Code"] == b
    if kind == "not":
        return not ev["Sev"] <= a
    if kind == "all":
        return True
    raise AssertionError(kind)


def wql(f):
    kind, a, b = f
    if kind == "src":
        # string equality ignores case, as WQL's does
        return "SELECT * FROM T_Alarm WHERE Source = '%s'" % (a.upper() if b else a)
    if kind == "like":
        return "SELECT * FROM T_Alarm WHERE Source LIKE '%s%%'" % a
    return {
        "eq": "SELECT * FROM T_Alarm WHERE Sev = %d",
        "gt": "SELECT * FROM T_Alarm WHERE Sev > %d",
        "and": "SELECT Sev FROM T_Alarm WHERE Sev = %d AND Code < %d",
        "or": "SELECT * FROM T_Alarm WHERE Sev = %d OR Code = %d",
        "not": "SELECT * FROM T_Alarm WHERE NOT Sev <= %d",
        "all": "SELECT * FROM T_Alarm",
    }[kind] % ((a, b) if kind in ("and", "or") else (a,) if kind != "all" else ())


class TestExtrinsic(EventTestCase):
    def setUp(self):
        super().setUp()
        self.c.ok("PutClass", namespace=NS, **{"class": EVENT_CLASS})

    def test_many_registrations_one_sink(self):
        """One sink, 1,000 registrations of different filters: each event
        reaches exactly the calls whose filter matches, one Indicate per
        (event, call), seq increasing by one per Indicate on the sink."""
        rng = random.Random(4)
        sources = ["disk", "net", "cpu", "mem", "disk2", "netlink"]
        filters = []
        for k in range(1000):
            kind = rng.choice(["eq", "eq", "eq", "gt", "src", "like", "and", "or", "not", "all"])
            if kind == "all" and any(f[0] == "all" for f in filters):
                kind = "eq"
            a = rng.randrange(0, 100)
            if kind in ("src", "like"):
                a = rng.choice(sources)
            b = rng.randrange(-50, 50) if kind in ("and", "or") else (k % 2)
            filters.append((kind, a, b))
        replies = self.c.pipeline("ExecNotificationQueryAsync",
                                  [{"namespace": NS, "query": wql(f), "sink": "many"}
                                   for f in filters])
        calls = []
        for r in replies:
            self.assertIn("result", r, r)
            calls.append(r["result"]["call"])
        self.assertEqual(len(set(calls)), 1000)
        call_filter = dict(zip(calls, filters))

        # published by another connection; this one reads as it goes (a
        # consumer that does not read would lose events to its backlog)
        publisher = self.event_client()
        seq = 0
        for n in range(150):
            ev = {"__CLASS": "T_Alarm", "Sev": rng.randrange(0, 100),
                  "Source": rng.choice(sources), "Code": rng.randrange(-60, 60)}
            want = sorted(c for c in calls if matches(call_filter[c], ev))
            r = publisher.ok("PublishEvent", namespace=NS, event=ev)
            self.assertEqual(r["delivered"], len(want), (ev, want))
            got = []
            for note in self.c.take_notes(len(want)):
                p = note["params"]
                self.assertEqual(note["method"], "Indicate")
                self.assertEqual(p["sink"], "many")
                seq += 1
                self.assertEqual(p["seq"], seq)
                self.assertEqual(len(p["objects"]), 1)
                o = p["objects"][0]
                self.assertEqual(o["__CLASS"], "T_Alarm")
                self.assertEqual(o["Sev"], ev["Sev"])
                # a select list leaves the other properties out
                if call_filter[p["call"]][0] == "and":
                    self.assertNotIn("Source", o)
                else:
                    self.assertEqual((o["Source"], o["Code"]), (ev["Source"], ev["Code"]))
                got.append(p["call"])
            self.assertEqual(sorted(got), want, ev)
        self.assertGreater(seq, 1000)
        self.assertTrue(self.c.quiet())

    def test_select_list_and_time_created(self):
        call = self.subscribe("SELECT Sev, TIME_CREATED FROM T_Alarm WHERE Source = 'x'")
        self.c.ok("PublishEvent", namespace=NS,
                  event={"__CLASS": "T_Alarm", "Sev": 5, "Source": "x", "Code": 1})
        (n,) = self.c.take_notes(1)
        o = n["params"]["objects"][0]
        self.assertEqual(n["params"]["call"], call)
        self.assertEqual(o["Sev"], 5)
        self.assertNotIn("Code", o)
        # TIME_CREATED is set by the server (uint64: a string)
        self.assertGreater(int(o["TIME_CREATED"]), 0)

    def test_publish_errors(self):
        r = self.c.rpc("PublishEvent", namespace=NS,
                       event={"__CLASS": "Linux_OperatingSystem"})
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_INVALID_CLASS")
        self.assertIn("extrinsic", r["error"]["message"])
        r = self.c.rpc("PublishEvent", namespace=NS, event={"__CLASS": "T_Nope"})
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_INVALID_CLASS")
        r = self.c.rpc("PublishEvent", namespace=NS, event={"__CLASS": "T_Alarm", "Sev": "x"})
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_TYPE_MISMATCH")
        r = self.c.rpc("PublishEvent", namespace=NS)
        self.assertEqual(r["error"]["code"], INVALID_PARAMS)
        # nobody listening: delivered 0
        self.assertEqual(self.c.ok("PublishEvent", namespace=NS,
                                   event={"__CLASS": "T_Alarm", "Sev": 1})["delivered"], 0)

    def test_cancel_by_call_and_by_sink(self):
        base = self.daemon_counts()
        c1 = self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 1", sink="a")
        c2 = self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 2", sink="a")
        c3 = self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 3", sink="a")
        c4 = self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 1", sink="b")
        counts = self.daemon_counts()
        self.assertEqual(counts["Registrations"], base["Registrations"] + 4)
        self.assertEqual(counts["Filters"], base["Filters"] + 3)  # Sev = 1 is shared
        self.assertEqual(counts["Sinks"], base["Sinks"] + 2)

        # one call: SetStatus, then the response saying 1
        self.c.order = []
        r = self.c.ok("CancelAsyncCall", call=c2)
        self.assertEqual(r, {"cancelled": 1})
        (n,) = self.c.take_notes(1)
        self.assertEqual(n["method"], "SetStatus")
        self.assertEqual(n["params"], {"sink": "a", "call": c2,
                                       "status": "WBEM_E_CALL_CANCELLED",
                                       "message": n["params"]["message"]})
        self.assertEqual([o[0] for o in self.c.order], ["note", "response"])
        counts = self.daemon_counts()
        self.assertEqual(counts["Registrations"], base["Registrations"] + 3)
        self.assertEqual(counts["Filters"], base["Filters"] + 2)
        # gone: a second cancel finds nothing
        self.assertEqual(self.c.ok("CancelAsyncCall", call=c2), {"cancelled": 0})

        # the sink: each of its calls, then the response; b is untouched
        self.c.order = []
        self.assertEqual(self.c.ok("CancelAsyncCall", sink="a"), {"cancelled": 2})
        notes = self.c.take_notes(2)
        self.assertEqual(sorted(n["params"]["call"] for n in notes), sorted([c1, c3]))
        for n in notes:
            self.assertEqual(n["method"], "SetStatus")
            self.assertEqual(n["params"]["status"], "WBEM_E_CALL_CANCELLED")
        self.assertEqual([o[0] for o in self.c.order], ["note", "note", "response"])
        counts = self.daemon_counts()
        self.assertEqual(counts["Registrations"], base["Registrations"] + 1)
        self.assertEqual(counts["Filters"], base["Filters"] + 1)
        self.c.ok("PublishEvent", namespace=NS, event={"__CLASS": "T_Alarm", "Sev": 1})
        (n,) = self.c.take_notes(1)
        self.assertEqual((n["method"], n["params"]["call"], n["params"]["seq"]),
                         ("Indicate", c4, 1))

        self.assertEqual(self.c.ok("CancelAsyncCall", sink="b"), {"cancelled": 1})
        self.c.take_notes(1)
        self.assertEqual(self.c.ok("CancelAsyncCall", sink="never"), {"cancelled": 0})
        counts = self.daemon_counts()
        # the sinks stay (and so would their seq) for the session's life
        self.assertEqual(counts, dict(base, Sinks=base["Sinks"] + 2))

    def test_cancel_params(self):
        for params, fragment in (({}, "neither"), ({"sink": "a", "call": 1}, "both"),
                                 ({"call": 0}, "call"), ({"call": "1"}, "call"),
                                 ({"sink": ""}, "empty"), ({"sink": "x" * 300}, "sink")):
            r = self.c.rpc("CancelAsyncCall", **params)
            self.assertEqual(r["error"]["code"], INVALID_PARAMS, r)
            self.assertIn(fragment, r["error"]["message"])

    def test_disconnect_releases_everything(self):
        base = self.daemon_counts()
        other = self.event_client()
        self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 7", sink="x", client=other)
        self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 8", sink="y", client=other)
        self.subscribe("SELECT * FROM __InstanceCreationEvent WITHIN 1 "
                       "WHERE TargetInstance ISA 'LWMI_Session'", sink="x", client=other,
                       ns="root/lwmi")
        counts = self.daemon_counts()
        self.assertEqual(counts["Sessions"], base["Sessions"] + 1)
        self.assertEqual(counts["Registrations"], base["Registrations"] + 3)
        self.assertEqual(counts["PollTasks"], base["PollTasks"] + 1)
        other.close()
        self.wait_counts(base)
        log = self.daemon.log_text()
        self.assertIn(" registrations=3 ", log)


class TestIntrinsic(EventTestCase):
    def setUp(self):
        super().setUp()
        for cls in (ITEM_CLASS, SUB_ITEM_CLASS):
            self.c.ok("PutClass", namespace=NS, **{"class": cls})
        self.writer = self.event_client()

    def put(self, **props):
        cls = props.pop("cls", "T_Item")
        self.writer.ok("PutInstance", namespace=NS, instance=dict(props, __CLASS=cls))

    def test_creation_modification_deletion(self):
        ops = self.subscribe("SELECT * FROM __InstanceOperationEvent "
                             "WHERE TargetInstance ISA 'T_Item'", sink="ops")
        grew = self.subscribe("SELECT * FROM __InstanceModificationEvent "
                              "WHERE TargetInstance ISA 'T_Item' "
                              "AND TargetInstance.Size > PreviousInstance.Size", sink="grew")
        named = self.subscribe("SELECT * FROM __InstanceCreationEvent "
                               "WHERE TargetInstance ISA 'T_Item' "
                               "AND TargetInstance.Name = 'wanted'", sink="named")
        gone = self.subscribe("SELECT * FROM __InstanceDeletionEvent "
                              "WHERE TargetInstance ISA 'T_SubItem'", sink="gone")

        self.put(Id=1, Name="wanted", Size=10)
        self.put(Id=1, Name="wanted", Size=20)   # grew
        self.put(Id=1, Name="wanted", Size=5)    # shrank
        self.put(Id=2, Name="other", Size=1, cls="T_SubItem", Extra="e")
        self.writer.ok("DeleteInstance", namespace=NS, path="T_Item.Id=1")
        self.writer.ok("DeleteInstance", namespace=NS, path="T_SubItem.Id=2")

        notes = self.c.take_notes(6 + 1 + 1 + 1)
        self.assertTrue(self.c.quiet())
        by_call = {}
        for n in notes:
            self.assertEqual(n["method"], "Indicate")
            by_call.setdefault(n["params"]["call"], []).append(n["params"]["objects"][0])
        kinds = [o["__CLASS"] for o in by_call[ops]]
        self.assertEqual(kinds, ["__InstanceCreationEvent", "__InstanceModificationEvent",
                                 "__InstanceModificationEvent", "__InstanceCreationEvent",
                                 "__InstanceDeletionEvent", "__InstanceDeletionEvent"])
        mod = by_call[ops][1]
        self.assertEqual(mod["TargetInstance"]["Size"], 20)
        self.assertEqual(mod["PreviousInstance"]["Size"], 10)
        self.assertEqual(mod["TargetInstance"]["__CLASS"], "T_Item")
        self.assertNotIn("PreviousInstance", by_call[ops][0])  # a creation has none
        (g,) = by_call[grew]
        self.assertEqual((g["PreviousInstance"]["Size"], g["TargetInstance"]["Size"]), (10, 20))
        (w,) = by_call[named]
        self.assertEqual(w["TargetInstance"]["Id"], 1)
        (d,) = by_call[gone]
        self.assertEqual(d["TargetInstance"]["__CLASS"], "T_SubItem")
        self.assertEqual(d["TargetInstance"]["Extra"], "e")
        # seq per sink: each of these sinks saw 1.. in order
        for sink in ("ops", "grew", "named", "gone"):
            seqs = [n["params"]["seq"] for n in notes if n["params"]["sink"] == sink]
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)))

    def test_query_errors(self):
        e = self.sub_error("SELECT * FROM __InstanceCreationEvent", "WBEM_E_INVALID_QUERY",
                           "TargetInstance ISA")
        e = self.sub_error("SELECT * FROM T_Item", "WBEM_E_INVALID_QUERY_TYPE", "ExecQuery")
        e = self.sub_error("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                           "'T_Item' AND TargetInstance.Nmae = 1", "WBEM_E_INVALID_QUERY",
                           "Nmae")
        self.assertIn("line", e["data"])
        self.sub_error("SELECT * FROM T_Nothing", "WBEM_E_INVALID_CLASS")
        self.sub_error("SELEC * FROM T_Item", "WBEM_E_INVALID_QUERY")
        r = self.c.rpc("ExecNotificationQueryAsync", namespace="root/none",
                       query="SELECT * FROM T_Alarm", sink="s")
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_INVALID_NAMESPACE")
        # nothing was registered
        self.assertEqual(self.daemon_counts()["Registrations"], 0)

    def test_class_deleted_ends_calls(self):
        call = self.subscribe("SELECT * FROM __InstanceCreationEvent "
                              "WHERE TargetInstance ISA 'T_SubItem'")
        self.writer.ok("DeleteClass", namespace=NS, **{"class": "T_SubItem"})
        (n,) = self.c.take_notes(1)
        self.assertEqual(n["method"], "SetStatus")
        self.assertEqual(n["params"]["call"], call)
        self.assertEqual(n["params"]["status"], "WBEM_E_INVALID_CLASS")
        self.assertIn("T_SubItem", n["params"]["message"])
        self.assertEqual(self.daemon_counts()["Registrations"], 0)


class TestPolling(EventTestCase):
    # polling of Linux_Process, whatever the daemon's privileges (native
    # process events: test_proc_events.py)
    daemon_args = ("--no-proc-connector",)

    def test_process_creation_and_deletion(self):
        """A spawned sleep with a unique argument is caught by a WITHIN 1
        creation query on Linux_Process, and its exit by the deletion
        query."""
        base = self.daemon_counts()
        marker = "%d.%s" % (os.getpid(), uuid.uuid4().int % 10**9)
        created = self.subscribe(
            "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
            "'Linux_Process' AND TargetInstance.CommandLine LIKE '%%%s%%'" % marker, sink="p")
        deleted = self.subscribe(
            "SELECT * FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance ISA "
            "'Linux_Process' AND TargetInstance.CommandLine LIKE '%%%s%%'" % marker, sink="p")
        # one poll task for both (same class and interval)
        self.assertEqual(self.daemon_counts()["PollTasks"], base["PollTasks"] + 1)
        proc = subprocess.Popen(["sleep", "1000" + marker])
        try:
            n = self.c.wait_note(lambda n: n["method"] == "Indicate", timeout=10)
            self.assertEqual(n["params"]["call"], created)
            target = n["params"]["objects"][0]["TargetInstance"]
            self.assertEqual(target["ProcessId"], proc.pid)
            self.assertIn(marker, target["CommandLine"])
        finally:
            proc.kill()
            proc.wait()
        n = self.c.wait_note(lambda n: n["method"] == "Indicate", timeout=10)
        self.assertEqual(n["params"]["call"], deleted)
        self.assertEqual(n["params"]["objects"][0]["__CLASS"], "__InstanceDeletionEvent")
        self.assertEqual(n["params"]["objects"][0]["TargetInstance"]["ProcessId"], proc.pid)
        self.assertEqual(self.c.ok("CancelAsyncCall", sink="p"), {"cancelled": 2})
        self.c.take_notes(2)
        self.assertEqual(self.daemon_counts(), dict(base, Sinks=base["Sinks"] + 1))

    def test_within_needed(self):
        e = self.sub_error("SELECT * FROM __InstanceCreationEvent "
                           "WHERE TargetInstance ISA 'Linux_Process'", "WBEM_E_INVALID_QUERY",
                           "WITHIN")
        self.assertIn("the process event source (the kernel's proc connector) is turned off",
                      e["message"])

    def test_within_below_minimum(self):
        e = self.sub_error("SELECT * FROM __InstanceCreationEvent WITHIN 0.1 "
                           "WHERE TargetInstance ISA 'Linux_Process'", "WBEM_E_INVALID_QUERY",
                           "minimum")
        self.assertIn("0.5", e["message"])
        self.assertEqual((e["data"]["line"], e["data"]["column"]), (1, 39))
        self.subscribe("SELECT * FROM __InstanceCreationEvent WITHIN 0.5 "
                       "WHERE TargetInstance ISA 'Linux_Process'")

    def test_self_description_watched(self):
        """LWMI_Session is watched like any class: a new connection is a
        creation, its end a deletion."""
        self.subscribe("SELECT * FROM __InstanceOperationEvent WITHIN 0.5 "
                       "WHERE TargetInstance ISA 'LWMI_Session' "
                       "AND TargetInstance.ClientName = 'watched'", sink="w", ns="root/lwmi")
        other = self.event_client()
        hello = other.ok("Hello", client="watched")
        n = self.c.wait_note(lambda n: n["method"] == "Indicate")
        ev = n["params"]["objects"][0]
        self.assertEqual(ev["__CLASS"], "__InstanceCreationEvent")
        self.assertEqual(int(ev["TargetInstance"]["SessionId"]), hello["session"])
        other.close()
        n = self.c.wait_note(lambda n: n["method"] == "Indicate")
        self.assertEqual(n["params"]["objects"][0]["__CLASS"], "__InstanceDeletionEvent")


class TestMinWithinSetting(EventTestCase):
    daemon_args = ("--min-within-ms", "2000")

    def test_setting(self):
        self.sub_error("SELECT * FROM __InstanceCreationEvent WITHIN 1 "
                           "WHERE TargetInstance ISA 'Linux_Process'", "WBEM_E_INVALID_QUERY",
                           "minimum polling interval of 2 seconds")
        self.subscribe("SELECT * FROM __InstanceCreationEvent WITHIN 2 "
                       "WHERE TargetInstance ISA 'Linux_Process'")


class TestReaderKeepsUp(EventTestCase):
    """A consumer that reads all the time loses nothing while another
    session publishes as fast as it can: lwmid writes to a consumer per loop
    turn at least what one turn of publishing raises for it (a regression:
    with libevent's default of 16 KiB per write and 256 pipelined requests
    handled per turn, the backlog grew every turn and a fast reader lost
    about 40% of the events here)."""
    daemon_args = ("--max-backlog-bytes", "2M")

    def test_fast_reader_loses_nothing(self):
        self.c.ok("PutClass", namespace=NS, **{"class": EVENT_CLASS})
        consumer = self.event_client()
        call = self.subscribe("SELECT * FROM T_Alarm", sink="fast", client=consumer)
        n = 6000
        source = "x" * 500  # some 600 bytes an event: 3.6 MB in all
        done = threading.Event()
        received = bytearray(consumer.buf)
        consumer.buf = b""

        # The reader only takes bytes (recv lets go of the GIL; parsing
        # here would make the test's own thread the slow consumer on a
        # busy machine); the lines are parsed afterwards.
        def read():
            consumer.sock.settimeout(1.0)
            while True:
                try:
                    data = consumer.sock.recv(1 << 20)
                except (socket.timeout, TimeoutError):
                    if done.is_set():
                        return
                    continue
                if not data:
                    return
                received.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            replies = self.c.pipeline("PublishEvent", [
                {"namespace": NS, "event": {"__CLASS": "T_Alarm", "Sev": k, "Source": source}}
                for k in range(n)])
        finally:
            done.set()
            reader.join(60)
        self.assertFalse(reader.is_alive())
        self.assertTrue(all(r["result"]["delivered"] == 1 for r in replies))
        notes = [json.loads(line) for line in bytes(received).split(b"\n") if line]
        dropped = sum(m["params"]["count"] for m in notes if m.get("method") == "EventsDropped")
        sevs = [o["Sev"] for m in notes if m.get("method") == "Indicate"
                for o in m["params"]["objects"]]
        self.assertTrue(all(m["params"]["call"] == call for m in notes
                            if m.get("method") == "Indicate"))
        self.assertEqual(len(sevs) + dropped, n)
        self.assertEqual(sevs, sorted(set(sevs)))
        # Nothing is dropped while the reader keeps up. On a busy machine
        # the reader itself may wait for a CPU long enough for the budget
        # to fill once (up to 13% dropped with three CPU burners on two
        # CPUs), so some is tolerated; before the fix about 40% of the
        # events were dropped here, on a quiet machine.
        self.assertLess(dropped, n // 4, "%d of %d events dropped for a reading consumer"
                        % (dropped, n))


class TestBacklog(EventTestCase):
    """--max-backlog-bytes: a consumer that does not read loses the events
    over its budget, every one of them reported, and nothing else."""
    daemon_args = ("--max-backlog-bytes", "64K")

    def test_drops_reported_exactly(self):
        self.c.ok("PutClass", namespace=NS, **{"class": EVENT_CLASS})
        consumer = self.event_client()
        # the kernel holds little of what is not read: lwmid's queue fills
        consumer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        call = self.subscribe("SELECT * FROM T_Alarm", sink="slow", client=consumer)
        before = self.c.ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")
        n = 1500
        source = "x" * 500
        replies = self.c.pipeline("PublishEvent", [
            {"namespace": NS, "event": {"__CLASS": "T_Alarm", "Sev": k, "Source": source}}
            for k in range(n)])
        self.assertTrue(all(r["result"]["delivered"] == 1 for r in replies))
        after = self.c.ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")
        dropped = int(after["EventsDropped"]) - int(before["EventsDropped"])
        # 1500 events of 800 bytes cannot all wait in 64 KiB (and the
        # kernel's small buffers)
        self.assertGreater(dropped, 0)
        # a request while over the budget is answered all the same
        ping = consumer.send_request("Ping", {})

        seq, sevs, reported = 0, [], []
        consumer.quiet(1.0)  # everything there is, until a second passes without
        for m in consumer.notes:
            p = m["params"]
            if m["method"] == "Indicate":
                self.assertEqual(p["call"], call)
                self.assertEqual(p["seq"], seq + 1, "a gap not reported")
                seq = p["seq"]
                sevs += [o["Sev"] for o in p["objects"]]
            else:
                self.assertEqual(m["method"], "EventsDropped")
                self.assertEqual(p["sink"], "slow")
                self.assertEqual(p["first_seq"], seq + 1)
                self.assertEqual(p["last_seq"], p["first_seq"] + p["count"] - 1)
                seq = p["last_seq"]
                reported.append(p["count"])
        consumer.notes = []
        self.assertIn("result", consumer.response(ping))
        # the consumer read nothing meanwhile: a first part came, the rest
        # was dropped and reported. (Usually in one range; lwmid handles
        # up to 256 pipelined requests a turn, so the budget can fill
        # before its first write to the kernel, which then takes what
        # was queued: a second run of events may come before the kernel's
        # buffer is full. Every range is reported, exactly.)
        self.assertEqual(sevs[0], 0)
        self.assertEqual(sevs, sorted(set(sevs)))
        self.assertEqual(sum(reported), dropped)
        self.assertGreaterEqual(len(reported), 1)
        self.assertEqual(len(sevs) + dropped, n)
        # and events flow again, with the next seq
        self.c.ok("PublishEvent", namespace=NS, event={"__CLASS": "T_Alarm", "Sev": 7})
        m = consumer.take_notes(1)[0]
        self.assertEqual(m["method"], "Indicate")
        self.assertEqual(m["params"]["seq"], seq + 1)
        self.assertEqual(m["params"]["objects"][0]["Sev"], 7)

    def test_responses_do_not_count(self):
        """Responses far over the budget waiting in the consumer's queue do
        not make its events dropped."""
        self.c.ok("PutClass", namespace=NS, **{"class": EVENT_CLASS})
        consumer = self.event_client()
        consumer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        call = self.subscribe("SELECT * FROM T_Alarm", sink="s", client=consumer)
        # 8 Pings whose ids make 400 KB of responses, not read yet
        big = ["p%d-" % k + "y" * 50000 for k in range(8)]
        consumer.send_raw(b"".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "Ping"}).encode()
                                   + b"\n" for i in big))
        time.sleep(0.5)
        before = self.c.ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")
        self.c.ok("PublishEvent", namespace=NS, event={"__CLASS": "T_Alarm", "Sev": 1})
        after = self.c.ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")
        self.assertEqual(after["EventsDropped"], before["EventsDropped"])
        for i in big:
            self.assertIn("result", consumer.response(i))
        m = consumer.take_notes(1)[0]
        self.assertEqual(m["method"], "Indicate")
        self.assertEqual((m["params"]["call"], m["params"]["seq"]), (call, 1))
        self.assertTrue(consumer.quiet())


class TestQueryAsync(EventTestCase):
    def test_thousand_instances_in_order(self):
        self.c.ok("PutClass", namespace=NS, **{"class": ITEM_CLASS})
        replies = self.c.pipeline("PutInstance", [
            {"namespace": NS, "instance": {"__CLASS": "T_Item", "Id": i, "Name": "n%d" % i,
                                           "Size": i % 7}} for i in range(1000)])
        self.assertTrue(all("result" in r for r in replies))
        base = self.daemon_counts()
        self.c.order = []
        id = self.c.send_request("ExecQueryAsync",
                                 {"namespace": NS, "query": "SELECT Name FROM T_Item",
                                  "sink": "q"})
        call = self.c.response(id)["result"]["call"]
        objects, seq = [], 0
        while True:
            (n,) = self.c.take_notes(1)
            if n["method"] == "SetStatus":
                break
            self.assertEqual(n["method"], "Indicate")
            seq += 1
            self.assertEqual((n["params"]["sink"], n["params"]["call"], n["params"]["seq"]),
                             ("q", call, seq))
            self.assertLessEqual(len(n["params"]["objects"]), 64)
            objects += n["params"]["objects"]
        self.assertEqual(n["params"], {"sink": "q", "call": call, "status": "WBEM_S_NO_ERROR",
                                       "message": n["params"]["message"]})
        self.assertEqual(sorted(o["Id"] for o in objects), list(range(1000)))
        self.assertTrue(all(set(o) >= {"Id", "Name", "__PATH"} and "Size" not in o
                            for o in objects))
        # response first, the Indicates, the SetStatus last
        kinds = [o[0] for o in self.c.order]
        self.assertEqual(kinds[0], "response")
        self.assertEqual(kinds[1:], ["note"] * (seq + 1))
        self.assertEqual(self.daemon_counts(), dict(base, Sinks=base["Sinks"] + 1))

    def test_errors(self):
        r = self.c.rpc("ExecQueryAsync", namespace=NS, query="SELECT * FROM T_None", sink="q")
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_INVALID_CLASS")
        r = self.c.rpc("ExecQueryAsync", namespace=NS, query="SELECT * FROM Linux_Process",
                       sink="")
        self.assertEqual(r["error"]["code"], INVALID_PARAMS)

    def test_other_requests_go_on(self):
        """A large ExecQueryAsync does not hold up the session's other
        requests: a Ping sent after it is answered before its SetStatus."""
        self.c.ok("PutClass", namespace=NS, **{"class": ITEM_CLASS})
        self.c.pipeline("PutInstance", [
            {"namespace": NS, "instance": {"__CLASS": "T_Item", "Id": i}} for i in range(5000)])
        self.c.order = []
        q = self.c.send_request("ExecQueryAsync", {"namespace": NS,
                                                   "query": "SELECT * FROM T_Item", "sink": "q"})
        p = self.c.send_request("Ping", {})
        self.c.response(q)
        self.c.response(p)
        self.c.wait_note(lambda n: n["method"] == "SetStatus")
        ping_at = self.c.order.index(("response", p, None))
        status_at = max(k for k, o in enumerate(self.c.order) if o[1] == "SetStatus")
        self.assertLess(ping_at, status_at)


    def test_half_close_gets_the_results(self):
        """A client that shuts down its sending side after ExecQueryAsync
        still gets every batch and the SetStatus; then the server closes."""
        self.c.ok("PutClass", namespace=NS, **{"class": ITEM_CLASS})
        self.c.pipeline("PutInstance", [
            {"namespace": NS, "instance": {"__CLASS": "T_Item", "Id": i}} for i in range(3000)])
        self.c.ok("PutClass", namespace=NS, **{"class": EVENT_CLASS})
        self.subscribe("SELECT * FROM T_Alarm")
        q = self.c.send_request("ExecQueryAsync", {"namespace": NS,
                                                   "query": "SELECT * FROM T_Item", "sink": "q"})
        self.c.sock.shutdown(socket.SHUT_WR)
        call = self.c.response(q)["result"]["call"]
        n = self.c.wait_note(lambda n: n["method"] == "SetStatus")
        self.assertEqual((n["params"]["call"], n["params"]["status"]), (call, "WBEM_S_NO_ERROR"))
        self.assertTrue(self.c.at_eof())
        # its event registration went with the session
        self.wait_counts({"Sessions": 1, "Sinks": 0, "Registrations": 0, "Filters": 0,
                          "PollTasks": 0, "Sources": 0}, client=self.event_client())


class TestShutdown(EventTestCase):
    def test_sigterm_sends_shutting_down(self):
        self.c.ok("PutClass", namespace=NS, **{"class": EVENT_CLASS})
        call = self.subscribe("SELECT * FROM T_Alarm")
        self.daemon.proc.send_signal(signal.SIGTERM)
        (n,) = self.c.take_notes(1)
        self.assertEqual(n["method"], "SetStatus")
        self.assertEqual(n["params"]["call"], call)
        self.assertEqual(n["params"]["status"], "WBEM_E_SHUTTING_DOWN")
        self.assertTrue(self.c.at_eof())
        self.assertEqual(self.daemon.wait_exit(10), 0)
