"""End-to-end tests of lwmid's data methods (docs/protocol.md "Data
methods"): GetObject, ExecQuery, EnumInstances, EnumClasses, PutClass,
DeleteClass, PutInstance, DeleteInstance, against a real daemon with the
built-in providers and an in-memory repository; see lwmitest.py."""

import os
import pwd
import signal
import socket
import struct
import subprocess
import time

from lwmitest import DaemonTestCase, Pinger

NS = "root/cimv2"
INVALID_PARAMS = -32602
WBEM_ERROR = -32000

JOB_CLASS = {"__CLASS": "T_Job",
             "properties": {"Id": {"type": "uint32", "key": True},
                            "Name": {"type": "string"},
                            "Big": {"type": "uint64"},
                            "Delta": {"type": "sint64"},
                            "Tags": {"type": "string", "array": True},
                            "Detail": {"type": "object"}}}
DETAIL_CLASS = {"__CLASS": "T_Detail",
                "properties": {"Text": {"type": "string"}, "Count": {"type": "uint64"}}}
SUB_CLASS = {"__CLASS": "T_SubJob", "__SUPERCLASS": "T_Job",
             "properties": {"Extra": {"type": "string"}}}


def request(id, method, **params):
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


# These tests pipeline thousands of requests and read the answers without
# answering the server's keepalive Ping; under sanitizers on a loaded machine
# that can take longer than the default keepalive, so they use the longest.
SLOW_CLIENT = ("--keepalive-ms", "60000")


class DataTestCase(DaemonTestCase):
    """A connected client and helpers for the data methods."""

    daemon_args = SLOW_CLIENT

    def setUp(self):
        super().setUp()
        self.c = self.connect()

    def ok(self, method, **params):
        return self.c.call_ok(method, params)

    def fails(self, method, status, code=WBEM_ERROR, message_has=None, **params):
        reply = self.c.call(method, params, id="e")
        self.assert_error(reply, code, status, id="e", message_has=message_has)
        return reply["error"]

    def put_classes(self):
        for cls in (DETAIL_CLASS, JOB_CLASS, SUB_CLASS):
            self.assertEqual(self.ok("PutClass", namespace=NS, **{"class": cls}),
                             {"path": cls["__CLASS"]})

    def assert_system_properties(self, obj, cls, relpath):
        self.assertEqual(obj["__GENUS"], 2)
        self.assertEqual(obj["__CLASS"], cls)
        self.assertEqual(obj["__NAMESPACE"], NS)
        self.assertEqual(obj["__RELPATH"], relpath)
        self.assertEqual(obj["__PATH"], "//%s/%s:%s" % (obj["__SERVER"], NS, relpath))
        self.assertEqual(obj["__SERVER"], socket.gethostname())


class TestGetObject(DataTestCase):
    def test_singleton(self):
        os_ = self.ok("GetObject", namespace=NS, path="Linux_OperatingSystem=@")
        self.assert_system_properties(os_, "Linux_OperatingSystem", "Linux_OperatingSystem=@")
        self.assertEqual(os_["Name"], "Linux")
        self.assertEqual(os_["Version"], os.uname().release)
        # 64-bit values travel as strings
        self.assertIsInstance(os_["TotalVisibleMemorySize"], str)
        self.assertGreater(int(os_["TotalVisibleMemorySize"]), 0)

    def test_process_instance(self):
        pid = os.getpid()
        p = self.ok("GetObject", namespace=NS, path="Linux_Process.ProcessId=%d" % pid)
        self.assert_system_properties(p, "Linux_Process", "Linux_Process.ProcessId=%d" % pid)
        self.assertEqual(p["ProcessId"], pid)
        self.assertEqual(p["ParentProcessId"], os.getppid())

    def test_class(self):
        cls = self.ok("GetObject", namespace=NS, path="Linux_Process")
        self.assertEqual(cls["__GENUS"], 1)
        self.assertEqual(cls["__CLASS"], "Linux_Process")
        self.assertEqual(cls["properties"]["ProcessId"], {"type": "uint32", "key": True,
                                                          "origin": "Linux_Process"})

    def test_namespace_spellings(self):
        for ns in ("root/cimv2", "root\\cimv2", "ROOT/CIMV2", "Root\\CimV2"):
            with self.subTest(ns=ns):
                os_ = self.ok("GetObject", namespace=ns, path="linux_operatingsystem=@")
                self.assertEqual(os_["__NAMESPACE"], "root/cimv2")
                self.assertEqual(os_["__CLASS"], "Linux_OperatingSystem")

    def test_errors(self):
        self.fails("GetObject", "WBEM_E_INVALID_NAMESPACE", namespace="root/nope",
                   path="Linux_OperatingSystem=@", message_has="root/nope")
        self.fails("GetObject", "WBEM_E_NOT_FOUND", namespace=NS,
                   path="Linux_Process.ProcessId=4000000000")
        self.fails("GetObject", "WBEM_E_NOT_FOUND", namespace=NS, path="No_Such_Class")
        self.fails("GetObject", "WBEM_E_INVALID_CLASS", namespace=NS, path="No_Such.Id=1")
        self.fails("GetObject", "WBEM_E_INVALID_OBJECT_PATH", namespace=NS,
                   path="Linux_Process.ProcessId=")
        self.fails("GetObject", "WBEM_E_INVALID_OBJECT_PATH", namespace=NS,
                   path="Linux_Process.Nope=1")

    def test_param_errors(self):
        cases = [({"path": "Linux_Process"}, "namespace"),
                 ({"namespace": NS}, "path"),
                 ({"namespace": 5, "path": "Linux_Process"}, "namespace"),
                 ({"namespace": NS, "path": ["Linux_Process"]}, "path"),
                 ({"namespace": NS, "path": "Linux_Process", "deep": True}, "deep")]
        for params, name in cases:
            with self.subTest(params=params):
                self.fails("GetObject", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                           message_has=name, **params)
        reply = self.c.call("GetObject", [NS, "Linux_Process"], id="a")
        self.assert_error(reply, INVALID_PARAMS, "WBEM_E_INVALID_PARAMETER", id="a")


class TestExecQuery(DataTestCase):
    def test_own_process(self):
        pid = os.getpid()
        r = self.ok("ExecQuery", namespace=NS,
                    query="SELECT Name, CommandLine, UserId FROM Linux_Process "
                          "WHERE ProcessId = %d" % pid)
        self.assertEqual(len(r["objects"]), 1)
        p = r["objects"][0]
        with open("/proc/%d/comm" % pid) as f:
            name = f.read().rstrip("\n")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().rstrip(b"\0").replace(b"\0", b" ").decode()
        self.assertEqual(p["Name"], name)
        self.assertEqual(p["CommandLine"], cmdline)
        self.assertEqual(p["UserId"], os.getuid())
        # projected: the selected properties and the key, no others
        own = sorted(k for k in p if not k.startswith("__"))
        self.assertEqual(own, ["CommandLine", "Name", "ProcessId", "UserId"])
        self.assert_system_properties(p, "Linux_Process", "Linux_Process.ProcessId=%d" % pid)

    def test_process_with_invalid_utf8_command_line(self):
        """Bytes that are not UTF-8 in /proc do not break the answer."""
        child = subprocess.Popen([b"/bin/sh", b"-c", b"sleep 30", b"x\xff\xfey"])
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        time.sleep(0.1)
        r = self.ok("ExecQuery", namespace=NS,
                    query="SELECT CommandLine FROM Linux_Process WHERE ProcessId = %d" % child.pid)
        line = r["objects"][0]["CommandLine"]
        self.assertTrue(line.startswith("/bin/sh -c sleep 30 x"), line)
        self.assertTrue(line.endswith("y"), line)
        self.assertIn(child.pid, [p["ProcessId"] for p in self.ok(
            "ExecQuery", namespace=NS, query="SELECT * FROM Linux_Process")["objects"]])

    def test_all_processes(self):
        r = self.ok("ExecQuery", namespace=NS, query="SELECT * FROM Linux_Process")
        pids = {p["ProcessId"] for p in r["objects"]}
        self.assertIn(os.getpid(), pids)
        self.assertIn(self.daemon.pid, pids)
        self.assertIn("UserName", r["objects"][0])
        self.assertEqual(pwd.getpwuid(os.getuid()).pw_name,
                         [p for p in r["objects"] if p["ProcessId"] == os.getpid()][0]["UserName"])

    def test_singleton_query(self):
        r = self.ok("ExecQuery", namespace="root\\cimv2",
                    query="select caption from linux_operatingsystem")
        self.assertEqual(len(r["objects"]), 1)
        self.assertIn("Caption", r["objects"][0])
        self.assertEqual(r["objects"][0]["__RELPATH"], "Linux_OperatingSystem=@")

    def test_empty_result(self):
        r = self.ok("ExecQuery", namespace=NS,
                    query="SELECT * FROM Linux_Process WHERE ProcessId = 4000000000")
        self.assertEqual(r, {"objects": []})

    def test_invalid_query_position(self):
        err = self.fails("ExecQuery", "WBEM_E_INVALID_QUERY", namespace=NS,
                         query="SELECT * FORM Linux_Process")
        self.assertEqual((err["data"]["line"], err["data"]["column"]), (1, 10))
        self.assertIn("FROM", err["message"])
        err = self.fails("ExecQuery", "WBEM_E_INVALID_QUERY", namespace=NS,
                         query="SELECT *\r\n  FROM Linux_Process\n  WHERE ProcessId = = 1")
        self.assertEqual((err["data"]["line"], err["data"]["column"]), (3, 21))
        err = self.fails("ExecQuery", "WBEM_E_INVALID_QUERY", namespace=NS,
                         query="SELECT Nope FROM Linux_Process")
        self.assertEqual((err["data"]["line"], err["data"]["column"]), (1, 8))
        err = self.fails("ExecQuery", "WBEM_E_INVALID_QUERY", namespace=NS,
                         query="SELECT * FROM Linux_Process WHERE ProcessId = 1" + " " * 16384)
        self.assertIn("16384", err["message"])

    def test_other_errors(self):
        err = self.fails("ExecQuery", "WBEM_E_INVALID_CLASS", namespace=NS,
                         query="SELECT * FROM No_Such_Class")
        self.assertEqual((err["data"]["line"], err["data"]["column"]), (1, 15))
        self.fails("ExecQuery", "WBEM_E_INVALID_QUERY_TYPE", namespace=NS,
                   query="SELECT * FROM __InstanceCreationEvent")
        err = self.fails("ExecQuery", "WBEM_E_INVALID_NAMESPACE", namespace="root/none",
                         query="SELECT * FROM Linux_Process")
        self.assertNotIn("line", err["data"])

    def test_param_errors(self):
        for params, name in (({"query": "SELECT * FROM Linux_Process"}, "namespace"),
                             ({"namespace": NS}, "query"),
                             ({"namespace": NS, "query": 5}, "query"),
                             ({"namespace": NS, "query": "SELECT * FROM Linux_Process",
                               "sink": "s"}, "sink")):
            with self.subTest(params=params):
                self.fails("ExecQuery", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                           message_has=name, **params)

    def test_notification_not_answered(self):
        self.c.send({"jsonrpc": "2.0", "method": "ExecQuery",
                     "params": {"namespace": NS, "query": "SELECT * FROM Linux_Process"}})
        self.c.send({"jsonrpc": "2.0", "method": "ExecQuery",
                     "params": {"namespace": NS, "query": "SELECT * FORM x"}})
        self.assertEqual(self.c.call("Ping", id="after")["result"], {})


class TestClasses(DataTestCase):
    def test_put_get_enum_delete(self):
        self.put_classes()
        cls = self.ok("GetObject", namespace=NS, path="t_subjob")
        self.assertEqual(cls["__CLASS"], "T_SubJob")
        self.assertEqual(cls["__SUPERCLASS"], "T_Job")
        self.assertEqual(cls["__DERIVATION"], ["T_Job"])
        self.assertEqual(cls["properties"]["Id"]["origin"], "T_Job")
        self.assertEqual(cls["properties"]["Extra"], {"type": "string", "origin": "T_SubJob"})

        top = [c["__CLASS"] for c in self.ok("EnumClasses", namespace=NS)["classes"]]
        self.assertIn("T_Job", top)
        self.assertIn("Linux_Process", top)
        self.assertNotIn("T_SubJob", top)
        deep = [c["__CLASS"] for c in self.ok("EnumClasses", namespace=NS, deep=True)["classes"]]
        self.assertIn("T_SubJob", deep)
        self.assertLess(deep.index("T_Job"), deep.index("T_SubJob"))
        subs = self.ok("EnumClasses", namespace=NS, superclass="T_Job")["classes"]
        self.assertEqual([c["__CLASS"] for c in subs], ["T_SubJob"])

        # putting the same definition again changes nothing
        self.assertEqual(self.ok("PutClass", namespace=NS, **{"class": SUB_CLASS}),
                         {"path": "T_SubJob"})
        self.fails("DeleteClass", "WBEM_E_CLASS_HAS_CHILDREN", namespace=NS, **{"class": "T_Job"})
        self.assertEqual(self.ok("DeleteClass", namespace=NS, **{"class": "T_SubJob"}), {})
        self.assertEqual(self.ok("DeleteClass", namespace=NS, **{"class": "t_job"}), {})
        self.fails("GetObject", "WBEM_E_NOT_FOUND", namespace=NS, path="T_Job")

    def test_put_class_errors(self):
        self.put_classes()
        self.ok("PutInstance", namespace=NS, instance={"__CLASS": "T_Job", "Id": 1})
        cases = [
            ({"__CLASS": "T_X", "__SUPERCLASS": "No_Such", "properties": {}},
             "WBEM_E_INVALID_SUPERCLASS"),
            ({"__CLASS": "T_X", "properties": {"A": {"type": "int"}}},
             "WBEM_E_INVALID_PROPERTY_TYPE"),
            ({"__CLASS": "T_X", "bogus": 1}, "WBEM_E_INVALID_OBJECT"),
            ({"properties": {}}, "WBEM_E_INVALID_OBJECT"),
            ({"__CLASS": "Linux_Process", "properties": {}}, "WBEM_E_READ_ONLY"),
            (dict(JOB_CLASS, properties=dict(JOB_CLASS["properties"], New={"type": "string"})),
             "WBEM_E_CLASS_HAS_CHILDREN"),
            (dict(SUB_CLASS, properties={"Extra": {"type": "uint32"}}),
             "WBEM_E_CLASS_HAS_INSTANCES"),
        ]
        self.ok("DeleteInstance", namespace=NS, path="T_Job.Id=1")
        self.ok("PutInstance", namespace=NS, instance={"__CLASS": "T_SubJob", "Id": 2})
        for cls, status in cases:
            with self.subTest(cls=cls):
                self.fails("PutClass", status, namespace=NS, **{"class": cls})
        self.fails("PutClass", "WBEM_E_INVALID_NAMESPACE", namespace="root/none",
                   **{"class": DETAIL_CLASS})
        self.fails("PutClass", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                   message_has="class", namespace=NS, **{"class": "T_X"})

    def test_delete_and_enum_errors(self):
        self.fails("DeleteClass", "WBEM_E_NOT_FOUND", namespace=NS, **{"class": "No_Such"})
        self.fails("DeleteClass", "WBEM_E_READ_ONLY", namespace=NS,
                   **{"class": "Linux_Process"}, message_has="process provider")
        self.fails("DeleteClass", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                   namespace=NS, **{"class": {"__CLASS": "T_Job"}})
        self.fails("EnumClasses", "WBEM_E_INVALID_CLASS", namespace=NS, superclass="No_Such")
        self.fails("EnumClasses", "WBEM_E_INVALID_NAMESPACE", namespace="root/none")
        self.fails("EnumClasses", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                   message_has="deep", namespace=NS, deep="yes")


class TestInstances(DataTestCase):
    def setUp(self):
        super().setUp()
        self.put_classes()

    def test_put_get_update_delete(self):
        job = {"__CLASS": "T_Job", "Id": 7, "Name": "seven",
               "Big": "18446744073709551615", "Delta": "-9223372036854775808",
               "Tags": ["a", "b"],
               "Detail": {"__CLASS": "T_Detail", "Text": "inner", "Count": "9007199254740993"}}
        self.assertEqual(self.ok("PutInstance", namespace=NS, instance=job),
                         {"path": "T_Job.Id=7"})
        got = self.ok("GetObject", namespace=NS, path="T_Job.Id=7")
        self.assert_system_properties(got, "T_Job", "T_Job.Id=7")
        self.assertEqual(got["Big"], "18446744073709551615")
        self.assertEqual(got["Delta"], "-9223372036854775808")
        self.assertEqual(got["Tags"], ["a", "b"])
        self.assertEqual(got["Detail"]["__CLASS"], "T_Detail")
        self.assertEqual(got["Detail"]["Text"], "inner")
        # 2**53 + 1: a double would have lost it
        self.assertEqual(got["Detail"]["Count"], "9007199254740993")

        # an update; 64-bit input also accepted as a JSON number
        self.ok("PutInstance", namespace=NS,
                instance={"__CLASS": "T_Job", "Id": 7, "Name": "again", "Big": 42})
        got = self.ok("GetObject", namespace=NS, path="T_Job.Id=7")
        self.assertEqual((got["Name"], got["Big"], got["Detail"]), ("again", "42", None))

        self.assertEqual(self.ok("DeleteInstance", namespace=NS, path="T_Job.Id=7"), {})
        self.fails("GetObject", "WBEM_E_NOT_FOUND", namespace=NS, path="T_Job.Id=7")
        self.fails("DeleteInstance", "WBEM_E_NOT_FOUND", namespace=NS, path="T_Job.Id=7")

    def test_64_bit_values_in_queries(self):
        self.ok("PutInstance", namespace=NS,
                instance={"__CLASS": "T_Job", "Id": 1, "Big": "18446744073709551615"})
        self.ok("PutInstance", namespace=NS, instance={"__CLASS": "T_Job", "Id": 2, "Big": "5"})
        r = self.ok("ExecQuery", namespace=NS,
                    query="SELECT Big FROM T_Job WHERE Big > 9223372036854775807")
        self.assertEqual([(o["Id"], o["Big"]) for o in r["objects"]],
                         [(1, "18446744073709551615")])

    def test_enum_instances_deep_and_shallow(self):
        self.ok("PutInstance", namespace=NS, instance={"__CLASS": "T_Job", "Id": 1})
        self.ok("PutInstance", namespace=NS,
                instance={"__CLASS": "T_SubJob", "Id": 2, "Extra": "x"})
        deep = self.ok("EnumInstances", namespace=NS, **{"class": "T_Job"})["objects"]
        self.assertEqual([(o["__CLASS"], o["Id"]) for o in deep], [("T_Job", 1), ("T_SubJob", 2)])
        self.assertEqual(deep[1]["Extra"], "x")
        shallow = self.ok("EnumInstances", namespace=NS, deep=False,
                          **{"class": "T_Job"})["objects"]
        self.assertEqual([o["Id"] for o in shallow], [1])
        procs = self.ok("EnumInstances", namespace=NS, **{"class": "Linux_Process"})["objects"]
        self.assertIn(os.getpid(), [p["ProcessId"] for p in procs])
        self.fails("EnumInstances", "WBEM_E_INVALID_CLASS", namespace=NS, **{"class": "No_Such"})
        self.fails("EnumInstances", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                   message_has="deep", namespace=NS, deep=1, **{"class": "T_Job"})

    def test_put_instance_errors(self):
        cases = [
            ({"__CLASS": "T_Job", "Name": "no key"}, "WBEM_E_ILLEGAL_NULL", "Id"),
            ({"__CLASS": "T_Job", "Id": None}, "WBEM_E_ILLEGAL_NULL", "Id"),
            ({"__CLASS": "T_Job", "Id": 1, "Nope": 1}, "WBEM_E_INVALID_PROPERTY", "Nope"),
            ({"__CLASS": "T_Job", "Id": "one"}, "WBEM_E_TYPE_MISMATCH", "Id"),
            ({"__CLASS": "T_Job", "Id": 1, "Big": "18446744073709551616"},
             "WBEM_E_TYPE_MISMATCH", "Big"),
            ({"__CLASS": "T_Job", "Id": 1, "Big": -1}, "WBEM_E_TYPE_MISMATCH", "Big"),
            ({"__CLASS": "T_Job", "Id": 1, "Tags": "not an array"}, "WBEM_E_TYPE_MISMATCH",
             "Tags"),
            ({"__CLASS": "T_Job", "Id": 1, "Detail": {"__CLASS": "No_Such"}},
             "WBEM_E_INVALID_CLASS", "No_Such"),
            ({"__CLASS": "T_Job", "Id": 1, "Detail": {"__CLASS": "T_Detail", "Count": "x"}},
             "WBEM_E_TYPE_MISMATCH", "Count"),
            ({"__CLASS": "No_Such", "Id": 1}, "WBEM_E_INVALID_CLASS", "No_Such"),
            ({"Id": 1}, "WBEM_E_INVALID_OBJECT", "__CLASS"),
            ({"__CLASS": "Linux_Process", "ProcessId": 1}, "WBEM_E_NOT_SUPPORTED",
             "process provider"),
        ]
        for inst, status, fragment in cases:
            with self.subTest(inst=inst):
                self.fails("PutInstance", status, namespace=NS, instance=inst,
                           message_has=fragment)
        self.fails("PutInstance", "WBEM_E_INVALID_NAMESPACE", namespace="root/none",
                   instance={"__CLASS": "T_Job", "Id": 1})
        self.fails("PutInstance", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                   message_has="instance", namespace=NS, instance=[1])
        self.fails("PutInstance", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                   message_has="instance", namespace=NS)
        # nothing was stored by any of them
        self.assertEqual(self.ok("EnumInstances", namespace=NS, **{"class": "T_Job"}),
                         {"objects": []})

    def test_delete_instance_errors(self):
        self.fails("DeleteInstance", "WBEM_E_INVALID_OBJECT_PATH", namespace=NS, path="T_Job")
        self.fails("DeleteInstance", "WBEM_E_INVALID_OBJECT_PATH", namespace=NS,
                   path="T_Job.Id=")
        self.fails("DeleteInstance", "WBEM_E_INVALID_CLASS", namespace=NS, path="No_Such.Id=1")
        self.fails("DeleteInstance", "WBEM_E_NOT_SUPPORTED", namespace=NS,
                   path="Linux_Process.ProcessId=%d" % os.getpid())
        self.fails("DeleteInstance", "WBEM_E_NOT_SUPPORTED", namespace=NS,
                   path="Linux_OperatingSystem=@")
        self.fails("DeleteInstance", "WBEM_E_INVALID_NAMESPACE", namespace="root/none",
                   path="T_Job.Id=1")
        self.fails("DeleteInstance", "WBEM_E_INVALID_PARAMETER", code=INVALID_PARAMS,
                   message_has="path", namespace=NS, path=1)


class TestPipelinedData(DataTestCase):
    def test_mixed_requests_answered_in_order(self):
        self.put_classes()
        msgs = []
        for i in range(200):
            kind = i % 5
            if kind == 0:
                msgs.append(request(i, "PutInstance", namespace=NS,
                                    instance={"__CLASS": "T_Job", "Id": i, "Name": "j%d" % i}))
            elif kind == 1:
                msgs.append(request(i, "ExecQuery", namespace=NS,
                                    query="SELECT * FROM T_Job WHERE Id = %d" % (i - 1)))
            elif kind == 2:
                msgs.append(request(i, "Ping"))
            elif kind == 3:
                msgs.append(request(i, "ExecQuery", namespace=NS, query="SELECT * FORM T_Job"))
            else:
                msgs.append(request(i, "GetObject", namespace=NS,
                                    path="Linux_OperatingSystem=@"))
        replies = self.c.pipeline(msgs)
        self.assertEqual([r["id"] for r in replies], list(range(200)))
        for i, r in enumerate(replies):
            kind = i % 5
            if kind == 3:
                self.assertEqual(r["error"]["data"]["status"], "WBEM_E_INVALID_QUERY")
                continue
            self.assertIn("result", r, r)
            if kind == 1:
                # the PutInstance just before it was done first
                self.assertEqual([o["Name"] for o in r["result"]["objects"]], ["j%d" % (i - 1)])


def fill_class(client, name, count, extra_classes=()):
    """Create class `name` (Id key, Name, Group = Id % 10) with count
    instances, pipelined."""
    client.call_ok("PutClass", {"namespace": NS, "class": {
        "__CLASS": name, "properties": {"Id": {"type": "uint32", "key": True},
                                        "Name": {"type": "string"},
                                        "Group": {"type": "uint32"}}}})
    msgs = [request(i, "PutInstance", namespace=NS,
                    instance={"__CLASS": name, "Id": i, "Name": "item %d" % i, "Group": i % 10})
            for i in range(count)]
    replies = client.pipeline(msgs)
    bad = [r for r in replies if "result" not in r]
    if bad:
        raise AssertionError("PutInstance failed: %r" % bad[0])


class TestLargeResults(DataTestCase):
    COUNT = 10000

    def test_large_query_does_not_block_others(self):
        fill_class(self.c, "T_Item", self.COUNT)
        # a few queries back to back, so the other client has many chances
        # to be held up if the daemon ran a query in one go
        msgs = [request(i, "ExecQuery", namespace=NS, query="SELECT * FROM T_Item")
                for i in range(5)]
        pinger = Pinger(self.daemon.socket_path)
        t0 = time.monotonic()
        replies = self.c.pipeline(msgs)
        total = time.monotonic() - t0
        pings = pinger.stop()
        for r in replies:
            ids = [o["Id"] for o in r["result"]["objects"]]
            self.assertEqual(sorted(ids), list(range(self.COUNT)))
        self.assertGreater(len(pings), 10)
        # The other client was served all along: its round trips are a
        # small part of the queries' time (one turn's chunk plus the
        # writing of an answer), not the whole of it. The 90th percentile
        # is held to a tenth; the slowest one only to half, because on a
        # shared machine the pinger itself may wait for a CPU once.
        ordered = sorted(pings)
        p90 = ordered[int(len(ordered) * 0.9)]
        detail = "p90 ping %.4f s, max %.4f s, queries %.4f s, %d pings" % (
            p90, ordered[-1], total, len(pings))
        self.assertLess(p90, total / 10, detail)
        self.assertLess(ordered[-1], total / 2, detail)

    def test_selective_query_and_enum(self):
        fill_class(self.c, "T_Item", self.COUNT)
        r = self.ok("ExecQuery", namespace=NS, query="SELECT Name FROM T_Item WHERE Group = 3")
        self.assertEqual(sorted(o["Id"] for o in r["objects"]),
                         list(range(3, self.COUNT, 10)))
        self.assertEqual(r["objects"][0]["Name"], "item 3")
        r = self.ok("EnumInstances", namespace=NS, **{"class": "T_Item"})
        self.assertEqual(len(r["objects"]), self.COUNT)



class TestDisconnectMidQuery(DataTestCase):
    daemon_args = SLOW_CLIENT + ("--log-level", "debug")

    def test_disconnect_in_the_middle_of_a_query(self):
        """Clients that close the connection while their large query is
        being answered: the query is abandoned at once and its cursor
        freed (the harness fails on a leak under ASan), and the query
        queued behind it is never started."""
        fill_class(self.c, "T_Item", 10000)
        for i in range(6):
            quitter = self.connect()
            quitter.request("ExecQuery", {"namespace": NS, "query": "SELECT * FROM T_Item"}, id=1)
            quitter.request("ExecQuery", {"namespace": NS, "query": "SELECT * FROM T_Item"}, id=2)
            time.sleep(0.005)
            if i % 2 == 0:
                # RST instead of FIN: unread data and a zero linger time
                quitter.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
            quitter.close()
        self.assert_alive()
        r = self.ok("ExecQuery", namespace=NS, query="SELECT * FROM T_Item WHERE Id = 5")
        self.assertEqual(len(r["objects"]), 1)
        deadline = time.monotonic() + 30
        while self.daemon.log_text().count(": reason=") < 6:
            self.assertLess(time.monotonic(), deadline, self.daemon.log_text())
            time.sleep(0.05)
        log = self.daemon.log_text()
        self.assertIn("abandoning ExecQuery in progress", log)
        self.assertIn("not running ExecQuery", log)

    def test_half_close_still_gets_the_answers(self):
        """A client that shuts down only its sending side still reads."""
        fill_class(self.c, "T_Item", 10000)
        c = self.connect()
        c.request("ExecQuery", {"namespace": NS, "query": "SELECT * FROM T_Item"}, id=1)
        c.request("EnumInstances", {"namespace": NS, "class": "T_Item"}, id=2)
        c.sock.shutdown(socket.SHUT_WR)
        for id in (1, 2):
            r = c.recv()
            self.assertEqual(r["id"], id)
            self.assertEqual(len(r["result"]["objects"]), 10000)
        self.assertTrue(c.at_eof())


class TestShutdownMidQuery(DataTestCase):
    def test_sigterm_while_queries_run(self):
        """SIGTERM while sessions are in the middle of large queries: a
        clean exit (status 0, no sanitizer report: the harness checks)."""
        fill_class(self.c, "T_Item", 10000)
        clients = [self.connect() for _ in range(3)]
        for c in clients:
            for i in range(3):
                c.request("ExecQuery", {"namespace": NS, "query": "SELECT * FROM T_Item"}, id=i)
        time.sleep(0.02)
        self.daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.daemon.wait_exit(10), 0)
        self.assertFalse(os.path.exists(self.daemon.socket_path))


class TestResultLimits(DataTestCase):
    daemon_args = SLOW_CLIENT + ("--max-result-objects", "100", "--max-result-bytes", "64K")

    def test_limits(self):
        fill_class(self.c, "T_Item", 1000)
        err = self.fails("ExecQuery", "WBEM_E_QUOTA_VIOLATION", namespace=NS,
                         query="SELECT * FROM T_Item", message_has="ExecQueryAsync")
        self.assertIn("100 objects", err["message"])
        err = self.fails("EnumInstances", "WBEM_E_QUOTA_VIOLATION", namespace=NS,
                         message_has="max_result_objects", **{"class": "T_Item"})
        # exactly at the limit is fine
        r = self.ok("ExecQuery", namespace=NS, query="SELECT Id FROM T_Item WHERE Id < 100")
        self.assertEqual(len(r["objects"]), 100)
        # bytes: 100 objects of about 1 KiB each pass the count, not the size
        self.c.call_ok("PutClass", {"namespace": NS, "class": {
            "__CLASS": "T_Fat", "properties": {"Id": {"type": "uint32", "key": True},
                                               "Text": {"type": "string"}}}})
        self.c.pipeline([request(i, "PutInstance", namespace=NS,
                                 instance={"__CLASS": "T_Fat", "Id": i, "Text": "x" * 1000})
                         for i in range(90)])
        err = self.fails("ExecQuery", "WBEM_E_QUOTA_VIOLATION", namespace=NS,
                         query="SELECT * FROM T_Fat", message_has="max_result_bytes")
        self.assertIn("65536 bytes", err["message"])
        # the session goes on
        self.assertEqual(len(self.ok("ExecQuery", namespace=NS,
                                     query="SELECT Id FROM T_Fat")["objects"]), 90)


class TestResultLimitsReload(DaemonTestCase):
    start_daemon = False

    def test_sighup_changes_the_limits(self):
        config = os.path.join(self.tmpdir, "lwmid.conf")
        with open(config, "w") as f:
            f.write("[daemon]\nmax_result_objects = 50\n")
        self.daemon = self.start(args=("--config", config))
        c = self.connect()
        fill_class(c, "T_Item", 60)
        reply = c.call("ExecQuery", {"namespace": NS, "query": "SELECT * FROM T_Item"}, id="q")
        self.assert_error(reply, WBEM_ERROR, "WBEM_E_QUOTA_VIOLATION", id="q",
                          message_has="50 objects")
        with open(config, "w") as f:
            f.write("[daemon]\nmax_result_objects = 60\n")
        self.daemon.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "results up to 60 objects" not in self.daemon.log_text():
            self.assertLess(time.monotonic(), deadline, self.daemon.log_text())
            time.sleep(0.05)
        # also for the session opened before the reload
        r = c.call_ok("ExecQuery", {"namespace": NS, "query": "SELECT * FROM T_Item"})
        self.assertEqual(len(r["objects"]), 60)
