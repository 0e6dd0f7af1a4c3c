"""End-to-end tests of lwmid's hardening (docs/security.md "Hardening"):
the privilege drop after start (the capabilities kept, the bounding and
ambient sets, no_new_privs) and that no provider loses data to it: another
user's process reads the same with and without the drop, native process
events still come (also after the proc connector was closed and reopened),
a directory only its owner may read is still listed; and the refusal of a
configuration file or repository that another user could change.

The privilege tests need root (they skip otherwise); the process of
"another user" runs as uid/gid 65534 (setresuid in the child, no user is
created). Run with tests/e2e/run.sh."""

import os
import shutil
import signal
import subprocess
import time
import unittest
import uuid

from lwmitest import DaemonTestCase, lwmid_path
from test_proc_events import NATIVE_LINE, ProcTestCase

NS = "root/cimv2"
# CAP_DAC_READ_SEARCH (2), CAP_NET_ADMIN (12), CAP_SYS_PTRACE (19)
KEEP = (1 << 2) | (1 << 12) | (1 << 19)
# Properties of a process that change while it sleeps.
VOLATILE = {"UserModeTime", "KernelModeTime", "WorkingSetSize", "State"}
NOBODY = 65534


def status_fields(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def as_nobody():
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


def spawn_nobody(argv):
    return subprocess.Popen(argv, preexec_fn=as_nobody, stdin=subprocess.DEVNULL)


class RootTestCase(DaemonTestCase):
    start_daemon = False

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        super().setUp()
        os.chmod(self.tmpdir, 0o755)
        self.procs = []
        self.addCleanup(self.kill_procs)

    def kill_procs(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)

    def nobody_sleep(self):
        marker = "%d.%s" % (300 + len(self.procs), uuid.uuid4().int % 1000)
        p = spawn_nobody(["/bin/sleep", marker])
        self.procs.append(p)
        return p, marker

    def query(self, daemon, q):
        c = self.connect(daemon)
        return c.call_ok("ExecQuery", {"namespace": NS, "query": q})["objects"]


class TestPrivilegeDrop(RootTestCase):
    def test_capabilities_after_start(self):
        """The default: only the three kept (of those lwmid had), in every
        set but the ambient and inheritable ones, which are empty;
        no_new_privs set; the log names them."""
        d = self.start()
        ours = status_fields(os.getpid())
        st = status_fields(d.pid)
        want = KEEP & int(ours["CapPrm"], 16)
        self.assertEqual(int(st["CapEff"], 16), want, st)
        self.assertEqual(int(st["CapPrm"], 16), want, st)
        self.assertEqual(int(st["CapInh"], 16), 0, st)
        self.assertEqual(int(st["CapAmb"], 16), 0, st)
        self.assertEqual(st["NoNewPrivs"], "1", st)
        if int(ours["CapEff"], 16) & (1 << 8):  # we had CAP_SETPCAP: so had lwmid
            self.assertEqual(int(st["CapBnd"], 16), want, st)
        log = d.log_text()
        self.assertIn("privileges dropped: capabilities kept cap_dac_read_search,"
                      "cap_net_admin,cap_sys_ptrace", log)
        # and the daemon still does its work (and shuts down cleanly:
        # removing its socket and lock files needs no capability)
        self.assert_alive(d)

    def test_no_drop(self):
        d = self.start(args=["--no-drop-privileges"])
        ours = status_fields(os.getpid())
        st = status_fields(d.pid)
        self.assertEqual(st["CapEff"], ours["CapEff"])
        self.assertEqual(st["CapBnd"], ours["CapBnd"])
        self.assertEqual(st["NoNewPrivs"], ours["NoNewPrivs"])
        self.assertIn("privileges not dropped", d.log_text())

    def test_config_key(self):
        conf = os.path.join(self.tmpdir, "lwmid.conf")
        with open(conf, "w") as f:
            f.write("[daemon]\ndrop_privileges = false\n")
        d = self.start(args=["--config", conf])
        self.assertEqual(status_fields(d.pid)["CapEff"], status_fields(os.getpid())["CapEff"])
        # the command line wins over the file
        d2 = self.start(args=["--config", conf, "--drop-privileges"],
                        socket_path=os.path.join(self.tmpdir, "run2", "s.sock"))
        self.assertEqual(status_fields(d2.pid)["NoNewPrivs"], "1")

    def start_wrapped(self, setpriv_args, **kwargs):
        """lwmid started through setpriv (which execs it: the same pid)."""
        if not shutil.which("setpriv"):
            self.skipTest("needs setpriv")
        wrapper = os.path.join(self.tmpdir, "lwmid-setpriv-%d" % len(self.daemons))
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec setpriv %s %s \"$@\"\n" % (setpriv_args, lwmid_path()))
        os.chmod(wrapper, 0o700)
        old = os.environ.get("LWMID")
        os.environ["LWMID"] = wrapper
        try:
            return self.start(**kwargs)
        finally:
            if old is None:
                del os.environ["LWMID"]
            else:
                os.environ["LWMID"] = old

    def test_bounding_set_of_the_unit(self):
        """As the systemd unit starts it: a bounding set of exactly the
        kept three, no CAP_SETPCAP. Nothing more to drop from the bounding
        set (the log says so), the rest as always, and another user's
        process still reads whole."""
        d = self.start_wrapped("--inh-caps=-all --bounding-set=-all,+net_admin,+sys_ptrace,"
                               "+dac_read_search")
        st = status_fields(d.pid)
        self.assertEqual(int(st["CapEff"], 16), KEEP, st)
        self.assertEqual(int(st["CapPrm"], 16), KEEP, st)
        self.assertEqual(int(st["CapBnd"], 16), KEEP, st)
        self.assertEqual(st["NoNewPrivs"], "1", st)
        self.assertIn("(bounding set the same), no_new_privs set (securebits not locked: no "
                      "CAP_SETPCAP)", d.log_text())
        p, marker = self.nobody_sleep()
        time.sleep(0.2)
        o, = self.query(d, "SELECT ExecutablePath, CommandLine FROM Linux_Process WHERE "
                           "ProcessId = %d" % p.pid)
        self.assertEqual(o["ExecutablePath"], os.path.realpath("/bin/sleep"))

    def test_no_setpcap(self):
        """Without CAP_SETPCAP the bounding set cannot shrink: lwmid says
        so and still drops the rest."""
        d = self.start_wrapped("--inh-caps=-setpcap --bounding-set=-setpcap")
        st = status_fields(d.pid)
        self.assertEqual(int(st["CapEff"], 16), KEEP, st)
        self.assertNotEqual(int(st["CapBnd"], 16), KEEP, st)
        self.assertEqual(st["NoNewPrivs"], "1", st)
        self.assertIn("the bounding set stays cap_chown,", d.log_text())
        self.assertIn("(no CAP_SETPCAP to shrink it; no_new_privs keeps it unusable)",
                      d.log_text())

    def test_process_reads_the_same(self):
        """Another user's process (uid 65534): every stable property is
        the same with and without the drop, ExecutablePath included (it
        needs CAP_SYS_PTRACE); and over a whole enumeration, no process
        seen by both loses its ExecutablePath or CommandLine."""
        p, marker = self.nobody_sleep()
        dropped = self.start()
        full = self.start(args=["--no-drop-privileges"],
                          socket_path=os.path.join(self.tmpdir, "run2", "s.sock"))
        time.sleep(0.2)  # the exec is done
        q = "SELECT * FROM Linux_Process WHERE ProcessId = %d" % p.pid
        a, = self.query(dropped, q)
        b, = self.query(full, q)
        self.assertEqual(a["UserId"], NOBODY)
        self.assertEqual(a["ExecutablePath"], os.path.realpath("/bin/sleep"))
        self.assertEqual(a["CommandLine"], "/bin/sleep " + marker)
        for k in set(a) | set(b):
            if k not in VOLATILE:
                self.assertEqual(a.get(k), b.get(k), k)

        # Processes come and go (and turn zombie, without exe or cmdline)
        # meanwhile: read without the drop, with it, and without again; a
        # value there before and after must be there with the drop too.
        q = "SELECT ProcessId, ExecutablePath, CommandLine, UserName, Cgroup FROM Linux_Process"
        before = {o["ProcessId"]: o for o in self.query(full, q)}
        with_drop = {o["ProcessId"]: o for o in self.query(dropped, q)}
        after = {o["ProcessId"]: o for o in self.query(full, q)}
        checked = 0
        for pid in set(before) & set(with_drop) & set(after):
            for k in ("ExecutablePath", "CommandLine", "UserName", "Cgroup"):
                if before[pid].get(k) is not None and after[pid].get(k) is not None:
                    self.assertIsNotNone(with_drop[pid].get(k), (pid, k, with_drop[pid]))
                    checked += 1
        self.assertGreater(checked, 12)

    def test_private_directory_listed(self):
        """A directory of uid 65534, mode 0700: root's mode bits do not
        open it, CAP_DAC_READ_SEARCH does; a root peer lists it either way."""
        private = os.path.join(self.tmpdir, "private")
        os.mkdir(private, 0o700)
        with open(os.path.join(private, "f.txt"), "w") as f:
            f.write("x")
        os.chown(private, NOBODY, NOBODY)
        os.chown(os.path.join(private, "f.txt"), NOBODY, NOBODY)
        dropped = self.start()
        full = self.start(args=["--no-drop-privileges"],
                          socket_path=os.path.join(self.tmpdir, "run2", "s.sock"))
        q = "SELECT Path, Size, UserId FROM Linux_File WHERE Directory = '%s'" % private
        a = self.query(dropped, q)
        b = self.query(full, q)
        self.assertEqual(a, b)
        self.assertEqual([o["Path"] for o in a], [os.path.join(private, "f.txt")])


class TestEventsAfterDrop(ProcTestCase):
    """Native process events with privileges dropped (the default): the
    proc connector is opened at the first registration, after the drop,
    and again after the last one went away."""

    daemon_args = ("--fork-grace-ms", "300")

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        super().setUp()
        self.assertIn("privileges dropped", self.daemon.log_text())

    def one_round(self, sink):
        call = self.subscribe("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance "
                              "ISA 'Linux_Process' AND TargetInstance.Name = 'sleep'", sink)
        marker = "0.%d" % (uuid.uuid4().int % 10 ** 6)
        p = spawn_nobody(["/bin/sleep", marker])
        try:
            ev, = self.events_for({p.pid}, count=1)
            t = ev["TargetInstance"]
            self.assertEqual(t["CommandLine"], "/bin/sleep " + marker)
            self.assertEqual(t["ExecutablePath"], os.path.realpath("/bin/sleep"))
            self.assertEqual(t["UserId"], NOBODY)
        finally:
            p.wait(10)
        self.c.ok("CancelAsyncCall", call=call)
        d = self.daemon_object()
        self.assertEqual(d["Sources"], 0)

    def test_native_events_twice(self):
        self.assertIn(NATIVE_LINE, self.daemon.log_text())
        self.one_round("s1")
        self.one_round("s2")


class TestUntrustedFiles(DaemonTestCase):
    """A configuration file or repository that another user could change
    is refused at start, with a message naming it and the fix."""

    start_daemon = False

    def run_lwmid(self, *args):
        r = subprocess.run([lwmid_path(), "--socket", os.path.join(self.tmpdir, "run", "s.sock")]
                           + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        return r.returncode, r.stdout.decode(errors="replace")

    def conf(self, name="lwmid.conf", mode=0o644, dirname=None):
        d = os.path.join(self.tmpdir, dirname) if dirname else self.tmpdir
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write("[daemon]\nrepository = :memory:\n")
        os.chmod(path, mode)
        return path

    def test_help(self):
        out = subprocess.run([lwmid_path(), "--help"], stdout=subprocess.PIPE, timeout=10,
                             check=True).stdout.decode()
        for text in ("--drop-privileges", "--no-drop-privileges", "drop_privileges =",
                     "cap_net_admin", "cap_sys_ptrace", "cap_dac_read_search",
                     "another user could change"):
            self.assertIn(text, out)

    def test_world_writable_config(self):
        path = self.conf(mode=0o666)
        rc, out = self.run_lwmid("--config", path)
        self.assertEqual(rc, 2, out)
        self.assertIn("refusing the configuration file %s: it is world-writable (mode 0666)"
                      % path, out)
        self.assertIn("fix: chmod o-w %s" % os.path.realpath(path), out)

    def test_config_in_world_writable_directory(self):
        path = self.conf(dirname="open")
        os.chmod(os.path.dirname(path), 0o777)
        rc, out = self.run_lwmid("--config", path)
        self.assertEqual(rc, 2, out)
        self.assertIn("is world-writable (mode 0777) without the sticky bit", out)

    def test_config_in_sticky_directory_accepted(self):
        """A sticky world-writable directory (as /tmp) is fine: only the
        file's owner may replace the file there."""
        path = self.conf(dirname="sticky")
        os.chmod(os.path.dirname(path), 0o1777)
        d = self.start(args=["--config", path], repository=None)
        self.assert_alive(d)

    def test_config_owned_by_another_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        path = self.conf()
        os.chown(path, NOBODY, NOBODY)
        rc, out = self.run_lwmid("--config", path)
        self.assertEqual(rc, 2, out)
        self.assertIn("it is owned by uid 65534, who could change it", out)

    def test_world_writable_repository(self):
        repo = os.path.join(self.tmpdir, "state", "repo.db")
        d = self.start(repository=repo)
        self.assertEqual(d.stop(), None)
        os.chmod(repo, 0o646)
        rc, out = self.run_lwmid("--repository", repo)
        self.assertEqual(rc, 1, out)
        self.assertIn("refusing the repository %s: it is world-writable (mode 0646)" % repo, out)

    def test_repository_directory_world_writable(self):
        state = os.path.join(self.tmpdir, "state")
        os.mkdir(state)
        os.chmod(state, 0o757)
        rc, out = self.run_lwmid("--repository", os.path.join(state, "repo.db"))
        self.assertEqual(rc, 1, out)
        self.assertIn("its directory %s is world-writable (mode 0757) without the sticky bit"
                      % os.path.realpath(state), out)
        self.assertIn("fix: chmod o-w", out)
        self.assertFalse(os.path.exists(os.path.join(state, "repo.db")))

    def test_sighup_refuses_world_writable_config(self):
        """On SIGHUP the file is checked again: the change is refused and
        the settings in force stay."""
        path = self.conf()
        d = self.start(args=["--config", path], repository=None)
        os.chmod(path, 0o666)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "configuration not reloaded" not in d.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("configuration not reloaded, keeping the current one: refusing the "
                      "configuration file %s: it is world-writable" % path, d.log_text())
        self.assert_alive(d)


if __name__ == "__main__":
    unittest.main()
