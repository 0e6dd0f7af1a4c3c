"""End-to-end tests of native Linux_Process events from the kernel's proc
connector (docs/providers.md, "Process events"), and of the fallback to
polling when lwmid may not use it (--no-proc-connector, or started without
CAP_NET_ADMIN through setpriv).

The native tests need lwmid to run as root in the initial namespaces; they
skip themselves otherwise (the log says which mode is in force). Every wait
is bounded. Run with tests/e2e/run.sh."""

import os
import shutil
import signal
import stat
import sys
import time
import unittest
import uuid

from lwmitest import DaemonTestCase, lwmid_path
from test_async import EventClient

NS = "root/cimv2"
NATIVE_LINE = "Linux_Process events are native"
POLLED_LINE = "Linux_Process events are polled only"


def spawn(argv):
    """posix_spawn (a vfork and exec at once): the exec follows the fork
    within the grace."""
    return os.posix_spawn(argv[0], argv, os.environ)


def reap(pid):
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class ProcTestCase(DaemonTestCase):
    native = True  # skip unless the daemon runs the proc connector

    def setUp(self):
        super().setUp()
        log = self.daemon.log_text()
        if self.native and NATIVE_LINE not in log:
            self.skipTest("lwmid cannot use the proc connector here (not root in the "
                          "initial namespaces?): " + log.strip().splitlines()[-1])
        self.c = EventClient(self.daemon.socket_path)
        self.clients.append(self.c)
        self.backlog = []

    def subscribe(self, query, sink="s"):
        r = self.c.ok("ExecNotificationQueryAsync", namespace=NS, query=query, sink=sink)
        return r["call"]

    def sub_error(self, query):
        r = self.c.rpc("ExecNotificationQueryAsync", namespace=NS, query=query, sink="s")
        self.assertIn("error", r, r)
        return r["error"]

    def daemon_object(self):
        return self.c.ok("GetObject", namespace="root/lwmi", path="LWMI_Daemon=@")

    def drain(self):
        """Read what lwmid has sent so far without waiting (a client that
        stops reading is stalled and dropped after a while, and Pings need
        answers); events go to the backlog."""
        self.c.sock.settimeout(0.0)
        try:
            while True:
                self.c.pump()
        except (BlockingIOError, TimeoutError, OSError):
            pass
        for n in self.c.notes:
            if n["method"] == "Indicate":
                self.backlog.extend(n["params"]["objects"])
        self.c.notes = []

    def events_for(self, pids, count=None, want=None, timeout=20):
        """The next count events (event objects of Indicates) whose
        TargetInstance.ProcessId is in pids, or, with want, all of them
        until want(events) is true; within timeout seconds. Events of those
        pids that come in the same read are kept for the next call."""
        deadline = time.monotonic() + timeout
        if want is None:
            want = lambda evs: len(evs) >= count  # noqa: E731
        got = []
        while True:
            keep = []
            for ev in self.backlog:
                if int(ev["TargetInstance"]["ProcessId"]) in pids and \
                        (count is None or len(got) < count):
                    got.append(ev)
                else:
                    keep.append(ev)
            self.backlog = keep
            if want(got):
                return got
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("events missing after %s s: got %r" % (timeout, got))
            self.c.sock.settimeout(remaining)
            try:
                self.c.pump()
            except (TimeoutError, OSError):
                continue
            for n in self.c.notes:
                if n["method"] == "Indicate":
                    self.backlog.extend(n["params"]["objects"])
            self.c.notes = []


class TestNative(ProcTestCase):
    # exec within the grace is announced at the exec: a generous grace
    # keeps a loaded test machine from announcing a fork first
    daemon_args = ("--fork-grace-ms", "300")

    def test_sleep_created_and_deleted(self):
        """/bin/sleep 0.3 with a unique argument: created at its exec with
        the right CommandLine, deleted with it and ExitCode 0, without
        WITHIN; one running source; a WITHIN is accepted and ignored."""
        marker = "0.000%06d" % (uuid.uuid4().int % 10**6)
        created = self.subscribe("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance "
                                 "ISA 'Linux_Process' AND TargetInstance.CommandLine LIKE "
                                 "'%%%s%%'" % marker)
        deleted = self.subscribe("SELECT * FROM __InstanceDeletionEvent WITHIN 5 WHERE "
                                 "TargetInstance ISA 'Linux_Process' AND "
                                 "TargetInstance.Name = 'sleep'")
        d = self.daemon_object()
        self.assertEqual((d["Sources"], d["PollTasks"]), (1, 0))
        pid = spawn(["/bin/sleep", "0.3", marker])
        t0 = time.monotonic()
        (ev,) = self.events_for({pid}, 1)
        self.assertLess(time.monotonic() - t0, 0.25, "the creation came before sleep ended")
        self.assertEqual(ev["__CLASS"], "__InstanceCreationEvent")
        target = ev["TargetInstance"]
        self.assertEqual(target["CommandLine"], "/bin/sleep 0.3 " + marker)
        self.assertEqual(target["Name"], "sleep")
        self.assertEqual(int(target["ParentProcessId"]), os.getpid())
        self.assertIsNone(target["ExitCode"])
        self.assertEqual(reap(pid), 0)
        (ev,) = self.events_for({pid}, 1)
        self.assertEqual(ev["__CLASS"], "__InstanceDeletionEvent")
        self.assertEqual(ev["TargetInstance"]["CommandLine"], "/bin/sleep 0.3 " + marker)
        self.assertEqual(int(ev["TargetInstance"]["ExitCode"]), 0)
        self.assertTrue({created, deleted})

    def test_short_process_and_exit_code(self):
        """A process that lives 20 ms, and one that exits 3 at once: each
        created (with what could be read) and deleted with its ExitCode."""
        self.subscribe("SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "
                       "'Linux_Process' AND TargetInstance.ParentProcessId = %d" % os.getpid())
        marker = "0.020%06d" % (uuid.uuid4().int % 10**6)
        pid = spawn(["/bin/sleep", marker])
        evs = self.events_for({pid}, 2)
        self.assertEqual([e["__CLASS"] for e in evs],
                         ["__InstanceCreationEvent", "__InstanceDeletionEvent"])
        self.assertEqual(evs[0]["TargetInstance"]["CommandLine"], "/bin/sleep " + marker)
        self.assertEqual(int(evs[1]["TargetInstance"]["ExitCode"]), 0)
        self.assertEqual(reap(pid), 0)

        pid = spawn(["/bin/sh", "-c", "exit 3"])
        evs = self.events_for({pid}, 2)
        self.assertEqual([e["__CLASS"] for e in evs],
                         ["__InstanceCreationEvent", "__InstanceDeletionEvent"])
        self.assertEqual(int(evs[1]["TargetInstance"]["ExitCode"]), 3)
        self.assertEqual(int(evs[0]["TargetInstance"]["ProcessId"]), pid)
        reap(pid)

        # killed by a signal: 128 + the signal, as shells say
        pid = spawn(["/bin/sleep", "30"])
        self.events_for({pid}, 1)
        os.kill(pid, 9)
        (ev,) = self.events_for({pid}, 1)
        self.assertEqual(ev["__CLASS"], "__InstanceDeletionEvent")
        self.assertEqual(int(ev["TargetInstance"]["ExitCode"]), 128 + 9)
        reap(pid)

    def test_exec_in_announced_process_is_modification(self):
        """A process announced at its first exec that execs again: a
        modification with PreviousInstance."""
        self.subscribe("SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "
                       "'Linux_Process' AND TargetInstance.ParentProcessId = %d" % os.getpid())
        pid = spawn(["/bin/sh", "-c", "sleep 0.2; exec /bin/sleep 0.2"])
        evs = self.events_for({pid}, 3)
        self.assertEqual([e["__CLASS"] for e in evs],
                         ["__InstanceCreationEvent", "__InstanceModificationEvent",
                          "__InstanceDeletionEvent"])
        mod = evs[1]
        self.assertEqual(mod["PreviousInstance"]["Name"], "sh")
        self.assertEqual(mod["TargetInstance"]["Name"], "sleep")
        self.assertEqual(mod["TargetInstance"]["CommandLine"], "/bin/sleep 0.2")
        self.assertEqual(evs[2]["TargetInstance"]["Name"], "sleep")
        reap(pid)


FORKER = r"""
import os, sys, time
pid = os.fork()
if pid == 0:
    time.sleep(float(sys.argv[1]))
    os._exit(7)
print(pid, flush=True)
os.waitpid(pid, 0)
"""


class TestNativeDefaults(ProcTestCase):
    """The default grace (10 ms)."""

    def test_fork_without_exec(self):
        """A forked child that never execs is announced as it is (the
        parent's command line) after the grace, and deleted with its exit
        code."""
        self.subscribe("SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "
                       "'Linux_Process' AND TargetInstance.Name = 'python3'")
        import subprocess
        forker = subprocess.Popen(["/usr/bin/python3", "-c", FORKER, "0.5"],
                                  stdout=subprocess.PIPE)
        try:
            child = int(forker.stdout.readline())
            t0 = time.monotonic()
            (ev,) = self.events_for({child}, 1)
            self.assertLess(time.monotonic() - t0, 0.45, "announced before it exited")
            self.assertEqual(ev["__CLASS"], "__InstanceCreationEvent")
            self.assertEqual(int(ev["TargetInstance"]["ParentProcessId"]), forker.pid)
            self.assertIn("os.fork()", ev["TargetInstance"]["CommandLine"])
            (ev,) = self.events_for({child}, 1)
            self.assertEqual(ev["__CLASS"], "__InstanceDeletionEvent")
            self.assertEqual(int(ev["TargetInstance"]["ExitCode"]), 7)
        finally:
            forker.wait(10)
            forker.stdout.close()

    def test_burst(self):
        """2,000 short processes, at most 64 at a time: 2,000 creations and
        2,000 deletions, or LWMI_Daemon.SourceOverflows says that some were
        lost (then the counts are reported, never silently short)."""
        total = 2000
        # spawning 2,000 processes takes a few seconds on an idle machine
        # and minutes on a loaded one: a longer bound than other tests
        signal.alarm(400)
        self.subscribe("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                       "'Linux_Process' AND TargetInstance.ParentProcessId = %d" % os.getpid(),
                       sink="c")
        self.subscribe("SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA "
                       "'Linux_Process' AND TargetInstance.ParentProcessId = %d" % os.getpid(),
                       sink="d")
        overflows0 = int(self.daemon_object()["SourceOverflows"])
        pids, running = set(), []
        deadline = time.monotonic() + 300
        for _ in range(total):
            if len(running) >= 64:
                reap(running.pop(0))
            pid = spawn(["/bin/true"])
            pids.add(pid)
            running.append(pid)
            if len(pids) % 16 == 0:
                self.drain()
            self.assertLess(time.monotonic(), deadline, "spawning took too long")
        for pid in running:
            reap(pid)
        sys.stderr.write("spawned in %.1f s; " % (time.monotonic() - deadline + 300))
        created, deleted = set(), set()

        def done(evs):
            for e in evs[done.seen:]:
                pid = int(e["TargetInstance"]["ProcessId"])
                (created if e["__CLASS"] == "__InstanceCreationEvent" else deleted).add(pid)
            done.seen = len(evs)
            return len(created) == total and len(deleted) == total
        done.seen = 0
        try:
            self.events_for(pids, want=done, timeout=60)
        except AssertionError:
            overflows = int(self.daemon_object()["SourceOverflows"]) - overflows0
            if overflows == 0:
                raise AssertionError("%d creations and %d deletions of %d processes, and no "
                                     "overflow counted" % (len(created), len(deleted), total))
            sys.stderr.write("burst: %d creations, %d deletions of %d; %d overflows counted\n"
                             % (len(created), len(deleted), total, overflows))
            return
        sys.stderr.write("all events after %.1f s\n" % (time.monotonic() - deadline + 300))
        self.assertEqual(created, pids)
        self.assertEqual(deleted, pids)


class TestFallbackOption(ProcTestCase):
    """--no-proc-connector: WITHIN polls, a query without it fails naming
    the reason; the log says so once."""
    native = False
    daemon_args = ("--no-proc-connector",)

    def test_polled(self):
        log = self.daemon.log_text()
        self.assertEqual(log.count(POLLED_LINE), 1, log)
        self.assertNotIn(NATIVE_LINE, log)
        e = self.sub_error("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                           "'Linux_Process'")
        self.assertEqual(e["data"]["status"], "WBEM_E_INVALID_QUERY")
        self.assertIn("--no-proc-connector", e["message"])
        self.assertIn("add WITHIN", e["message"])
        marker = "0.000%06d" % (uuid.uuid4().int % 10**6)
        self.subscribe("SELECT * FROM __InstanceCreationEvent WITHIN 0.5 WHERE TargetInstance "
                       "ISA 'Linux_Process' AND TargetInstance.CommandLine LIKE '%%%s%%'"
                       % marker)
        d = self.daemon_object()
        self.assertEqual((d["Sources"], d["PollTasks"]), (0, 1))
        pid = spawn(["/bin/sleep", "1.5", marker])
        try:
            (ev,) = self.events_for({pid}, 1, timeout=10)
            self.assertEqual(ev["TargetInstance"]["CommandLine"], "/bin/sleep 1.5 " + marker)
        finally:
            reap(pid)


class TestFallbackCapability(ProcTestCase):
    """Started without CAP_NET_ADMIN (setpriv drops it from the bounding
    set): the same fallback, with the privilege named."""
    native = False
    start_daemon = False

    def setUp(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv")
        DaemonTestCase.setUp(self)
        wrapper = os.path.join(self.tmpdir, "lwmid-no-net-admin")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec setpriv --inh-caps=-net_admin --bounding-set=-net_admin "
                    "%s \"$@\"\n" % lwmid_path())
        os.chmod(wrapper, stat.S_IRWXU)
        old = os.environ.get("LWMID")
        os.environ["LWMID"] = wrapper
        try:
            self.daemon = self.start()
        finally:
            if old is None:
                del os.environ["LWMID"]
            else:
                os.environ["LWMID"] = old
        self.c = EventClient(self.daemon.socket_path)
        self.clients.append(self.c)
        self.backlog = []

    def test_polled_without_privilege(self):
        log = self.daemon.log_text()
        self.assertEqual(log.count(POLLED_LINE), 1, log)
        self.assertIn("CAP_NET_ADMIN", log)
        e = self.sub_error("SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA "
                           "'Linux_Process'")
        self.assertEqual(e["data"]["status"], "WBEM_E_INVALID_QUERY")
        self.assertIn("needs CAP_NET_ADMIN in the initial user and pid namespaces",
                      e["message"])
        self.subscribe("SELECT * FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance "
                       "ISA 'Linux_Process'")
        d = self.daemon_object()
        self.assertEqual((d["Sources"], d["PollTasks"]), (0, 1))


if __name__ == "__main__":
    unittest.main()
