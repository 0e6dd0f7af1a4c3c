"""End-to-end tests of lwmid's repository file: its lock (one daemon per
repository, whatever the socket) and that what it stores survives a
restart."""

import os
import stat

from lwmitest import DaemonTestCase


class TestRepositoryLock(DaemonTestCase):
    start_daemon = False

    def repo_path(self):
        return os.path.join(self.tmpdir, "state", "lwmi", "repository.db")

    def test_lock_file_next_to_repository(self):
        repo = self.repo_path()
        d = self.start(repository=repo)
        # the missing directories are created private
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(repo)).st_mode), 0o700)
        with open(repo + ".lock") as f:
            self.assertEqual(int(f.read()), d.pid)
        self.assert_alive(d)

    def test_second_daemon_on_same_repository_refused(self):
        repo = self.repo_path()
        first = self.start(repository=repo,
                           socket_path=os.path.join(self.tmpdir, "a", "lwmid.sock"))
        second = self.start(repository=repo, wait=False,
                            socket_path=os.path.join(self.tmpdir, "b", "lwmid.sock"))
        self.assertEqual(second.wait_exit(10), 3)
        log = second.log_text()
        self.assertIn("another lwmid (pid %d) is already using the repository %s"
                      % (first.pid, repo), log)
        self.assertIn(repo + ".lock", log)
        self.assertNotIn("READY=1", second.read_notifications(0.1))
        # the refused daemon left no socket behind, and the first one is fine
        self.assertFalse(os.path.exists(second.socket_path))
        self.assert_alive(first)
        with open(repo + ".lock") as f:
            self.assertEqual(int(f.read()), first.pid)

    def test_lock_released_on_shutdown(self):
        repo = self.repo_path()
        first = self.start(repository=repo,
                           socket_path=os.path.join(self.tmpdir, "a", "lwmid.sock"))
        self.assertIsNone(first.stop())
        self.assertFalse(os.path.exists(repo + ".lock"))
        second = self.start(repository=repo,
                            socket_path=os.path.join(self.tmpdir, "b", "lwmid.sock"))
        self.assert_alive(second)

    def test_stale_lock_file_is_taken_over(self):
        repo = self.repo_path()
        os.makedirs(os.path.dirname(repo))
        with open(repo + ".lock", "w") as f:
            f.write("999999\n")  # left by a crash: not locked
        d = self.start(repository=repo)
        self.assert_alive(d)
        with open(repo + ".lock") as f:
            self.assertEqual(int(f.read()), d.pid)

    def test_memory_repositories_need_no_lock(self):
        a = self.start(socket_path=os.path.join(self.tmpdir, "a", "lwmid.sock"))
        b = self.start(socket_path=os.path.join(self.tmpdir, "b", "lwmid.sock"))
        self.assert_alive(a)
        self.assert_alive(b)
        self.assertFalse(os.path.exists(":memory:.lock"))

    def test_unusable_repository_directory(self):
        blocker = os.path.join(self.tmpdir, "file")
        with open(blocker, "w") as f:
            f.write("x")
        d = self.start(repository=os.path.join(blocker, "repository.db"), wait=False)
        self.assertEqual(d.wait_exit(10), 1)
        self.assertIn(blocker, d.log_text())
        self.assertFalse(os.path.exists(d.socket_path))


class TestRepositoryRestart(DaemonTestCase):
    start_daemon = False

    def test_classes_and_instances_survive_a_restart(self):
        repo = os.path.join(self.tmpdir, "state", "repository.db")
        d = self.start(repository=repo)
        c = self.connect(d)
        c.call_ok("PutClass", {"namespace": "root/cimv2", "class": {
            "__CLASS": "App_Job", "properties": {"Id": {"type": "uint32", "key": True},
                                                 "Size": {"type": "uint64"}}}})
        for i in range(3):
            c.call_ok("PutInstance", {"namespace": "root\\cimv2", "instance": {
                "__CLASS": "App_Job", "Id": i, "Size": str(2**64 - 1 - i)}})
        c.call_ok("DeleteInstance", {"namespace": "root/cimv2", "path": "App_Job.Id=1"})
        self.assertIsNone(d.stop())

        d = self.start(repository=repo)
        c = self.connect(d)
        cls = c.call_ok("GetObject", {"namespace": "root/cimv2", "path": "App_Job"})
        self.assertEqual(cls["properties"]["Size"]["type"], "uint64")
        r = c.call_ok("ExecQuery", {"namespace": "root/cimv2", "query": "SELECT * FROM App_Job"})
        self.assertEqual([(o["Id"], o["Size"]) for o in r["objects"]],
                         [(0, "18446744073709551615"), (2, "18446744073709551613")])
        # the providers' classes are registered again, not duplicated
        top = c.call_ok("EnumClasses", {"namespace": "root/cimv2"})["classes"]
        self.assertEqual([x["__CLASS"] for x in top].count("Linux_Process"), 1)
        self.assertEqual(len(c.call_ok("ExecQuery", {
            "namespace": "root/cimv2",
            "query": "SELECT * FROM Linux_Process WHERE ProcessId = %d" % d.pid})["objects"]), 1)

    def test_memory_repository_starts_empty(self):
        d = self.start()
        c = self.connect(d)
        c.call_ok("PutClass", {"namespace": "root/cimv2", "class": {
            "__CLASS": "App_Job", "properties": {"Id": {"type": "uint32", "key": True}}}})
        self.assertIsNone(d.stop())
        d = self.start(socket_path=os.path.join(self.tmpdir, "second", "lwmid.sock"))
        reply = self.connect(d).call("GetObject", {"namespace": "root/cimv2", "path": "App_Job"})
        self.assertEqual(reply["error"]["data"]["status"], "WBEM_E_NOT_FOUND")
