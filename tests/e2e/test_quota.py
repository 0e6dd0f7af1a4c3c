"""End-to-end tests of the quotas per user (docs/security.md "Quotas"):
lwmid runs as root with a configuration file; clients connect as uid 65534
(see quotatest.py). Each quota is hit: the call over it alone gets
WBEM_E_QUOTA_VIOLATION naming the quota, its limit and how to raise it; the
session goes on, other users (root) see no difference; what a user holds
comes back exactly when its clients cancel, close or are killed (LWMI_User
and LWMI_Daemon back where they were, no drift over rounds); root stays
unlimited; SIGHUP applies new limits; anonymous TCP peers share one
bucket."""

import json
import os
import signal
import subprocess
import time

from lwmitest import Client
from quotatest import NOBODY, QuotaTestCase, kill_holder, start_holder

NS = "root/cimv2"
USER = str(NOBODY)


class SessionsTest(QuotaTestCase):
    config_text = "[quota:%d]\nsessions = 3\n" % NOBODY

    def test_sessions_over_quota_refused_at_accept(self):
        held = [self.nobody() for _ in range(3)]
        self.assertEqual(self.users()[USER]["Sessions"], 3)
        self.assertEqual(int(self.users()[USER]["MaxSessions"]), 3)
        # the fourth: one error line, id null, then the connection closes
        extra = self.nobody(hello=False)
        reply = extra.recv()
        self.assertIsNone(reply["id"])
        self.assert_quota_error(reply, "sessions", 3)
        self.assertIn("uid %d" % NOBODY, reply["error"]["message"])
        self.assertTrue(extra.at_eof())
        # the others go on; root is not limited
        for c in held:
            self.assertEqual(c.ok("Ping"), {})
        roots = [self.root_client() for _ in range(5)]
        for c in roots:
            self.assertEqual(c.ok("Ping"), {})
        # one closes: a new one is accepted, the count exact
        held.pop().close()
        self.wait_for(lambda: self.users()[USER]["Sessions"], lambda n: n == 2)
        held.append(self.nobody())
        self.assertEqual(self.users()[USER]["Sessions"], 3)
        self.assertGreaterEqual(int(self.users()[USER]["QuotaViolations"]), 1)
        self.assertIn("refused: quota 'sessions' exceeded for uid %d" % NOBODY,
                      self.daemon.log_text())
        for c in held:
            c.close()
        self.wait_for(self.users, lambda u: USER not in u)


class StatsTest(QuotaTestCase):
    config_text = "[quota]\nsessions = 9\nregistrations = 7\n"

    def test_lwmi_stats_users(self):
        from test_cli import lwmi_path
        a = self.nobody()
        a.pipeline("ExecNotificationQueryAsync", self.subscribe_params(8))
        argv = [lwmi_path(), "--socket", self.daemon.socket_path, "stats", "--users"]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        users = p.stdout.split("\n\n")[-1].splitlines()
        self.assertEqual(users[0].split()[:3], ["User", "Sessions", "Registrations"])
        rows = {line.split()[0]: line.split() for line in users[1:]}
        # root (the test's client and lwmi itself): unlimited; nobody: 7
        self.assertEqual(rows[str(NOBODY)][1:3], ["1", "7"])
        self.assertEqual(rows[str(NOBODY)][4:7], ["1", "9", "7"])
        self.assertIn("0", rows)
        p = subprocess.run(argv[:-2] + ["--json", "stats", "--users"], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        objs = [json.loads(line) for line in p.stdout.splitlines()]
        users = [o for o in objs if o["__CLASS"] == "LWMI_User"]
        self.assertEqual([u["User"] for u in users], ["0", str(NOBODY)])
        self.assertIsNone(users[0]["MaxRegistrations"])
        self.assertEqual(int(users[1]["MaxRegistrations"]), 7)
        p = subprocess.run([lwmi_path(), "--users", "ping"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        self.assertIn("--users is an option of lwmi stats", p.stderr)


class RegistrationsTest(QuotaTestCase):
    config_text = ("[quota]\nregistrations = 50\nsession_registrations = 30\n"
                   "[quota:anonymous]\nsessions = 2\n")

    def test_registrations_per_session_and_per_user(self):
        # a healthy root subscriber, watched all along
        watcher = self.c
        call = watcher.ok("ExecNotificationQueryAsync", namespace=NS, sink="w",
                          query="SELECT * FROM T_Alarm")["call"]
        a, b = self.nobody(), self.nobody()
        replies = a.pipeline("ExecNotificationQueryAsync", self.subscribe_params(40, "a"))
        ok = [r for r in replies if "result" in r]
        refused = [r for r in replies if "error" in r]
        self.assertEqual(len(ok), 30)
        self.assertEqual(len(refused), 10)
        for r in refused:
            self.assert_quota_error(r, "session_registrations", 30)
        replies = b.pipeline("ExecNotificationQueryAsync", self.subscribe_params(40, "b", 100))
        self.assertEqual(sum(1 for r in replies if "result" in r), 20)
        for r in replies[20:]:
            self.assert_quota_error(r, "registrations", 50)
        self.assertEqual(self.users()[USER]["Registrations"], 50)
        # ExecQueryAsync is a call too
        self.assert_quota_error(b.rpc("ExecQueryAsync", namespace=NS, sink="q",
                                      query="SELECT * FROM Linux_OperatingSystem"),
                                "registrations")
        # the sessions go on, and so do events, for them and for root
        self.assertEqual(a.ok("Ping"), {})
        self.c.ok("PublishEvent", namespace=NS, event={"__CLASS": "T_Alarm", "Sev": 5})
        note = watcher.take_notes(1)[0]
        self.assertEqual((note["method"], note["params"]["call"]), ("Indicate", call))
        note = a.take_notes(1)[0]
        self.assertEqual(note["params"]["objects"][0]["Sev"], 5)
        # root: unlimited
        replies = self.c.pipeline("ExecNotificationQueryAsync", self.subscribe_params(200, "r"))
        self.assertTrue(all("result" in r for r in replies))
        # cancelling gives room back, exactly
        self.assertEqual(a.ok("CancelAsyncCall", sink="a")["cancelled"], 30)
        self.assertEqual(self.users()[USER]["Registrations"], 20)
        replies = b.pipeline("ExecNotificationQueryAsync", self.subscribe_params(10, "b2", 200))
        self.assertTrue(all("result" in r for r in replies))
        self.assertEqual(self.users()[USER]["Registrations"], 30)
        # closing releases the rest
        b.close()
        self.wait_for(lambda: self.users()[USER]["Registrations"], lambda n: n == 0)
        a.close()
        self.wait_for(self.users, lambda u: USER not in u)

    def test_killed_clients_release_exactly(self):
        before = self.daemon_figures()
        for round in range(3):
            holders = [start_holder(self.daemon.socket_path, 20) for _ in range(3)]
            self.assertEqual([n for _, n in holders], [20, 20, 10])
            self.assertEqual(self.users()[USER]["Registrations"], 50)
            self.assertEqual(self.users()[USER]["Sessions"], 3)
            for proc, _ in holders:
                kill_holder(proc)  # SIGKILL
            self.wait_for(self.users, lambda u: USER not in u)
            after = self.daemon_figures()
            for level in ("Sessions", "Sinks", "Registrations", "Filters"):
                self.assertEqual(after[level], before[level], (round, level))
        # and the quota is whole again
        proc, n = start_holder(self.daemon.socket_path, 60)
        self.assertEqual(n, 30)
        kill_holder(proc)

    def test_anonymous_tcp_peers_share_one_bucket(self):
        # a second daemon, with a TCP listener: plain TCP peers are anonymous
        d = self.start(args=["--config", self.config_path], listen="127.0.0.1:0",
                       socket_path=os.path.join(self.tmpdir, "tcp", "lwmid.sock"))
        first = [Client(d.tcp_address) for _ in range(2)]
        self.clients.extend(first)
        for c in first:
            self.assertEqual(c.call("Ping")["result"], {})
        third = Client(d.tcp_address)
        self.clients.append(third)
        reply = third.recv()
        self.assert_quota_error(reply, "sessions", 2)
        self.assertIn("anonymous peers", reply["error"]["message"])
        self.assertIn("[quota:anonymous]", reply["error"]["message"])
        self.assertTrue(third.at_eof())
        # local users are not in that bucket
        local = Client(d.socket_path)
        self.clients.append(local)
        self.assertEqual(local.call("Ping")["result"], {})


class QueryAndRateTest(QuotaTestCase):
    config_text = "[quota:%d]\nquery_bytes = 64\nrequest_rate = 20\nrequest_burst = 40\n" % NOBODY

    def test_query_length(self):
        a = self.nobody()
        long_query = "SELECT * FROM T_Alarm WHERE Sev = 1 OR Sev = 2 OR Sev = 3 OR Sev = 4"
        self.assertGreater(len(long_query), 64)
        for method, extra in (("ExecQuery", {}), ("ExecQueryAsync", {"sink": "s"}),
                              ("ExecNotificationQueryAsync", {"sink": "s"})):
            r = a.rpc(method, namespace=NS, query=long_query, **extra)
            self.assert_quota_error(r, "query_bytes", 64)
            self.assertIn("%d bytes long" % len(long_query), r["error"]["message"])
        # a short one is fine, and root is not limited
        a.ok("ExecNotificationQueryAsync", namespace=NS, sink="s",
             query="SELECT * FROM T_Alarm")
        self.c.ok("ExecNotificationQueryAsync", namespace=NS, sink="s", query=long_query)

    def test_request_rate(self):
        a = self.nobody()  # Hello took one token
        t0 = time.monotonic()
        replies = a.pipeline("Ping", [{}] * 100)
        elapsed = time.monotonic() - t0 + 0.05
        ok = sum(1 for r in replies if "result" in r)
        # 39 left of the burst, plus what 20 a second refilled meanwhile
        self.assertGreaterEqual(ok, 39)
        self.assertLessEqual(ok, 39 + int(20 * elapsed) + 1)
        self.assertLess(ok, 100)
        for r in replies:
            if "error" in r:
                self.assert_quota_error(r, "request_rate", 20)
        # the session goes on once the bucket refills; root never waits
        time.sleep(0.2)
        self.assertEqual(a.ok("Ping"), {})
        replies = self.c.pipeline("Ping", [{}] * 500)
        self.assertTrue(all("result" in r for r in replies))
        self.assertIn("quota 'request_rate' exceeded", self.daemon.log_text())
        # logged once per session
        self.assertEqual(self.daemon.log_text().count("quota 'request_rate' exceeded"), 1)


class ReloadTest(QuotaTestCase):
    config_text = "[quota:%d]\nregistrations = 5\n" % NOBODY

    def test_sighup_applies_new_limits(self):
        a = self.nobody()
        replies = a.pipeline("ExecNotificationQueryAsync", self.subscribe_params(6))
        self.assert_quota_error(replies[5], "registrations", 5)
        with open(self.config_path, "w") as f:
            f.write("[quota:nobody]\nregistrations = 8\n")
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.wait_for(lambda: int(self.users()[USER]["MaxRegistrations"]), lambda n: n == 8)
        replies = a.pipeline("ExecNotificationQueryAsync", self.subscribe_params(4, first=10))
        self.assertEqual(sum(1 for r in replies if "result" in r), 3)
        self.assert_quota_error(replies[3], "registrations", 8)
        # lowered below what is held: nothing is taken away, nothing new
        with open(self.config_path, "w") as f:
            f.write("[quota]\nregistrations = 2\n")
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.wait_for(lambda: int(self.users()[USER]["MaxRegistrations"]), lambda n: n == 2)
        self.assertEqual(self.users()[USER]["Registrations"], 8)
        self.assert_quota_error(a.rpc("ExecNotificationQueryAsync", namespace=NS, sink="s",
                                      query="SELECT * FROM T_Alarm"), "registrations", 2)
        # a bad file changes nothing
        with open(self.config_path, "w") as f:
            f.write("[quota]\nregistrations = lots\n")
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.wait_for(lambda: "configuration not reloaded" in self.daemon.log_text(),
                      lambda v: v)
        self.assertEqual(int(self.users()[USER]["MaxRegistrations"]), 2)


class BacklogTest(QuotaTestCase):
    # a user's Indicate backlog over all its sessions: 64 KiB; each session
    # also has its own 4 MiB budget
    config_text = "[quota:%d]\nbacklog_bytes = 64K\n" % NOBODY
    extra_args = ("--stall-timeout-ms", "600000")

    def test_user_backlog_drops_events_then_recovers(self):
        stalled = self.nobody()
        stalled.ok("ExecNotificationQueryAsync", namespace=NS, sink="s",
                   query="SELECT * FROM T_Alarm")
        reader = self.nobody()
        call = reader.ok("ExecNotificationQueryAsync", namespace=NS, sink="r",
                         query="SELECT * FROM T_Alarm")["call"]
        root = self.root_client()
        root_call = root.ok("ExecNotificationQueryAsync", namespace=NS, sink="r",
                            query="SELECT * FROM T_Alarm")["call"]
        payload = "x" * 2000

        def publish(k):
            self.c.ok("PublishEvent", namespace=NS,
                      event={"__CLASS": "T_Alarm", "Sev": k, "Source": payload})

        def drain(client):
            """The notifications that come until none has for a second."""
            client.sock.settimeout(1.0)
            try:
                while True:
                    client.pump()
            except (TimeoutError, OSError):
                pass
            client.sock.settimeout(20)
            notes, client.notes = client.notes, []
            return notes

        # The stalled session reads nothing: its socket buffer, then its
        # backlog fills. Once the user's backlog is over 64 KiB the reader
        # (same user, reading) loses events too; root loses none.
        n = 400
        for k in range(n):
            publish(k)
        self.assertGreater(int(self.users()[USER]["BacklogBytes"]), 64 * 1024)
        notes = drain(reader)
        self.assertTrue(all(m["method"] == "Indicate" for m in notes), notes[-1:])
        seen = sum(len(m["params"]["objects"]) for m in notes)
        self.assertLess(seen, n, "the user's backlog quota dropped nothing")
        self.assertIn("quota 'backlog_bytes' of the session's user reached",
                      self.daemon.log_text())
        # the stalled session goes: the user's backlog drains, the next
        # event reports the drops and flows again
        stalled.close()
        self.wait_for(lambda: int(self.users()[USER]["BacklogBytes"]), lambda b: b < 32 * 1024)
        publish(n)
        notes += drain(reader)
        seqs = set()
        dropped = 0
        for m in notes:
            p = m["params"]
            self.assertEqual(p["call"] if "call" in p else call, call)
            if m["method"] == "Indicate":
                seqs.add(p["seq"])
            else:
                self.assertEqual(m["method"], "EventsDropped")
                dropped += p["count"]
                seqs.update(range(p["first_seq"], p["last_seq"] + 1))
        seen = sum(len(m["params"]["objects"]) for m in notes if m["method"] == "Indicate")
        self.assertEqual(seen + dropped, n + 1)
        self.assertGreater(dropped, 0)
        # every seq accounted for, once
        self.assertEqual(seqs, set(range(1, max(seqs) + 1)))
        self.assertEqual(notes[-1]["method"], "Indicate")
        self.assertEqual(notes[-1]["params"]["objects"][-1]["Sev"], n)
        # root saw everything
        got = sum(len(m["params"]["objects"]) for m in drain(root)
                  if m["method"] == "Indicate" and m["params"]["call"] == root_call)
        self.assertEqual(got, n + 1)
