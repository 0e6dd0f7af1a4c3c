"""End-to-end tests of rights per namespace (docs/security.md): lwmid runs
as root, clients connect as uid/gid 65534 (a socket connected by a forked
child that dropped its ids, handed back over SCM_RIGHTS: SO_PEERCRED and
SO_PEERGROUPS are taken at connect time) and as anonymous over plain TCP.
Each right granted and refused, group grants, inheritance, the log-once
rule, root/lwmi showing non-admins only their own sessions, and the
`lwmi rights` round trip. Needs root; skips otherwise."""

import json
import os
import re
import socket
import subprocess
import time
import unittest

from lwmitest import DaemonTestCase, Monitor, lwmi_path

NOBODY = 65534
OTHER_GROUP = 4242  # a group nobody has, given to the child explicitly
NS = "root/cimv2"
SIGNAL_CLASS = {"__CLASS": "E2E_RightsSignal", "__SUPERCLASS": "__ExtrinsicEvent",
                "properties": {"Level": {"type": "uint32"}}}
ITEM_CLASS = {"__CLASS": "E2E_RightsItem", "__SUPERCLASS": None,
              "properties": {"Id": {"type": "uint32", "key": True}}}


def drop_to(uid, gid, groups=()):
    os.setgroups(list(groups))
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


class Peer(Monitor):
    """A raw client on a socket connected by someone else; keeps
    notifications (Indicates, for the test) and answers Pings."""

    def __init__(self, sock, timeout=10):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        self.timeout = timeout
        self.next_id = 1
        self.notifications = []

    def denied(self, method, params=None):
        """The message of an ACCESS_DENIED answer (fails on anything else)."""
        reply = self.call(method, params)
        if "error" not in reply:
            raise AssertionError("%s was allowed: %r" % (method, reply))
        err = reply["error"]
        if err["data"]["status"] != "WBEM_E_ACCESS_DENIED" or err["code"] != -32000:
            raise AssertionError("%s: not access denied: %r" % (method, err))
        return err["message"]

    def wait_indicate(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n in self.notifications:
                if n["method"] == "Indicate":
                    self.notifications.remove(n)
                    return n
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                m = self.recv()
            except socket.timeout:
                break
            finally:
                self.sock.settimeout(self.timeout)
            if "method" in m and "id" in m:
                self.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
            elif "method" in m:
                self.notifications.append(m)
        raise AssertionError("no Indicate within %s s" % timeout)


class RightsTestCase(DaemonTestCase):
    start_daemon = False
    daemon_listen = None

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: lwmid as root, clients as uid 65534")
        super().setUp()
        # uid 65534 must reach the socket: the temporary directory is
        # private (0700) by default
        os.chmod(self.tmpdir, 0o711)
        os.makedirs(os.path.join(self.tmpdir, "run"), mode=0o755)
        os.chmod(os.path.join(self.tmpdir, "run"), 0o755)
        self.daemon = self.start(args=("--log-level", "info"), listen=self.daemon_listen)
        self.root = Peer(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        self.root.sock.connect(self.daemon.socket_path)
        self.clients.append(self.root)
        self.root.call_ok("PutClass", {"namespace": NS, "class": SIGNAL_CLASS})

    def connect_as(self, uid=NOBODY, gid=NOBODY, groups=()):
        """A session whose peer credentials are uid, gid and groups."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                ours.close()
                drop_to(uid, gid, groups)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.daemon.socket_path)
                socket.send_fds(theirs, [b"ok"], [s.fileno()])
                code = 0
            except BaseException as e:  # report, never run the parent's code
                try:
                    theirs.sendall(b"error: " + repr(e).encode())
                except BaseException:
                    pass
            finally:
                os._exit(code)
        theirs.close()
        msg, fds, _, _ = socket.recv_fds(ours, 4096, 1)
        os.waitpid(pid, 0)
        ours.close()
        if not fds:
            self.fail("the child could not connect: %r" % msg)
        c = Peer(socket.socket(fileno=fds[0]))
        self.clients.append(c)
        return c

    def grant(self, ns, principal, rights):
        return self.root.call_ok("GrantRights", {"namespace": ns, "principal": principal,
                                                 "rights": rights})["grant"]

    def revoke(self, ns, principal, rights=None):
        params = {"namespace": ns, "principal": principal}
        if rights:
            params["rights"] = rights
        return self.root.call_ok("RevokeRights", params)["grant"]

    def publish(self, client, level=1):
        return client.call_ok("PublishEvent", {"namespace": NS, "event": {
            "__CLASS": "E2E_RightsSignal", "Level": level}})["delivered"]

    def subscribe(self, client, sink="s", ns=NS, query="SELECT * FROM E2E_RightsSignal"):
        return client.call("ExecNotificationQueryAsync",
                           {"namespace": ns, "query": query, "sink": sink})

    def denied_lines(self, **fields):
        pattern = "access denied: " + ".*".join("%s=%s" % (k, re.escape(str(v)))
                                                for k, v in fields.items())
        return [l for l in self.daemon.log_text().splitlines() if re.search(pattern, l)]


class TestRights(RightsTestCase):
    def test_defaults_read_and_subscribe_only(self):
        c = self.connect_as()
        self.assertEqual(c.call_ok("Hello", {"client": "nobody"})["session"] > 0, True)
        self.assertEqual(c.call_ok("Ping"), {})
        # read and subscribe on root/cimv2
        c.call_ok("ExecQuery", {"namespace": NS, "query": "SELECT * FROM Linux_OperatingSystem"})
        c.call_ok("GetObject", {"namespace": NS, "path": "E2E_RightsSignal"})
        c.call_ok("EnumClasses", {"namespace": NS})
        self.assertIn("call", self.subscribe(c)["result"])
        # not write, publish, admin; nothing outside root/cimv2
        msg = c.denied("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        self.assertEqual(msg, "access denied: PutClass needs the write right on namespace "
                              "root/cimv2")
        c.denied("DeleteClass", {"namespace": NS, "class": "E2E_RightsSignal"})
        c.denied("PutInstance", {"namespace": NS, "instance": {"__CLASS": "E2E_RightsItem",
                                                               "Id": 1}})
        c.denied("DeleteInstance", {"namespace": NS, "path": "E2E_RightsItem.Id=1"})
        self.assertIn("publish right", c.denied("PublishEvent", {"namespace": NS, "event": {
            "__CLASS": "E2E_RightsSignal", "Level": 1}}))
        self.assertIn("admin right on namespace root", c.denied("ListRights"))
        c.denied("GrantRights", {"namespace": NS, "principal": "user:65534", "rights": "all"})
        c.denied("RevokeRights", {"namespace": NS, "principal": "everyone"})
        c.denied("EnumClasses", {"namespace": "root"})
        c.denied("ExecQuery", {"namespace": "root/lwmi", "query": "SELECT * FROM LWMI_Daemon"})
        # nothing about the object leaks: a class that does not exist gets
        # the same refusal as one that does
        self.assertEqual(c.denied("GetObject", {"namespace": "root", "path": "NoSuchClass"}),
                         c.denied("GetObject", {"namespace": "root", "path": "__SystemClass"}))
        # the session goes on
        self.assertEqual(c.call_ok("Ping"), {})

    def test_each_right_granted(self):
        c = self.connect_as()
        me = "user:%d" % NOBODY
        # write
        c.denied("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        g = self.grant(NS, me, "write")
        self.assertEqual(g["rights"], ["write"])
        self.assertEqual(g["id"], NOBODY)
        c.call_ok("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        c.call_ok("PutInstance", {"namespace": NS, "instance": {"__CLASS": "E2E_RightsItem",
                                                               "Id": 1}})
        c.call_ok("DeleteInstance", {"namespace": NS, "path": "E2E_RightsItem.Id=1"})
        # publish
        c.denied("PublishEvent", {"namespace": NS, "event": {"__CLASS": "E2E_RightsSignal"}})
        self.grant(NS, me, "publish")
        self.subscribe(self.root)
        self.assertEqual(self.publish(c), 1)
        # read, inherited from root into root/lwmi
        c.denied("EnumClasses", {"namespace": "root"})
        self.grant("root", me, "read")
        c.call_ok("EnumClasses", {"namespace": "root"})
        c.call_ok("GetObject", {"namespace": "root/lwmi", "path": "LWMI_Daemon=@"})
        # subscribe
        self.revoke(NS, "everyone", "subscribe")
        self.assertEqual(self.subscribe(c, "t")["error"]["data"]["status"],
                         "WBEM_E_ACCESS_DENIED")
        self.grant(NS, me, "subscribe")
        self.assertIn("result", self.subscribe(c, "t"))
        # admin
        c.denied("ListRights")
        self.grant("root", me, "admin")
        grants = c.call_ok("ListRights")["rights"]
        mine = [g for g in grants if g["principal"] in ("user:nobody", me)]
        self.assertEqual(sorted((g["namespace"], tuple(g["rights"])) for g in mine),
                         [("root", ("read", "admin")),
                          ("root/cimv2", ("subscribe", "write", "publish"))])
        # an admin on a namespace other than root is no admin of rights
        self.revoke("root", me, "admin")
        self.grant(NS, me, "admin")
        c.denied("ListRights")
        # revoked: refused again at the next call
        self.revoke(NS, me)
        c.denied("PutClass", {"namespace": NS, "class": ITEM_CLASS})

    def test_group_grants(self):
        member = self.connect_as(groups=(OTHER_GROUP,))
        outsider = self.connect_as()
        self.grant(NS, "group:%d" % OTHER_GROUP, "write")
        member.call_ok("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        outsider.denied("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        # the primary group counts too (nogroup, 65534, by number)
        self.grant(NS, "group:%d" % NOBODY, "publish")
        self.assertEqual(self.publish(outsider), 0)
        # by name: the grant stores the id and the name given
        g = self.grant("root", "group:root", "read")
        self.assertEqual((g["id"], g["name"], g["principal"]), (0, "root", "group:root"))
        outsider.denied("EnumClasses", {"namespace": "root"})
        root_member = self.connect_as(groups=(0,))
        root_member.call_ok("EnumClasses", {"namespace": "root/lwmi"})
        # unknown names are refused with a clear error
        err = self.root.call("GrantRights", {"namespace": NS, "principal": "group:no-such-grp",
                                             "rights": "read"})["error"]
        self.assertEqual(err["data"]["status"], "WBEM_E_NOT_FOUND")
        err = self.root.call("GrantRights", {"namespace": "root/nosuch", "principal": "everyone",
                                             "rights": "read"})["error"]
        self.assertEqual(err["data"]["status"], "WBEM_E_INVALID_NAMESPACE")
        err = self.root.call("GrantRights", {"namespace": NS, "principal": "everyone",
                                             "rights": "read,fly"})["error"]
        self.assertEqual(err["data"]["status"], "WBEM_E_INVALID_PARAMETER")

    def test_existing_subscription_stays_after_revoke(self):
        c = self.connect_as()
        self.assertIn("result", self.subscribe(c))
        self.revoke(NS, "everyone")
        # new calls are refused at once, on the open session too
        c.denied("ExecQuery", {"namespace": NS, "query": "SELECT * FROM E2E_RightsSignal"})
        self.assertIn("error", self.subscribe(c, "other"))
        # the registration made before goes on receiving
        self.assertEqual(self.publish(self.root, 7), 1)
        n = c.wait_indicate()
        self.assertEqual(n["params"]["objects"][0]["Level"], 7)
        # Hello, Ping and CancelAsyncCall need no right
        self.assertIn("session", c.call_ok("Hello", {"client": "no rights left"}))
        self.assertEqual(c.call_ok("Ping"), {})
        self.assertEqual(c.call_ok("CancelAsyncCall", {"sink": "s"}), {"cancelled": 1})
        self.assertEqual(self.publish(self.root, 8), 0)

    def test_refusal_logged_once_per_session_and_reason(self):
        c = self.connect_as()
        for _ in range(3):
            c.denied("PutClass", {"namespace": NS, "class": ITEM_CLASS})
            c.denied("DeleteClass", {"namespace": NS, "class": "E2E_RightsSignal"})
            c.denied("PublishEvent", {"namespace": NS, "event": {"__CLASS": "E2E_RightsSignal"}})
            c.denied("EnumClasses", {"namespace": "root"})
        c.call_ok("Ping")  # everything before it is logged
        self.assertEqual(len(self.denied_lines(uid=NOBODY, right="write", namespace=NS)), 1)
        self.assertEqual(len(self.denied_lines(uid=NOBODY, right="publish", namespace=NS)), 1)
        self.assertEqual(len(self.denied_lines(uid=NOBODY, right="read", namespace="root")), 1)
        # the object is never named in the log line
        self.assertFalse([l for l in self.denied_lines(uid=NOBODY) if "E2E_Rights" in l])
        # another session logs its own
        d = self.connect_as()
        d.denied("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        d.call_ok("Ping")
        self.assertEqual(len(self.denied_lines(uid=NOBODY, right="write", namespace=NS)), 2)

    def test_introspection_shows_own_sessions(self):
        self.grant("root/lwmi", "everyone", "read")
        mine = self.connect_as()
        mine2 = self.connect_as()
        hello = mine.call_ok("Hello", {"client": "mine"})
        hello2 = mine2.call_ok("Hello", {"client": "mine2"})
        root_hello = self.root.call_ok("Hello", {"client": "root"})
        self.subscribe(self.root, "rootsink")
        self.subscribe(mine, "minesink")
        sessions = mine.call_ok("ExecQuery", {"namespace": "root/lwmi",
                                              "query": "SELECT * FROM LWMI_Session"})["objects"]
        ids = sorted(int(s["SessionId"]) for s in sessions)
        self.assertEqual(ids, sorted([hello["session"], hello2["session"]]))
        self.assertTrue(all(s["UserId"] == NOBODY for s in sessions))
        regs = mine.call_ok("ExecQuery", {"namespace": "root/lwmi",
                                          "query": "SELECT * FROM LWMI_Registration"})["objects"]
        self.assertEqual([r["Sink"] for r in regs], ["minesink"])
        # asking for root's session or registration by key is refused
        path = "LWMI_Session.SessionId=%d" % root_hello["session"]
        msg = mine.denied("GetObject", {"namespace": "root/lwmi", "path": path})
        self.assertIn("not yours", msg)
        mine.denied("GetObject", {"namespace": "root/lwmi", "path":
                                  "LWMI_Registration.SessionId=%d,Call=1" % root_hello["session"]})
        own = mine.call_ok("GetObject", {"namespace": "root/lwmi",
                                         "path": "LWMI_Session.SessionId=%d" % hello2["session"]})
        self.assertEqual(own["ClientName"], "mine2")
        # WHERE cannot reach around the filter
        other = mine.call_ok("ExecQuery", {"namespace": "root/lwmi", "query":
                                           "SELECT * FROM LWMI_Session WHERE SessionId = %d"
                                           % root_hello["session"]})["objects"]
        self.assertEqual(other, [])
        # events in root/lwmi (polled as the daemon) need admin
        self.assertEqual(self.subscribe(mine, "w", "root/lwmi",
                                        "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE "
                                        "TargetInstance ISA 'LWMI_Session'")["error"]["data"]
                         ["status"], "WBEM_E_ACCESS_DENIED")
        # root sees everyone; so does an admin
        all_ids = [int(s["SessionId"]) for s in self.root.call_ok(
            "ExecQuery", {"namespace": "root/lwmi", "query": "SELECT * FROM LWMI_Session"})
            ["objects"]]
        self.assertIn(root_hello["session"], all_ids)
        self.grant("root/lwmi", "user:%d" % NOBODY, "admin")
        sessions = mine.call_ok("ExecQuery", {"namespace": "root/lwmi",
                                              "query": "SELECT * FROM LWMI_Session"})["objects"]
        self.assertIn(root_hello["session"], [int(s["SessionId"]) for s in sessions])

    def test_lwmi_rights_round_trip(self):
        lwmi = lwmi_path()
        sock = ["--socket", self.daemon.socket_path]

        def run(*args, code=0, as_nobody=False):
            p = subprocess.run([lwmi] + sock + list(args), capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL,
                               preexec_fn=(lambda: drop_to(NOBODY, NOBODY)) if as_nobody
                               else None)
            self.assertEqual(p.returncode, code, "lwmi %s: exit %d\n%s%s"
                             % (" ".join(args), p.returncode, p.stdout, p.stderr))
            return p

        p = run("rights", "list")
        self.assertRegex(p.stdout, r"NAMESPACE +PRINCIPAL +ID +RIGHTS")
        self.assertRegex(p.stdout, r"root +user:root +0 +read,subscribe,write,publish,admin")
        self.assertRegex(p.stdout, r"root/cimv2 +anonymous +read,subscribe")
        p = run("rights", "grant", NS, "user:nobody", "write,publish")
        self.assertRegex(p.stdout, r"root/cimv2 +user:nobody +65534 +write,publish")
        p = run("--json", "rights", "list", NS)
        grants = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertIn({"namespace": NS, "principal": "user:nobody", "kind": "user",
                       "id": NOBODY, "name": "nobody", "rights": ["write", "publish"]}, grants)
        c = self.connect_as()
        c.call_ok("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        p = run("rights", "revoke", NS, "user:65534", "write")
        self.assertRegex(p.stdout, r"user:nobody +65534 +publish")
        c.denied("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        run("rights", "revoke", NS, "user:65534")
        p = run("rights", "revoke", NS, "user:65534", code=1)
        self.assertIn("has no grant on namespace root/cimv2 (WBEM_E_NOT_FOUND)", p.stderr)
        # as nobody: connected (the socket is 0666), refused
        p = run("rights", "list", code=1, as_nobody=True)
        self.assertIn("WBEM_E_ACCESS_DENIED", p.stderr)
        p = run("query", "SELECT Version FROM Linux_OperatingSystem", as_nobody=True)
        # usage errors
        run("rights", "frob", code=2)
        run("rights", "grant", NS, "everyone", code=2)
        run("rights", "list", "a", "b", code=2)


class TestAnonymous(RightsTestCase):
    daemon_listen = "127.0.0.1:0"

    def test_plain_tcp_is_anonymous(self):
        c = Peer(socket.create_connection(self.daemon.tcp_address, 10))
        self.clients.append(c)
        c.call_ok("ExecQuery", {"namespace": NS, "query": "SELECT * FROM Linux_OperatingSystem"})
        self.assertIn("result", self.subscribe(c))
        c.denied("PublishEvent", {"namespace": NS, "event": {"__CLASS": "E2E_RightsSignal"}})
        c.denied("ExecQuery", {"namespace": "root/lwmi", "query": "SELECT * FROM LWMI_Session"})
        c.call_ok("Ping")
        self.assertEqual(len(self.denied_lines(uid=-1, right="publish", namespace=NS)), 1)
        # a grant to everyone is not for anonymous peers; one to anonymous is
        self.grant(NS, "everyone", "publish")
        c.denied("PublishEvent", {"namespace": NS, "event": {"__CLASS": "E2E_RightsSignal"}})
        self.grant(NS, "anonymous", "publish")
        self.assertEqual(self.publish(c), 1)
        # root/lwmi: an anonymous peer sees its own session only, not
        # another anonymous one's
        self.grant("root/lwmi", "anonymous", "read")
        other = Peer(socket.create_connection(self.daemon.tcp_address, 10))
        self.clients.append(other)
        other_id = other.call_ok("Hello")["session"]
        my_id = c.call_ok("Hello")["session"]
        sessions = c.call_ok("ExecQuery", {"namespace": "root/lwmi",
                                           "query": "SELECT * FROM LWMI_Session"})["objects"]
        self.assertEqual([int(s["SessionId"]) for s in sessions], [my_id])
        c.denied("GetObject", {"namespace": "root/lwmi",
                               "path": "LWMI_Session.SessionId=%d" % other_id})


if __name__ == "__main__":
    unittest.main()
