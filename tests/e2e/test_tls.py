"""End-to-end tests of TLS (issue 7): lwmid --listen tls:ADDR:PORT with a
test CA made here by the openssl command (a server certificate, client
certificates for the local user `nobody`, one expired, one from another
CA), raw Python ssl clients, `lwmi --connect tls:...` with a client
certificate or a token, `lwmi token add/list/revoke`, the authentication
bound, and the liveness rules (keepalive, stall) over TLS. Run with
tests/e2e/run.sh; lwmid runs as root (tokens need the admin right)."""

import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from lwmitest import Client, DaemonTestCase, consumer_path, lwmi_path

EXIT_OK, EXIT_SERVER, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3
NS = "root/cimv2"
EXT = """[server]
subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth
[client]
extendedKeyUsage=clientAuth
"""


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=60)


class Pki:
    """A CA, a server certificate for localhost/127.0.0.1 and client
    certificates, in a directory of their own."""

    def __init__(self, directory):
        self.dir = directory
        with open(self.path("ext.cnf"), "w") as f:
            f.write(EXT)
        self.ca("ca")
        self.ca("otherca")
        self.issue("server", "localhost", "ca", "server")
        self.issue("nobody", "nobody", "ca", "client")
        self.issue("expired", "nobody", "ca", "client", days=-1)
        self.issue("foreign", "nobody", "otherca", "client")
        self.issue("ghost", "no-such-user-lwmi", "ca", "client")

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
                "-subj", "/CN=lwmi test " + name, cwd=self.dir)

    def issue(self, name, cn, ca, kind, days=2):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn,
                cwd=self.dir)
        # -days -1: valid until a day ago, i.e. expired
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-set_serial", str(int(time.time() * 1000) % 10**12), "-out", name + ".pem",
                "-days", str(days), "-extfile", "ext.cnf", "-extensions", kind, cwd=self.dir)


class TlsClient(Client):
    """A raw client over TLS: JSON-RPC lines as Client, on an ssl socket."""

    def __init__(self, address, pki, cert=None, ca="ca", timeout=10, rcvbuf=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki.path(ca + ".pem"))
        if cert:
            ctx.load_cert_chain(pki.path(cert + ".pem"), pki.path(cert + ".key"))
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        raw.connect(address)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""
        self.timeout = timeout


class TlsTestCase(DaemonTestCase):
    start_daemon = False

    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("the openssl command is needed (scripts/setup.sh)")
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            raise unittest.SkipTest("no user nobody")
        cls.pki_dir = tempfile.mkdtemp(prefix="lwmi-tls-pki-")
        cls.pki = Pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, True)

    def start_tls(self, *args, ca=True, listen="tls:127.0.0.1:0", wait=True, **kwargs):
        argv = ["--tls-cert", self.pki.path("server.pem"), "--tls-key",
                self.pki.path("server.key")]
        if ca:
            argv += ["--tls-ca", self.pki.path("ca.pem")]
        d = self.start(listen=listen, args=tuple(argv) + args, wait=wait,
                       repository=os.path.join(self.tmpdir, "repo-%d.db" % time.monotonic_ns()),
                       **kwargs)
        return d

    def tls_address(self, d):
        for n in reversed(d.notifications):
            m = re.match(r"STATUS=Listening on .* and tls ([^:]+):(\d+)$", n)
            if m:
                host = m.group(1)
                return ("127.0.0.1" if host == "0.0.0.0" else host, int(m.group(2)))
        raise AssertionError("no TLS listener: %r\n%s" % (d.notifications, d.log_text()))

    def tls(self, d, cert=None, **kwargs):
        c = TlsClient(self.tls_address(d), self.pki, cert=cert, **kwargs)
        self.clients.append(c)
        return c

    def connect_address(self, d, host="localhost"):
        return "tls:%s:%d" % (host, self.tls_address(d)[1])

    def lwmi(self, *args, env=None, code=None, timeout=30):
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("LWMI_TLS") and not k.startswith("LWMI_TOKEN")
                    and k != "LWMI_SOCKET"}
        full_env.update(env or {})
        p = subprocess.run([lwmi_path()] + list(args), capture_output=True, text=True,
                           env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)
        if code is not None:
            self.assertEqual(p.returncode, code, "exit %d, expected %d\nstdout: %s\nstderr: %s"
                             % (p.returncode, code, p.stdout, p.stderr))
        return p

    def wait_for(self, predicate, what, d, timeout=10):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for %s; lwmid's log:\n%s" % (what, d.log_text()))
            time.sleep(0.05)

    def add_token(self, d, user="nobody", name=None):
        if os.geteuid() != 0:
            self.skipTest("tokens need the admin right (root)")
        params = {"user": user}
        if name:
            params["name"] = name
        return self.connect(d).call_ok("AddToken", params)

    def refused_at_handshake_or_first_call(self, make_client):
        """A refused client certificate: with TLS 1.3 the client may
        finish its side of the handshake before the server's alert comes;
        then the first call fails instead."""
        try:
            c = make_client()
            reply = c.call("Ping")
        except (ssl.SSLError, ConnectionError, AssertionError, OSError):
            return
        self.fail("a refused certificate could still call: %r" % reply)


class TestCertificates(TlsTestCase):
    def test_client_certificate_acts_as_its_cn(self):
        d = self.start_tls()
        c = self.tls(d, cert="nobody")
        hello = c.call_ok("Hello", {"client": "tls-e2e"})
        self.assertEqual(hello["user"], "nobody")
        self.assertEqual(hello["uid"], pwd.getpwnam("nobody").pw_uid)
        objects = c.call_ok("ExecQuery", {"namespace": NS, "query":
                                          "SELECT Name FROM Linux_OperatingSystem"}, id=2)
        self.assertEqual(objects["objects"][0]["Name"], "Linux")
        self.assertRegex(d.log_text(), r"session %s: tls 127\.0\.0\.1:\d+ authenticated as "
                                       r"nobody \(uid %d\) by client certificate"
                         % (hello["session"], pwd.getpwnam("nobody").pw_uid))
        # not an admin: no tokens for it
        reply = c.call("AddToken", {"user": "nobody"}, id=3)
        self.assert_error(reply, -32000, "WBEM_E_ACCESS_DENIED", id=3)

        # lwmi with the same certificate, by host name and by address
        for host in ("localhost", "127.0.0.1"):
            p = self.lwmi("--connect", self.connect_address(d, host), "--tls-ca",
                          self.pki.path("ca.pem"), "--tls-cert", self.pki.path("nobody.pem"),
                          "--tls-key", self.pki.path("nobody.key"), "--json", "query",
                          "SELECT Name FROM Linux_OperatingSystem", code=EXIT_OK)
            self.assertEqual(json.loads(p.stdout)["Name"], "Linux")
        # the same from the environment
        p = self.lwmi("--connect", self.connect_address(d), "ping", code=EXIT_OK,
                      env={"LWMI_TLS_CA": self.pki.path("ca.pem"),
                           "LWMI_TLS_CERT": self.pki.path("nobody.pem"),
                           "LWMI_TLS_KEY": self.pki.path("nobody.key")})
        self.assertIn("pong", p.stdout)

    def test_wrong_ca_refused(self):
        d = self.start_tls()
        self.refused_at_handshake_or_first_call(lambda: self.tls(d, cert="foreign"))
        self.wait_for(lambda: re.search(r"warning lwmid: session \d+: TLS handshake with tls "
                                        r"127\.0\.0\.1:\d+ failed: .*(unable to get local "
                                        r"issuer|certificate verify failed)", d.log_text()),
                      "the failed handshake to be logged", d)
        # logged once per connection
        self.assertEqual(len(re.findall(r"TLS handshake with .* failed", d.log_text())), 1,
                         d.log_text())
        # and the client refuses a server its CA did not sign
        p = self.lwmi("--connect", self.connect_address(d), "--tls-ca",
                      self.pki.path("otherca.pem"), "ping", code=EXIT_CONNECT)
        self.assertIn("TLS handshake failed: server certificate not trusted", p.stderr)

    def test_expired_certificate_refused(self):
        d = self.start_tls()
        self.refused_at_handshake_or_first_call(lambda: self.tls(d, cert="expired"))
        self.wait_for(lambda: "certificate has expired" in d.log_text(),
                      "the expired certificate to be logged", d)
        p = self.lwmi("--connect", self.connect_address(d), "--tls-ca", self.pki.path("ca.pem"),
                      "--tls-cert", self.pki.path("expired.pem"), "--tls-key",
                      self.pki.path("expired.key"), "query",
                      "SELECT Name FROM Linux_OperatingSystem")
        self.assertNotEqual(p.returncode, EXIT_OK, p.stdout)

    def test_unknown_user_and_unauthenticated(self):
        d = self.start_tls("--tls-auth-timeout-ms", "1500")
        # a good certificate for a user this machine does not have
        c = self.tls(d, cert="ghost")
        self.assertNotIn("user", c.call_ok("Hello"))
        reply = c.call("ExecQuery", {"namespace": NS,
                                     "query": "SELECT * FROM Linux_OperatingSystem"}, id=2)
        self.assert_error(reply, -32000, "WBEM_E_ACCESS_DENIED", id=2,
                          message_has="no local user 'no-such-user-lwmi'")
        # no certificate at all: Hello and Ping only
        n = self.tls(d)
        self.assertEqual(n.call_ok("Ping"), {})
        for i, (method, params) in enumerate((
                ("GetObject", {"namespace": NS, "path": "Linux_OperatingSystem=@"}),
                ("ExecNotificationQueryAsync", {"namespace": NS, "sink": "s",
                                                "query": "SELECT * FROM __InstanceCreationEvent "
                                                         "WITHIN 1 WHERE TargetInstance ISA "
                                                         "'Linux_Process'"}),
                ("ListTokens", None))):
            reply = n.call(method, params, id=10 + i)
            self.assert_error(reply, -32000, "WBEM_E_ACCESS_DENIED", id=10 + i,
                              message_has="not authenticated")
        # both are closed once the bound passes
        t0 = time.monotonic()
        self.assertTrue(n.at_eof())
        self.assertTrue(c.at_eof())
        self.assertLess(time.monotonic() - t0, 10)
        self.assertRegex(d.log_text(), r"detail=\"not authenticated within 1500 ms")
        # a client that never even starts the handshake too
        raw = socket.create_connection(self.tls_address(d), 10)
        self.addCleanup(raw.close)
        raw.settimeout(10)
        self.assertEqual(raw.recv(100), b"")
        self.assertIn("TLS handshake not completed within 1500 ms", d.log_text())


class TestTokens(TlsTestCase):
    def test_token_accepted_and_revoked(self):
        d = self.start_tls(ca=False)
        self.assertIn("no --tls-ca, so no client certificates are asked for", d.log_text())
        info = self.add_token(d, name="e2e")
        token = info["token"]
        self.assertRegex(token, r"^lwmi_[0-9a-f]{16}_[0-9a-f]{64}$")
        self.assertEqual(token[5:21], info["id"])
        self.assertEqual(info["user"], "nobody")
        listed = self.connect(d).call_ok("ListTokens")["tokens"]
        self.assertEqual([t["id"] for t in listed], [info["id"]])
        # the secret is kept nowhere: not in the repository (only a salted
        # hash), not in the log
        repo = d.proc.args[d.proc.args.index("--repository") + 1]
        for path in (repo, repo + "-wal"):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    content = f.read()
                self.assertNotIn(token[22:].encode(), content)
                self.assertNotIn(bytes.fromhex(token[22:]), content)
        self.assertNotIn(token[22:], d.log_text())
        self.assertNotIn(token[22:], json.dumps(listed))
        self.assertEqual(set(listed[0]), {"id", "user", "name", "created", "last_used"})

        # raw: a token in Hello
        c = self.tls(d)
        hello = c.call_ok("Hello", {"client": "tok", "token": token})
        self.assertEqual(hello["user"], "nobody")
        self.assertEqual(c.call_ok("GetObject", {"namespace": NS,
                                                 "path": "Linux_OperatingSystem=@"},
                                   id=2)["Name"], "Linux")
        # lwmi: from a file, from the environment
        path = os.path.join(self.tmpdir, "token")
        with open(path, "w") as f:
            f.write(token + "\n")
        os.chmod(path, 0o600)
        lwmi_tls = ("--connect", self.connect_address(d), "--tls-ca", self.pki.path("ca.pem"))
        p = self.lwmi(*lwmi_tls, "--token-file", path, "--json", "query",
                      "SELECT Name FROM Linux_OperatingSystem", code=EXIT_OK)
        self.assertEqual(json.loads(p.stdout)["Name"], "Linux")
        self.lwmi(*lwmi_tls, "ping", env={"LWMI_TOKEN": token}, code=EXIT_OK)
        listed = self.connect(d).call_ok("ListTokens")["tokens"]
        self.assertIsInstance(listed[0]["last_used"], int)
        # a wrong secret: refused and closed, the log says why
        bad = self.tls(d)
        reply = bad.call("Hello", {"token": token[:-4] + "0000"})
        self.assert_error(reply, -32000, "WBEM_E_ACCESS_DENIED", id=1,
                          message_has="token refused")
        self.assertTrue(bad.at_eof())
        self.assertIn("token refused: wrong secret for token %s" % info["id"], d.log_text())

        # revoked: the open session is closed, new ones are refused
        p = self.lwmi("--socket", d.socket_path, "token", "revoke", info["id"], code=EXIT_OK)
        self.assertIn("revoked token %s of user nobody (1 open session closed)" % info["id"],
                      p.stdout)
        self.assertTrue(c.at_eof())
        self.assertIn("its token %s was revoked" % info["id"], d.log_text())
        again = self.tls(d)
        reply = again.call("Hello", {"token": token})
        self.assert_error(reply, -32000, "WBEM_E_ACCESS_DENIED", id=1,
                          message_has="token refused")
        p = self.lwmi(*lwmi_tls, "--token-file", path, "ping", code=EXIT_CONNECT)
        self.assertIn("token refused", p.stderr)
        self.assertEqual(self.connect(d).call_ok("ListTokens")["tokens"], [])
        self.lwmi("--socket", d.socket_path, "token", "revoke", info["id"], code=EXIT_SERVER)

    def test_lwmi_token_commands(self):
        d = self.start_tls(ca=False)
        if os.geteuid() != 0:
            self.skipTest("tokens need the admin right (root)")
        sock = ("--socket", d.socket_path)
        p = self.lwmi(*sock, "token", "add", "nobody", "--name", "ci job", code=EXIT_OK)
        token = p.stdout.strip()
        self.assertRegex(token, r"^lwmi_[0-9a-f]{16}_[0-9a-f]{64}$")
        self.assertIn("shown only this once", p.stderr)
        p = self.lwmi(*sock, "token", "list", code=EXIT_OK)
        self.assertRegex(p.stdout, r"ID\s+USER\s+NAME\s+CREATED\s+LAST USED\n%s\s+nobody\s+ci "
                                   r"job\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+-\n" % token[5:21])
        self.assertNotIn(token[22:], p.stdout)
        p = self.lwmi(*sock, "--json", "token", "add", "root", code=EXIT_OK)
        self.assertEqual(json.loads(p.stdout)["user"], "root")
        p = self.lwmi(*sock, "token", "add", "no-such-user-lwmi", code=EXIT_SERVER)
        self.assertIn("no local user 'no-such-user-lwmi'", p.stderr)
        self.lwmi(*sock, "token", "frobnicate", code=EXIT_USAGE)
        self.lwmi(*sock, "token", "revoke", code=EXIT_USAGE)
        self.lwmi(*sock, "token", "list", "--name", "x", code=EXIT_USAGE)
        # a token over a connection that is not TLS is refused (and would
        # be exposed)
        reply = self.connect(d).call("Hello", {"token": token})
        self.assert_error(reply, -32000, "WBEM_E_ACCESS_DENIED", id=1,
                          message_has="only over TLS")
        # tokens are in the repository: they survive a restart
        repo = d.proc.args[d.proc.args.index("--repository") + 1]
        self.assertIsNone(d.stop())
        d2 = self.start(listen="tls:127.0.0.1:0", repository=repo,
                        socket_path=os.path.join(self.tmpdir, "again.sock"),
                        args=("--tls-cert", self.pki.path("server.pem"), "--tls-key",
                              self.pki.path("server.key")))
        c = self.tls(d2)
        self.assertEqual(c.call_ok("Hello", {"token": token})["user"], "nobody")


class TestListen(TlsTestCase):
    def test_tls_on_any_address_plain_tcp_refused(self):
        d = self.start_tls(listen="tls:0.0.0.0:0")
        self.assertRegex(d.log_text(), r"listening on tls 0\.0\.0\.0:\d+\n")
        c = self.tls(d, cert="nobody")
        self.assertEqual(c.call_ok("Hello")["user"], "nobody")
        # the client checks that the certificate names the host it asked
        # for: 127.0.0.2 reaches this listener, the certificate names
        # localhost and 127.0.0.1 only
        port = self.tls_address(d)[1]
        p = self.lwmi("--connect", "tls:127.0.0.2:%d" % port, "--tls-ca",
                      self.pki.path("ca.pem"), "ping", code=EXIT_CONNECT)
        self.assertIn("server certificate not trusted: IP address mismatch", p.stderr)
        self.lwmi("--connect", "tls:127.0.0.1:%d" % port, "--tls-ca", self.pki.path("ca.pem"),
                  "ping", code=EXIT_OK)
        # plain TCP on a non-loopback address: refused without --insecure-tcp
        plain = self.start(wait=False, listen="0.0.0.0:0",
                           socket_path=os.path.join(self.tmpdir, "plain.sock"))
        self.assertEqual(plain.wait_exit(10), EXIT_USAGE, plain.log_text())
        self.assertIn("listen address 0.0.0.0:0 is not loopback", plain.log_text())
        self.assertIn("use tls:0.0.0.0:0 for remote clients", plain.log_text())
        # tls: without a certificate
        nocert = self.start(wait=False, listen="tls:127.0.0.1:0",
                            socket_path=os.path.join(self.tmpdir, "nocert.sock"))
        self.assertEqual(nocert.wait_exit(10), EXIT_USAGE, nocert.log_text())
        self.assertIn("give the server's certificate and key with --tls-cert", nocert.log_text())
        # a key that is not the certificate's
        bad = self.start(wait=False, listen="tls:127.0.0.1:0",
                         socket_path=os.path.join(self.tmpdir, "bad.sock"),
                         args=("--tls-cert", self.pki.path("server.pem"), "--tls-key",
                               self.pki.path("nobody.key")))
        self.assertEqual(bad.wait_exit(10), EXIT_SERVER, bad.log_text())
        self.assertRegex(bad.log_text(), r"--tls-key \S+nobody.key: cannot load it: .*mismatch")

    def test_config_keys(self):
        conf = os.path.join(self.tmpdir, "lwmid.conf")
        with open(conf, "w") as f:
            f.write("[daemon]\nlisten = tls:127.0.0.1:0\ntls_cert = %s\ntls_key = %s\n"
                    "tls_ca = %s\ntls_auth_timeout_ms = 2000\n"
                    % (self.pki.path("server.pem"), self.pki.path("server.key"),
                       self.pki.path("ca.pem")))
        d = self.start(args=("--config", conf))
        c = self.tls(d, cert="nobody")
        self.assertEqual(c.call_ok("Hello")["user"], "nobody")


ITEM_CLASS = {"__CLASS": "E2E_TlsItem", "__SUPERCLASS": None,
              "properties": {"Id": {"type": "uint32", "key": True},
                             "Name": {"type": "string"}}}


class TestEvents(TlsTestCase):
    def test_event_loops_over_tls(self):
        """liblwmi's poll integration over TLS: the example consumer
        (lwmi_run) and lwmi watch (its own poll loop on lwmi_fd) get
        events through a tls: address set up from the environment."""
        d = self.start_tls()
        writer = self.connect(d)
        writer.call_ok("PutClass", {"namespace": NS, "class": ITEM_CLASS})
        env = dict(os.environ)
        env.update({"LWMI_SOCKET": self.connect_address(d),
                    "LWMI_TLS_CA": self.pki.path("ca.pem"),
                    "LWMI_TLS_CERT": self.pki.path("nobody.pem"),
                    "LWMI_TLS_KEY": self.pki.path("nobody.key")})
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env, stdin=subprocess.DEVNULL)
                 for argv in ([consumer_path(), "-n", NS, "-c", "2",
                               "SELECT * FROM __InstanceOperationEvent "
                               "WHERE TargetInstance ISA 'E2E_TlsItem'"],
                              [lwmi_path(), "-n", NS, "--json", "watch", "--count", "2",
                               "SELECT * FROM __InstanceOperationEvent "
                               "WHERE TargetInstance ISA 'E2E_TlsItem'"])]
        for p in procs:
            self.addCleanup(lambda p=p: p.poll() is None and (p.kill(), p.wait()))
        deadline = time.monotonic() + 30
        i = 0
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            writer.call_ok("PutInstance", {"namespace": NS, "instance": {
                "__CLASS": "E2E_TlsItem", "Id": 1, "Name": "v%d" % i}}, id=i + 10)
            i += 1
            time.sleep(0.2)
        for p in procs:
            out, err = p.communicate(timeout=10)
            self.assertEqual(p.returncode, 0, err)
            events = [json.loads(line) for line in out.splitlines()]
            self.assertEqual(len(events), 2, out)
            self.assertEqual(events[1]["TargetInstance"]["__CLASS"], "E2E_TlsItem")
        self.assertGreaterEqual(len(re.findall(r"authenticated as nobody", d.log_text())), 2)


class TestLiveness(TlsTestCase):
    def test_keepalive_over_tls(self):
        d = self.start_tls("--log-level", "debug")
        # a client that answers the server's Pings stays
        alive = self.tls(d, cert="nobody")
        hello = alive.call_ok("Hello", {"keepalive_ms": 500})
        # one that does not is lost by the keepalive
        silent = self.tls(d, cert="nobody")
        lost = silent.call_ok("Hello", {"keepalive_ms": 500})
        deadline = time.monotonic() + 3
        pings = 0
        while time.monotonic() < deadline:
            alive.sock.settimeout(0.2)
            try:
                line = alive.recv_line()
            except (socket.timeout, TimeoutError, ssl.SSLError):
                continue
            msg = json.loads(line)
            if msg.get("method") == "Ping":
                pings += 1
                alive.send({"jsonrpc": "2.0", "id": msg["id"], "result": {}})
        self.assertGreaterEqual(pings, 2)
        alive.sock.settimeout(10)
        self.assertEqual(alive.call_ok("Ping", id=99), {})
        self.wait_for(lambda: re.search(r"session %s lost: reason=keepalive" % lost["session"],
                                        d.log_text()), "the silent session to be lost", d)
        self.assertNotIn("session %s lost" % hello["session"], d.log_text())

    def test_stall_over_tls(self):
        """A TLS consumer that stops reading: its output piles up in
        lwmid's buffer and the kernel's send queue (ciphertext), and the
        stall rule finds it."""
        d = self.start_tls("--stall-timeout-ms", "1000", "--keepalive-ms", "60000")
        c = self.tls(d, cert="nobody", rcvbuf=4096)
        hello = c.call_ok("Hello")
        request = {"jsonrpc": "2.0", "method": "EnumClasses",
                   "params": {"namespace": NS, "deep": True}}
        data = b"".join(json.dumps(dict(request, id=i)).encode() + b"\n" for i in range(400))
        c.sock.settimeout(1)
        try:
            c.send_raw(data)
        except (socket.timeout, TimeoutError, ssl.SSLError, OSError):
            pass  # lwmid stopped reading us: the point
        self.wait_for(lambda: re.search(r"session %s lost: reason=stall" % hello["session"],
                                        d.log_text()), "the stalled session to be lost", d,
                      timeout=20)
        self.assertRegex(d.log_text(), r"session %s lost: reason=stall .*output not taken by "
                                       r"the client for \d+ ms" % hello["session"])


if __name__ == "__main__":
    unittest.main()
