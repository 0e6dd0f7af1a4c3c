"""End-to-end tests of lwmid's self-description in root/lwmi
(docs/providers.md "The daemon itself"): LWMI_Daemon, LWMI_Session and
LWMI_Registration read with GetObject and ExecQuery, watched with WITHIN,
and their figures following what clients do (registrations made and
cancelled, events delivered and dropped, sessions that end); and the
command `lwmi stats` that prints them. Raw JSON clients from test_async.py,
the lwmi binary as in test_cli.py; see lwmitest.py for the harness."""

import json
import time

from test_async import EVENT_CLASS, NS, EventTestCase
from test_cli import EXIT_OK, EXIT_USAGE, CliTestCase

SELF = "root/lwmi"


def u64(v):
    """A uint64 property arrives as a decimal string, a uint32 as a number."""
    return int(v)


class IntrospectCase(EventTestCase):
    def setUp(self):
        super().setUp()
        self.c.ok("PutClass", namespace=NS, **{"class": EVENT_CLASS})

    def lwmid_figures(self, client=None):
        return (client or self.c).ok("GetObject", namespace=SELF, path="LWMI_Daemon=@")

    def query(self, wql, client=None):
        return (client or self.c).ok("ExecQuery", namespace=SELF, query=wql)["objects"]

    def consumer(self, name="consumer"):
        """A new client that said Hello with a name; its session id."""
        c = self.event_client()
        session = c.ok("Hello", client=name)["session"]
        return c, int(session)

    def session(self, session_id, client=None):
        rows = self.query("SELECT * FROM LWMI_Session WHERE SessionId = %d" % session_id,
                          client)
        return rows[0] if rows else None

    def registrations(self, session_id, client=None):
        rows = self.query("SELECT * FROM LWMI_Registration WHERE SessionId = %d" % session_id,
                          client)
        return {u64(r["Call"]): r for r in rows}

    def publish(self, sev, text="x", client=None):
        r = (client or self.c).ok("PublishEvent", namespace=NS,
                                  event={"__CLASS": "T_Alarm", "Sev": sev, "Source": text,
                                         "Code": 0})
        return r["delivered"]

    def wait_for(self, what, pred, timeout=10):
        """what() until pred(value); the last value."""
        deadline = time.monotonic() + timeout
        while True:
            v = what()
            if pred(v):
                return v
            if time.monotonic() > deadline:
                self.fail("condition not met within %s s; last value %r" % (timeout, v))
            time.sleep(0.02)


class TestIntrospection(IntrospectCase):
    def test_registrations_listed(self):
        """N registrations: Registrations = N on the session and the
        daemon, and N LWMI_Registration rows with their query and sink."""
        base = self.lwmid_figures()
        cons, sid = self.consumer()
        queries = {}
        for k in range(7):
            sink = "a" if k % 2 == 0 else "b"
            q = "SELECT * FROM T_Alarm WHERE Sev = %d" % k
            call = self.subscribe(q, sink=sink, client=cons)
            queries[call] = (sink, q)
        s = self.session(sid)
        self.assertEqual(s["ClientName"], "consumer")
        self.assertEqual((s["Registrations"], s["Sinks"]), (7, 2))
        self.assertEqual(s["Peer"], "unix pid %d" % s["ProcessId"])
        self.assertEqual(u64(s["BacklogBytes"]), 0)
        self.assertLessEqual(s["ConnectedSince"], s["LastHeardFrom"])
        regs = self.registrations(sid)
        self.assertEqual(set(regs), set(queries))
        for call, r in regs.items():
            self.assertEqual((r["Sink"], r["Query"]), queries[call])
            self.assertEqual((r["Namespace"], r["Method"]), (NS, "ExecNotificationQueryAsync"))
            self.assertEqual((u64(r["EventsDelivered"]), u64(r["EventsDropped"])), (0, 0))
            self.assertGreaterEqual(r["CreatedAt"], s["ConnectedSince"])
        d = self.lwmid_figures()
        self.assertEqual(d["Registrations"], base["Registrations"] + 7)
        self.assertEqual(d["Sessions"], base["Sessions"] + 1)
        self.assertEqual(d["Watches"], 0)
        self.assertGreater(u64(d["MemoryRss"]), 1 << 20)

        # one cancelled: N - 1 everywhere
        first = min(queries)
        self.assertEqual(cons.ok("CancelAsyncCall", call=first), {"cancelled": 1})
        self.assertEqual(self.session(sid)["Registrations"], 6)
        self.assertNotIn(first, self.registrations(sid))
        self.assertEqual(self.lwmid_figures()["Registrations"], base["Registrations"] + 6)

    def test_events_delivered(self):
        """Per registration, per session and in all: EventsDelivered counts
        the Indicates written."""
        base = u64(self.lwmid_figures()["EventsDelivered"])
        cons, sid = self.consumer()
        one = self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 1", sink="s", client=cons)
        some = self.subscribe("SELECT * FROM T_Alarm WHERE Sev > 0", sink="s", client=cons)
        none = self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 9", sink="t", client=cons)
        for sev in (1, 1, 1, 2, 2):
            self.publish(sev)
        got = cons.take_notes(8)
        self.assertTrue(all(n["method"] == "Indicate" for n in got))
        regs = self.registrations(sid)
        self.assertEqual({c: u64(r["EventsDelivered"]) for c, r in regs.items()},
                         {one: 3, some: 5, none: 0})
        self.assertEqual(u64(self.session(sid)["EventsDelivered"]), 8)
        self.assertEqual(u64(self.lwmid_figures()["EventsDelivered"]), base + 8)
        # WHERE on the new properties, as on any class
        rows = self.query("SELECT Call, Query FROM LWMI_Registration "
                          "WHERE EventsDelivered >= 3 AND SessionId = %d" % sid)
        self.assertEqual(sorted(u64(r["Call"]) for r in rows), [one, some])
        rows = self.query("SELECT SessionId FROM LWMI_Session WHERE EventsDelivered = 8")
        self.assertEqual([u64(r["SessionId"]) for r in rows], [sid])

    def test_watched_with_within(self):
        """A registration's count changing is a modification event of
        LWMI_Registration, seen by a WITHIN query."""
        cons, sid = self.consumer()
        call = self.subscribe("SELECT * FROM T_Alarm WHERE Sev = 5", sink="w", client=cons)
        self.subscribe("SELECT * FROM __InstanceModificationEvent WITHIN 0.5 "
                       "WHERE TargetInstance ISA 'LWMI_Registration' "
                       "AND TargetInstance.Sink = 'w'", sink="watch", ns=SELF)
        time.sleep(0.7)  # the poll task's baseline is taken
        self.publish(5)
        cons.take_notes(1)
        n = self.c.wait_note(lambda n: n["method"] == "Indicate" and
                             n["params"]["sink"] == "watch")
        ev = n["params"]["objects"][0]
        self.assertEqual(ev["__CLASS"], "__InstanceModificationEvent")
        self.assertEqual((u64(ev["TargetInstance"]["SessionId"]),
                          u64(ev["TargetInstance"]["Call"])), (sid, call))
        self.assertEqual(u64(ev["PreviousInstance"]["EventsDelivered"]), 0)
        self.assertEqual(u64(ev["TargetInstance"]["EventsDelivered"]), 1)

    def test_disconnect_releases(self):
        """A consumer that goes away: its session and registrations are
        gone, the daemon's counts back, RegistrationsReclaimed grown."""
        base = self.lwmid_figures()
        cons, sid = self.consumer()
        for k in range(3):
            self.subscribe("SELECT * FROM T_Alarm WHERE Sev = %d" % k, sink="s", client=cons)
        self.assertEqual(len(self.registrations(sid)), 3)
        cons.close()
        self.wait_for(lambda: self.session(sid), lambda s: s is None)
        self.assertEqual(self.registrations(sid), {})
        d = self.wait_for(self.lwmid_figures, lambda d: d["Sessions"] == base["Sessions"])
        self.assertEqual((d["Registrations"], d["Sinks"]),
                         (base["Registrations"], base["Sinks"]))
        self.assertEqual(u64(d["SessionsLostClosed"]), u64(base["SessionsLostClosed"]) + 1)
        for k in ("SessionsLostReset", "SessionsLostStall", "SessionsLostKeepalive"):
            self.assertEqual(u64(d[k]), u64(base[k]))
        self.assertEqual(u64(d["RegistrationsReclaimed"]),
                         u64(base["RegistrationsReclaimed"]) + 3)


class TestBacklog(IntrospectCase):
    # the consumer reads nothing for a while: neither a stall nor silence
    # may end it meanwhile, however slow the machine
    daemon_args = ("--stall-timeout-ms", "120000", "--keepalive-ms", "60000")

    def test_backlog_and_drops(self):
        """A consumer that does not read: its BacklogBytes grows, then its
        events are dropped and counted for the registration, the session
        and the daemon."""
        base = u64(self.lwmid_figures()["EventsDropped"])
        cons, sid = self.consumer()
        call = self.subscribe("SELECT * FROM T_Alarm", sink="s", client=cons)
        text = "y" * 16000
        publisher = self.event_client()
        replies = publisher.pipeline("PublishEvent", [
            {"namespace": NS, "event": {"__CLASS": "T_Alarm", "Sev": k, "Source": text,
                                        "Code": 0}} for k in range(400)])
        self.assertTrue(all(r["result"]["delivered"] == 1 for r in replies))
        s = self.session(sid)
        self.assertGreater(u64(s["BacklogBytes"]), 1 << 20)
        dropped = u64(s["EventsDropped"])
        self.assertGreater(dropped, 0)
        self.assertEqual(u64(s["EventsDelivered"]) + dropped, 400)
        r = self.registrations(sid)[call]
        self.assertEqual((u64(r["EventsDelivered"]), u64(r["EventsDropped"])),
                         (u64(s["EventsDelivered"]), dropped))
        self.assertEqual(u64(self.lwmid_figures()["EventsDropped"]), base + dropped)
        # the consumer reads it all: the backlog is gone, the drops reported
        note = cons.wait_note(lambda n: n["method"] == "EventsDropped", timeout=30)
        self.assertEqual(note["params"]["count"], dropped)
        self.wait_for(lambda: u64(self.session(sid)["BacklogBytes"]), lambda b: b == 0)


class TestStatsCommand(CliTestCase, IntrospectCase):
    def test_table(self):
        cons, sid = self.consumer("statsconsumer")
        q1 = "SELECT * FROM T_Alarm WHERE Sev = 1"
        q2 = "SELECT Sev FROM T_Alarm WHERE Source = 'disk'"
        c1 = self.subscribe(q1, sink="alpha", client=cons)
        c2 = self.subscribe(q2, sink="beta", client=cons)
        self.publish(1)
        cons.take_notes(1)
        p = self.lwmi("stats")
        self.assert_exit(p, EXIT_OK)
        figures, sessions = p.stdout.split("\n\n")
        rows = dict(line.split(None, 1) for line in figures.splitlines())
        self.assertEqual(rows["Registrations"].strip(), "2")
        for name in ("Version", "Sessions", "EventsDelivered", "EventsDropped",
                     "SessionsLostClosed", "SessionsLostReset", "SessionsLostStall",
                     "SessionsLostKeepalive", "RegistrationsReclaimed", "Watches",
                     "MemoryRss"):
            self.assertIn(name, rows)
        self.assertNotIn("__PATH", p.stdout)
        lines = sessions.splitlines()
        self.assertEqual(lines[0].split()[:4], ["SessionId", "UserId", "ProcessId",
                                                "ClientName"])
        mine = [line for line in lines if "statsconsumer" in line]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].split()[0], str(sid))
        self.assertNotIn(q1, p.stdout)

        p = self.lwmi("stats", "--registrations")
        self.assert_exit(p, EXIT_OK)
        parts = p.stdout.split("\n\n")
        self.assertEqual(len(parts), 3)
        regs = parts[2].splitlines()
        self.assertTrue(regs[0].startswith("SessionId"))
        self.assertIn("Query", regs[0])
        self.assertEqual(len(regs), 3)
        self.assertIn(q1, regs[1])
        self.assertEqual(regs[1].split()[:3], [str(sid), str(c1), "alpha"])
        self.assertIn(q2, regs[2])
        self.assertEqual(regs[2].split()[:3], [str(sid), str(c2), "beta"])
        # delivered: 1 for the first, 0 for the second
        self.assertEqual(regs[1].split()[5:7], ["1", "0"])
        self.assertEqual(regs[2].split()[5:7], ["0", "0"])

    def test_json(self):
        cons, sid = self.consumer("jsonconsumer")
        call = self.subscribe("SELECT * FROM T_Alarm", sink="s", client=cons)
        p = self.lwmi("--json", "stats", "--registrations")
        self.assert_exit(p, EXIT_OK)
        objs = [json.loads(line) for line in p.stdout.splitlines()]
        classes = [o["__CLASS"] for o in objs]
        # the daemon, then the sessions (the test's, the consumer's, lwmi's),
        # then the one registration
        self.assertEqual(classes, ["LWMI_Daemon"] + ["LWMI_Session"] * 3 +
                         ["LWMI_Registration"])
        self.assertEqual(objs[0]["Registrations"], 1)
        ids = [int(o["SessionId"]) for o in objs[1:4]]
        self.assertEqual(ids, sorted(ids))
        self.assertIn(sid, ids)
        self.assertEqual((int(objs[4]["SessionId"]), int(objs[4]["Call"])), (sid, call))
        # without --registrations: no registration
        p = self.lwmi("--json", "stats")
        self.assert_exit(p, EXIT_OK)
        self.assertNotIn("LWMI_Registration",
                         [json.loads(line)["__CLASS"] for line in p.stdout.splitlines()])

    def test_usage(self):
        p = self.lwmi("query", "--registrations", "SELECT * FROM T_Alarm")
        self.assert_exit(p, EXIT_USAGE)
        self.assertIn("--registrations is an option of lwmi stats", p.stderr)
        p = self.lwmi("stats", "extra")
        self.assert_exit(p, EXIT_USAGE)
        p = self.lwmi("help", "stats")
        self.assert_exit(p, EXIT_OK)
        self.assertIn("--registrations", p.stdout)
        p = self.lwmi("--help")
        self.assertIn("stats", p.stdout)
