"""End-to-end tests of Linux_File and Linux_NetworkInterface (issue 6,
docs/providers.md): files listed from a temporary directory, the refusals
(no directory, a directory the peer may not list, checked against a peer
running as another user), and a dummy interface created and removed in a
network namespace of the test's own, with lwmid running inside it; see
lwmitest.py."""

import json
import os
import shutil
import subprocess
import time
import unittest

from lwmitest import DaemonTestCase
import test_async

NS = "root/cimv2"
WBEM_ERROR = -32000
NOBODY = 65534


def as_user(socket_path, uid, gid, method, params):
    """One request from a peer running as uid/gid (no supplementary
    groups), in a child process; returns the reply."""
    code = (
        "import json, socket, sys\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "s.settimeout(20)\n"
        "s.connect(sys.argv[1])\n"
        "s.sendall(json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': sys.argv[2],\n"
        "                      'params': json.loads(sys.argv[3])}).encode() + b'\\n')\n"
        "buf = b''\n"
        "while not buf.endswith(b'\\n'):\n"
        "    d = s.recv(65536)\n"
        "    if not d: break\n"
        "    buf += d\n"
        "sys.stdout.write(buf.decode())\n")

    def demote():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    out = subprocess.run(["/usr/bin/python3", "-c", code, socket_path, method,
                          json.dumps(params)],
                         stdout=subprocess.PIPE, preexec_fn=demote, timeout=30, check=True)
    return json.loads(out.stdout)


class FileDataTest(DaemonTestCase):

    def setUp(self):
        super().setUp()
        self.c = self.connect()
        self.dir = os.path.join(self.tmpdir, "files")
        os.mkdir(self.dir)
        with open(os.path.join(self.dir, "a.txt"), "w") as f:
            f.write("hello")
        os.mkdir(os.path.join(self.dir, "sub"))
        os.symlink("a.txt", os.path.join(self.dir, "link"))

    def query(self, text):
        return self.c.call_ok("ExecQuery", {"namespace": NS, "query": text})["objects"]

    def test_list_one_directory(self):
        objs = self.query("SELECT * FROM Linux_File WHERE Directory = '%s'" % self.dir)
        by_name = {o["Name"]: o for o in objs}
        self.assertEqual(sorted(by_name), ["a.txt", "link", "sub"])
        a = by_name["a.txt"]
        self.assertEqual(a["Path"], os.path.join(self.dir, "a.txt"))
        self.assertEqual(a["Directory"], self.dir)
        self.assertEqual(a["Extension"], "txt")
        self.assertEqual(int(a["Size"]), 5)  # uint64: a JSON string
        self.assertEqual(a["Type"], "File")
        self.assertEqual(a["UserId"], os.geteuid())
        self.assertEqual(by_name["sub"]["Type"], "Directory")
        self.assertEqual(by_name["link"]["Type"], "SymbolicLink")
        # WHERE beyond the directory is applied too
        objs = self.query("SELECT Name FROM Linux_File WHERE Directory = '%s' AND Type = 'File'"
                          % self.dir)
        self.assertEqual([o["Name"] for o in objs], ["a.txt"])
        # one file by Path, and GetObject
        objs = self.query("SELECT * FROM Linux_File WHERE Path = '%s/a.txt'" % self.dir)
        self.assertEqual(len(objs), 1)
        got = self.c.call_ok("GetObject", {"namespace": NS,
                                           "path": 'Linux_File.Path="%s/sub"' % self.dir})
        self.assertEqual(got["Type"], "Directory")

    def test_refusals(self):
        reply = self.c.call("ExecQuery", {"namespace": NS, "query": "SELECT * FROM Linux_File"},
                            id="e")
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_NOT_SUPPORTED", id="e",
                          message_has="must name a directory")
        reply = self.c.call("EnumInstances", {"namespace": NS, "class": "Linux_File"}, id="e")
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_NOT_SUPPORTED", id="e")
        reply = self.c.call("ExecQuery", {"namespace": NS, "query":
                                          "SELECT * FROM Linux_File WHERE Directory = '%s/'"
                                          % self.dir}, id="e")
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_INVALID_QUERY", id="e")

    def test_access_denied_to_another_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run a peer as another user")
        # the peer must reach the socket: open the way to it
        for d in (self.tmpdir, os.path.dirname(self.daemon.socket_path)):
            os.chmod(d, 0o755)
        os.chmod(self.daemon.socket_path, 0o666)
        os.chmod(self.dir, 0o755)
        secret = os.path.join(self.tmpdir, "secret")
        os.mkdir(secret, 0o700)
        open(os.path.join(secret, "hidden"), "w").close()
        q = {"namespace": NS}
        # nobody may list the open directory, not the 0700 one (root may)
        q["query"] = "SELECT Name FROM Linux_File WHERE Directory = '%s'" % self.dir
        reply = as_user(self.daemon.socket_path, NOBODY, NOBODY, "ExecQuery", q)
        self.assertEqual(len(reply["result"]["objects"]), 3, reply)
        q["query"] = "SELECT Name FROM Linux_File WHERE Directory = '%s'" % secret
        reply = as_user(self.daemon.socket_path, NOBODY, NOBODY, "ExecQuery", q)
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_ACCESS_DENIED", id=1,
                          message_has="uid 65534 may not list directory")
        self.assertEqual(len(self.query(q["query"])), 1)
        # nor one file inside it, by query or by path
        q["query"] = "SELECT Name FROM Linux_File WHERE Path = '%s/hidden'" % secret
        reply = as_user(self.daemon.socket_path, NOBODY, NOBODY, "ExecQuery", q)
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_ACCESS_DENIED", id=1)
        reply = as_user(self.daemon.socket_path, NOBODY, NOBODY, "GetObject",
                        {"namespace": NS, "path": 'Linux_File.Path="%s/hidden"' % secret})
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_ACCESS_DENIED", id=1)


def event_summary(ev):
    """("+", name) for a creation, ("~", name) a modification, ("-", name)
    a deletion."""
    kinds = {"__InstanceCreationEvent": "+", "__InstanceModificationEvent": "~",
             "__InstanceDeletionEvent": "-"}
    return kinds[ev["__CLASS"]], ev["TargetInstance"]["Name"]


def take_events(client, count, timeout=20):
    """The next count events (objects of Indicates, which may batch several);
    those beyond count are kept for the next call."""
    pending = client.__dict__.setdefault("pending_events", [])
    deadline = time.monotonic() + timeout
    while len(pending) < count:
        note = client.take_notes(1, timeout=max(0.1, deadline - time.monotonic()))[0]
        if note["method"] == "Indicate":
            pending.extend(note["params"]["objects"])
    taken = pending[:count]
    del pending[:count]
    return taken


def wait_event(client, pred, timeout=20):
    """The first event (kept or to come) for which pred is true; the ones
    before it are dropped."""
    deadline = time.monotonic() + timeout
    while True:
        ev = take_events(client, 1, timeout=max(0.1, deadline - time.monotonic()))[0]
        if pred(ev):
            return ev


class FileEventsTest(DaemonTestCase):

    def setUp(self):
        super().setUp()
        self.c = test_async.EventClient(self.daemon.socket_path)
        self.clients.append(self.c)
        self.dir = os.path.join(self.tmpdir, "watched")
        os.mkdir(self.dir)

    def subscribe(self, query):
        return self.c.ok("ExecNotificationQueryAsync", namespace=NS, query=query,
                         sink="s")["call"]

    def next_events(self, count):
        return [event_summary(e) for e in take_events(self.c, count)]

    def test_create_modify_delete_move(self):
        self.subscribe("SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "
                       "'Linux_File' AND TargetInstance.Directory = '%s'" % self.dir)
        # a second subscription on the same directory shares the source
        self.subscribe("SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA "
                       "'Linux_File' AND TargetInstance.Directory = '%s'" % self.dir)
        d = self.c.ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")
        self.assertEqual(d["Sources"], 1)
        self.assertEqual(d["Watches"], 1)  # one inotify watch for the directory
        a = os.path.join(self.dir, "a.txt")
        open(a, "w").close()
        self.assertEqual(self.next_events(1), [("+", "a.txt")])
        with open(a, "a") as f:
            f.write("more")
        # one write, one modification (content: size and times)
        ev = take_events(self.c, 1)[0]
        self.assertEqual(ev["__CLASS"], "__InstanceModificationEvent")
        self.assertEqual(int(ev["TargetInstance"]["Size"]), 4)
        self.assertEqual(int(ev["PreviousInstance"]["Size"]), 0)
        os.chmod(a, 0o600)
        ev = take_events(self.c, 1)[0]
        self.assertEqual(ev["TargetInstance"]["Mode"], 0o600)
        # a rename inside: deletion + creation (the deletion to both calls)
        b = os.path.join(self.dir, "b.txt")
        os.rename(a, b)
        got = self.next_events(3)
        self.assertEqual(sorted(got), [("+", "b.txt"), ("-", "a.txt"), ("-", "a.txt")])
        # moved out, moved in, deleted
        outside = os.path.join(self.tmpdir, "outside.txt")
        os.rename(b, outside)
        self.assertEqual(self.next_events(2), [("-", "b.txt"), ("-", "b.txt")])
        os.rename(outside, os.path.join(self.dir, "back.txt"))
        self.assertEqual(self.next_events(1), [("+", "back.txt")])
        os.unlink(os.path.join(self.dir, "back.txt"))
        self.assertEqual(self.next_events(2), [("-", "back.txt"), ("-", "back.txt")])
        # a file elsewhere is no event here
        open(os.path.join(self.tmpdir, "other"), "w").close()
        self.assertTrue(self.c.quiet(0.3) and not self.c.__dict__.get("pending_events"))

    def test_directory_removed_ends_the_call(self):
        call = self.subscribe("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                              "'Linux_File' AND TargetInstance.Directory = '%s'" % self.dir)
        os.rmdir(self.dir)
        note = self.c.wait_note(lambda n: n["method"] == "SetStatus")
        self.assertEqual(note["params"]["call"], call)
        self.assertEqual(note["params"]["status"], "WBEM_E_NOT_FOUND")
        d = self.c.ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")
        self.assertEqual(d["Sources"], 0)
        self.assertEqual(d["Watches"], 0)

    def test_subscription_refusals(self):
        r = self.c.rpc("ExecNotificationQueryAsync", namespace=NS, sink="s", query=
                       "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                       "'Linux_File'")
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_NOT_SUPPORTED", r)
        self.assertIn("TargetInstance.Directory", r["error"]["message"])
        r = self.c.rpc("ExecNotificationQueryAsync", namespace=NS, sink="s", query=
                       "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                       "'Linux_File' AND TargetInstance.Directory = '%s/nope'" % self.dir)
        self.assertEqual(r["error"]["data"]["status"], "WBEM_E_NOT_FOUND", r)
        if os.geteuid() != 0:
            return
        for d in (self.tmpdir, os.path.dirname(self.daemon.socket_path)):
            os.chmod(d, 0o755)
        os.chmod(self.daemon.socket_path, 0o666)
        os.chmod(self.dir, 0o700)
        reply = as_user(self.daemon.socket_path, NOBODY, NOBODY, "ExecNotificationQueryAsync",
                        {"namespace": NS, "sink": "s", "query":
                         "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                         "'Linux_File' AND TargetInstance.Directory = '%s'" % self.dir})
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_ACCESS_DENIED", id=1,
                          message_has="may not list")


def can_make_netns():
    return (os.geteuid() == 0 and shutil.which("ip") is not None and
            subprocess.run(["ip", "netns", "list"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL).returncode == 0)


class NetifTest(DaemonTestCase):
    """lwmid inside a network namespace of the test's own (unique name,
    always deleted), where the test adds and removes a dummy interface."""

    start_daemon = False

    def setUp(self):
        super().setUp()
        if not can_make_netns():
            self.skipTest("needs root and ip netns")
        self.netns = "lwmi-e2e-%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000)
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        # always deleted, even on failure (cleanups run in reverse order:
        # this one before the daemon is stopped; the kernel frees the
        # namespace when lwmid, the last process in it, exits)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.netns])
        self.daemon = self.start(prefix=["ip", "netns", "exec", self.netns])
        self.c = self.connect()

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.netns] + list(args), check=True)

    def add_interface(self, name):
        """A dummy interface, or where the kernel has none a veth pair
        (name and name + "p"); returns the names made."""
        if subprocess.run(["ip", "-n", self.netns, "link", "add", name, "type", "dummy"],
                          stderr=subprocess.DEVNULL).returncode == 0:
            return [name]
        self.ip("link", "add", name, "type", "veth", "peer", "name", name + "p")
        return [name, name + "p"]

    def interfaces(self):
        objs = self.c.call_ok("ExecQuery", {"namespace": NS, "query":
                                            "SELECT * FROM Linux_NetworkInterface"})["objects"]
        return {o["Name"]: o for o in objs}

    def test_dummy_interface_seen(self):
        self.assertEqual(sorted(self.interfaces()), ["lo"])
        made = self.add_interface("dum0")
        self.ip("link", "set", "dum0", "address", "02:00:00:00:00:42", "mtu", "1400", "up")
        self.ip("addr", "add", "192.0.2.42/24", "dev", "dum0")
        self.ip("addr", "add", "2001:db8::42/64", "dev", "dum0", "nodad")
        ifs = self.interfaces()
        self.assertEqual(sorted(ifs), sorted(made + ["lo"]))
        d = ifs["dum0"]
        self.assertEqual(d["MACAddress"], "02:00:00:00:00:42")
        self.assertEqual(d["MTU"], 1400)
        self.assertEqual(d["IPv4Addresses"], ["192.0.2.42/24"])
        self.assertIn("2001:db8::42/64", d["IPv6Addresses"])
        self.assertTrue(d["Flags"] & 1)  # IFF_UP
        self.assertEqual(ifs["lo"]["IPv4Addresses"], [])
        got = self.c.call_ok("GetObject", {"namespace": NS,
                                           "path": 'Linux_NetworkInterface.Name="dum0"'})
        self.assertEqual(got["Index"], d["Index"])
        self.ip("link", "del", "dum0")
        self.assertEqual(sorted(self.interfaces()), ["lo"])

    def test_interface_events(self):
        ev = test_async.EventClient(self.daemon.socket_path)
        self.clients.append(ev)
        ev.ok("ExecNotificationQueryAsync", namespace=NS, sink="s", query=
              "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "
              "'Linux_NetworkInterface'")
        made = self.add_interface("ev0")
        got = [event_summary(e) for e in take_events(ev, len(made))]
        self.assertEqual(sorted(got), sorted(("+", m) for m in made))
        self.ip("link", "set", made[-1], "up")  # a veth's peer first, so ev0 comes up
        self.ip("link", "set", "ev0", "up")
        obj = wait_event(ev, lambda e: event_summary(e) == ("~", "ev0") and
                         e["TargetInstance"]["Flags"] & 1)
        self.assertFalse(obj["PreviousInstance"]["Flags"] & 1)
        self.ip("addr", "add", "198.51.100.7/24", "dev", "ev0")
        obj = wait_event(ev, lambda e: "198.51.100.7/24" in
                         (e["TargetInstance"]["IPv4Addresses"] or []))
        self.assertEqual(event_summary(obj), ("~", "ev0"))
        self.ip("addr", "del", "198.51.100.7/24", "dev", "ev0")
        obj = wait_event(ev, lambda e: "198.51.100.7/24" in
                         ((e.get("PreviousInstance") or {}).get("IPv4Addresses") or []))
        self.assertEqual(event_summary(obj), ("~", "ev0"))
        self.ip("link", "del", "ev0")
        obj = wait_event(ev, lambda e: event_summary(e) == ("-", "ev0"))
        self.assertEqual(obj["TargetInstance"]["Name"], "ev0")


if __name__ == "__main__":
    unittest.main()
