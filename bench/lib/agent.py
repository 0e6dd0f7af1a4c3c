#!/usr/bin/python3
"""Clients of three event systems behind one interface, for the peer
benchmarks (bench/kb931320, bench/fanout): MQTT 3.1.1 (mosquitto), NATS's
text protocol (nats-server) and lwmi's JSON-RPC lines (lwmid,
docs/protocol.md). Standard library only.

A *registration* is what each system calls a subscription to one event
stream: an MQTT topic filter, a NATS subject, an lwmi
ExecNotificationQueryAsync call with an equality filter. Registration i
(i >= 0) is the topic kb/c/<i>, the subject kb.c.<i>, the query
`SELECT * FROM Bench_Event WHERE Id = <i>` on one sink; an event for it
carries the publisher's CLOCK_MONOTONIC time in nanoseconds (the same clock
in every process), so a consumer computes its delivery latency.

Run as a program it is one side of a benchmark, a process of its own so
that the benchmark can really kill or stop it:

 agent.py consumer SYSTEM ADDR --first I --count N [--keepalive S]
   subscribes N registrations pipelined, prints one JSON line
   {"ready": true, "subscribe_s": ...}, then reads events, answering the
   server's keepalive duties, and obeys commands on stdin:
   `stats T0 T1` (latency of the events published in [T0, T1) ns),
   `quit`.
 agent.py publisher SYSTEM ADDR --rate R [--flood-rate F --flood-first I
   --flood-count N]
   publishes R events/s to registration 0 and F events/s round-robin to
   registrations I..I+N-1, until `quit` on stdin; `stats T0 T1` counts
   the registration-0 events sent in [T0, T1).

SYSTEM is mqtt, nats or lwmi; ADDR is tcp:HOST:PORT or unix:PATH.
"""

import argparse
import array
import json
import os
import selectors
import socket
import sys
import threading
import time

# lwmi's namespace and event class for the benchmarks (an __ExtrinsicEvent
# subclass the benchmark defines with PutClass: Id uint32, T sint64).
LWMI_NAMESPACE = "root/cimv2"
LWMI_EVENT_CLASS = "Bench_Event"


def connect(addr, timeout=10.0):
    """A connected blocking socket for tcp:HOST:PORT or unix:PATH."""
    kind, _, rest = addr.partition(":")
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        sock = socket.create_connection((host, int(port)), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    elif kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(rest)
    else:
        raise ValueError("address must be tcp:HOST:PORT or unix:PATH: %r" % addr)
    return sock


class Conn:
    """One connection: subscribe, publish, read events, keep alive."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.last_sent = time.monotonic()
        self.errors = 0
        self.first_error = None
        self.closed = False

    def send(self, data):
        self.sock.sendall(data)
        self.last_sent = time.monotonic()

    def recv(self, size=1 << 20):
        data = self.sock.recv(size)
        if not data:
            self.closed = True
        return data

    def note_error(self, text):
        self.errors += 1
        if self.first_error is None:
            self.first_error = text

    def pipelined(self, data, consume, timeout=600.0):
        """Send data from a thread while reading the answers (a
        client that only writes would stall on the server's
        back-pressure); consume(chunk) returns True once every answer
        is in. Returns the seconds from the first byte sent to the
        last answer."""
        failure = []

        def writer():
            try:
                self.sock.sendall(data)
            except OSError as e:
                failure.append(e)

        self.sock.settimeout(timeout)
        thread = threading.Thread(target=writer, daemon=True)
        start = time.monotonic()
        thread.start()
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection while subscribing"
                           + (": %s" % self.first_error if self.first_error else ""))
            if consume(chunk):
                break
        elapsed = time.monotonic() - start
        thread.join()
        if failure:
            raise failure[0]
        self.last_sent = time.monotonic()
        return elapsed

    def tick(self, now):
        """Keepalive duties; returns the seconds until the next one."""
        return 3600.0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --- MQTT 3.1.1 -----------------------------------------------------------


def mqtt_length(n):
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        if n:
            byte |= 0x80
        out.append(byte)
        if not n:
            return bytes(out)


def mqtt_string(s):
    return len(s).to_bytes(2, "big") + s


class Mqtt(Conn):
    """MQTT 3.1.1, QoS 0, clean session. The client sends PINGREQ when it
    has sent nothing for its keepalive (as client libraries do); the
    broker drops it after 1.5 x keepalive of silence."""

    def __init__(self, addr, name, keepalive=10):
        super().__init__(connect(addr))
        self.keepalive = keepalive
        var = mqtt_string(b"MQTT") + bytes([4, 0x02]) + int(keepalive).to_bytes(2, "big")
        payload = mqtt_string(name.encode())
        self.send(b"\x10" + mqtt_length(len(var) + len(payload)) + var + payload)
        ack = b""
        while len(ack) < 4:
            chunk = self.recv(4 - len(ack))
            if not chunk:
                raise ConnectionError("mosquitto closed the connection before CONNACK")
            ack += chunk
        if ack[0] != 0x20 or ack[3] != 0:
            raise ConnectionError("CONNACK refused: %r" % ack)
        self.subacks = 0

    @staticmethod
    def topic(i):
        return b"kb/c/%d" % i

    def subscribe_packets(self, topics):
        parts = []
        for k, t in enumerate(topics):
            body = (k % 65535 + 1).to_bytes(2, "big") + mqtt_string(t) + b"\x00"
            parts.append(b"\x82" + mqtt_length(len(body)) + body)
        return b"".join(parts)

    def subscribe(self, ids):
        return self.subscribe_topics([self.topic(i) for i in ids])

    def subscribe_topics(self, topics):
        want = len(topics)
        data = self.subscribe_packets(topics)
        self.subacks = 0

        def consume(chunk):
            self.feed(chunk)
            return self.subacks >= want

        return self.pipelined(data, consume)

    def _fast_subacks(self):
        """Many SUBACKs in a row (5 bytes each) counted at C speed."""
        buf = self.buf
        k = len(buf) // 5
        if k < 2 or buf[0] != 0x90:
            return
        seg = bytes(buf[:k * 5])
        if seg[0::5] != b"\x90" * k or seg[1::5] != b"\x03" * k:
            return
        self.subacks += k
        refused = seg[4::5].count(0x80)
        if refused:
            self.errors += refused
            self.first_error = self.first_error or "SUBACK refused a subscription"
        del buf[:k * 5]

    def feed(self, data):
        """Parse what arrived; returns the events' publish times."""
        self.buf += data
        self._fast_subacks()
        buf = self.buf
        events = []
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            length = 0
            mult = 1
            p = pos + 1
            complete = False
            while p < end and p - pos <= 4:
                byte = buf[p]
                p += 1
                length += (byte & 0x7F) * mult
                mult *= 128
                if not byte & 0x80:
                    complete = True
                    break
            if not complete or end - p < length:
                break
            kind = buf[pos] >> 4
            if kind == 3:  # PUBLISH
                tlen = int.from_bytes(buf[p:p + 2], "big")
                qos = (buf[pos] >> 1) & 3
                start = p + 2 + tlen + (2 if qos else 0)
                events.append(int(buf[start:p + length]))
            elif kind == 9:  # SUBACK
                self.subacks += 1
                if buf[p + length - 1] == 0x80:
                    self.note_error("SUBACK refused a subscription")
            pos = p + length
        del buf[:pos]
        return events

    def event(self, i, ts):
        topic = self.topic(i)
        payload = b"%d" % ts
        return b"\x30" + mqtt_length(2 + len(topic) + len(payload)) + mqtt_string(topic) + payload

    def tick(self, now):
        left = self.last_sent + self.keepalive - now
        if left <= 0:
            self.send(b"\xc0\x00")  # PINGREQ
            left = self.keepalive
        return left


# --- NATS -----------------------------------------------------------------


class Nats(Conn):
    """NATS's text protocol: SUB/PUB/MSG, PING answered with PONG."""

    def __init__(self, addr, name, keepalive=None):
        super().__init__(connect(addr))
        line = self._read_line()
        if not line.startswith(b"INFO "):
            raise ConnectionError("nats-server greeted with %r" % line[:80])
        opts = {"verbose": False, "pedantic": False, "name": name, "lang": "python",
            "version": "0", "protocol": 1}
        self.send(b"CONNECT " + json.dumps(opts).encode() + b"\r\nPING\r\n")
        while True:
            line = self._read_line()
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise ConnectionError("nats-server refused: %r" % line)

    def _read_line(self):
        while b"\r\n" not in self.buf:
            chunk = self.recv()
            if not chunk:
                raise ConnectionError("nats-server closed the connection")
            self.buf += chunk
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    @staticmethod
    def subject(i):
        return b"kb.c.%d" % i

    def subscribe(self, ids):
        return self.subscribe_subjects([self.subject(i) for i in ids])

    def subscribe_subjects(self, subjects):
        data = b"".join(b"SUB %s %d\r\n" % (s, k + 1) for k, s in enumerate(subjects))
        data += b"PING\r\n"
        seen = bytearray()

        # The server handles a connection's lines in order: its PONG
        # comes after every SUB is in place.
        def consume(chunk):
            seen.extend(chunk)
            if b"-ERR" in chunk:
                self.note_error(bytes(seen[seen.index(b"-ERR"):][:200]).decode(errors="replace"))
            if seen.endswith(b"PONG\r\n"):
                return True
            del seen[:-16]
            return False

        return self.pipelined(data, consume)

    def feed(self, data):
        buf = self.buf
        buf += data
        events = []
        pos = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            if buf.startswith(b"MSG ", pos):
                size = int(buf[buf.rfind(b" ", pos, eol) + 1:eol])
                if len(buf) < eol + 4 + size:
                    break
                events.append(int(buf[eol + 2:eol + 2 + size]))
                pos = eol + 4 + size
                continue
            line = bytes(buf[pos:eol])
            pos = eol + 2
            if line == b"PING":
                self.send(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                self.note_error(line.decode(errors="replace"))
        del buf[:pos]
        return events

    def event(self, i, ts):
        payload = b"%d" % ts
        return b"PUB %s %d\r\n%s\r\n" % (self.subject(i), len(payload), payload)


# --- lwmi -----------------------------------------------------------------


class Lwmi(Conn):
    """lwmi's JSON-RPC lines: requests with integer ids, server Ping
    requests (ids "s:<n>") answered at once, Indicate notifications."""

    def __init__(self, addr, name, keepalive=None):
        super().__init__(connect(addr))
        self.next_id = 1
        self.results = 0
        hello = {"client": name}
        if keepalive:
            hello["keepalive_ms"] = int(keepalive * 1000)
        self.call("Hello", **hello)

    def request(self, method, params):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        return rid, json.dumps(msg, separators=(",", ":")).encode() + b"\n"

    def call(self, method, timeout=30.0, **params):
        """One request, waiting for its answer (server Pings are
        answered meanwhile, notifications dropped)."""
        rid, data = self.request(method, params)
        self.sock.settimeout(timeout)
        self.send(data)
        while True:
            while b"\n" not in self.buf:
                chunk = self.recv()
                if not chunk:
                    raise ConnectionError("lwmid closed the connection")
                self.buf += chunk
            i = self.buf.index(b"\n")
            line = bytes(self.buf[:i])
            del self.buf[:i + 1]
            msg = json.loads(line)
            if "method" in msg:
                self._server_message(msg)
                continue
            if msg.get("id") != rid:
                continue
            if "error" in msg:
                err = msg["error"]
                raise RuntimeError("%s: %s" % (err.get("data", {}).get("status"),
                                               err.get("message")))
            return msg["result"]

    def _server_message(self, msg):
        if msg.get("method") == "Ping" and "id" in msg:
            self.send(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}},
                      separators=(",", ":")).encode() + b"\n")
        elif "id" in msg:
            self.send(json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                       "error": {"code": -32601, "message": "method not found"}},
                      separators=(",", ":")).encode() + b"\n")

    @staticmethod
    def query(i):
        return "SELECT * FROM %s WHERE Id = %d" % (LWMI_EVENT_CLASS, i)

    def subscribe(self, ids, sink="kb"):
        return self.subscribe_queries([self.query(i) for i in ids], sink)

    def subscribe_queries(self, queries, sink="kb"):
        lines = []
        rid = self.next_id
        for q in queries:
            lines.append(b'{"jsonrpc":"2.0","id":%d,"method":"ExecNotificationQueryAsync",'
                  b'"params":{"namespace":"%s","query":"%s","sink":"%s"}}\n'
                  % (rid, LWMI_NAMESPACE.encode(), q.encode(), sink.encode()))
            rid += 1
        self.next_id = rid
        want = len(queries)
        got = [0]
        pending = bytearray()

        # Answers are counted without parsing (a line without a
        # "method" member is a response); lines with one (a server
        # Ping) and errors are parsed.
        def consume(chunk):
            pending.extend(chunk)
            cut = pending.rfind(b"\n") + 1
            if not cut:
                return False
            block = bytes(pending[:cut])
            del pending[:cut]
            methods = block.count(b'"method":')
            got[0] += block.count(b"\n") - methods
            if methods or b'"error":' in block:
                for line in block.split(b"\n"):
                    if b'"method":' in line:
                        self._server_message(json.loads(line))
                    elif b'"error":' in line:
                        err = json.loads(line)["error"]
                        self.note_error("%s: %s" % (err.get("data", {}).get("status"),
                                      err.get("message")))
            return got[0] >= want

        elapsed = self.pipelined(b"".join(lines), consume)
        self.buf += pending
        return elapsed

    def feed(self, data):
        buf = self.buf
        buf += data
        events = []
        cut = buf.rfind(b"\n") + 1
        if not cut:
            return events
        block = bytes(buf[:cut])
        del buf[:cut]
        for line in block.split(b"\n"):
            if not line:
                continue
            if line.startswith(b'{"jsonrpc":"2.0","method":"Indicate"'):
                for obj in json.loads(line)["params"]["objects"]:
                    events.append(int(obj["T"]))
            elif b'"method":' in line:
                msg = json.loads(line)
                if msg.get("method") == "Indicate":
                    for obj in msg["params"]["objects"]:
                        events.append(int(obj["T"]))
                else:
                    self._server_message(msg)
            elif b'"error":' in line:
                err = json.loads(line)["error"]
                self.note_error("%s: %s" % (err.get("data", {}).get("status"), err.get("message")))
            else:
                self.results += 1
        return events

    def event(self, i, ts):
        rid = self.next_id
        self.next_id += 1
        return (b'{"jsonrpc":"2.0","id":%d,"method":"PublishEvent","params":{"namespace":"%s",'
            b'"event":{"__CLASS":"%s","Id":%d,"T":"%d"}}}\n'
            % (rid, LWMI_NAMESPACE.encode(), LWMI_EVENT_CLASS.encode(), i, ts))


SYSTEMS = {"mqtt": Mqtt, "nats": Nats, "lwmi": Lwmi}


def open_conn(system, addr, name, keepalive=None):
    if system == "mqtt":
        return Mqtt(addr, name, keepalive or 10)
    return SYSTEMS[system](addr, name, keepalive)


# --- the processes --------------------------------------------------------


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Commands:
    """Lines from stdin, read without blocking the event loop."""

    def __init__(self):
        self.buf = b""
        self.eof = False

    def read(self):
        data = os.read(0, 4096)
        if not data:
            self.eof = True
        self.buf += data
        lines = self.buf.split(b"\n")
        self.buf = lines.pop()
        return [line.decode().split() for line in lines if line.strip()]


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def run_consumer(args):
    name = "kb-consumer-%d" % os.getpid()
    try:
        conn = open_conn(args.system, args.addr, name, args.keepalive)
        seconds = conn.subscribe(range(args.first, args.first + args.count))
    except (OSError, ConnectionError, RuntimeError, ValueError) as e:
        emit({"ready": False, "error": "%s: %s" % (type(e).__name__, e)})
        return 1
    emit({"ready": True, "subscribe_s": seconds, "errors": conn.errors, "first_error": conn.first_error})

    conn.sock.settimeout(10.0)
    published = array.array("q")
    latency = array.array("q")
    received = 0
    commands = Commands()
    sel = selectors.DefaultSelector()
    sel.register(conn.sock, selectors.EVENT_READ, "sock")
    sel.register(0, selectors.EVENT_READ, "stdin")
    while True:
        timeout = conn.tick(time.monotonic())
        for key, _ in sel.select(max(0.0, timeout)):
            if key.data == "sock":
                data = conn.recv(1 << 20)
                now = time.monotonic_ns()
                if not data:
                    emit({"closed": True, "error": conn.first_error})
                    return 3
                for ts in conn.feed(data):
                    published.append(ts)
                    latency.append(now - ts)
                received = len(published)
                continue
            for cmd in commands.read():
                if cmd[0] == "quit":
                    conn.close()
                    return 0
                if cmd[0] == "stats":
                    t0, t1 = int(cmd[1]), int(cmd[2])
                    window = sorted(latency[k] for k in range(len(published))
                            if t0 <= published[k] < t1)
                    emit({"count": len(window), "received": received,
                       "p50_us": percentile(window, 50) / 1000 if window else None,
                       "p99_us": percentile(window, 99) / 1000 if window else None,
                       "max_us": window[-1] / 1000 if window else None,
                       "errors": conn.errors, "first_error": conn.first_error})
            if commands.eof:
                return 0


def run_publisher(args):
    name = "kb-publisher-%d" % os.getpid()
    try:
        conn = open_conn(args.system, args.addr, name, args.keepalive)
    except (OSError, ConnectionError, RuntimeError) as e:
        emit({"ready": False, "error": "%s: %s" % (type(e).__name__, e)})
        return 1
    conn.sock.settimeout(10.0)
    emit({"ready": True})
    sent_h = array.array("q")
    sent_f = 0
    commands = Commands()
    sel = selectors.DefaultSelector()
    sel.register(conn.sock, selectors.EVENT_READ, "sock")
    sel.register(0, selectors.EVENT_READ, "stdin")
    start = time.monotonic()
    tick = 0.005
    next_tick = start
    while True:
        now = time.monotonic()
        if now >= next_tick:
            out = []
            due_h = int((now - start) * args.rate) - len(sent_h)
            due_f = int((now - start) * args.flood_rate) - sent_f
            for _ in range(max(0, due_h)):
                ts = time.monotonic_ns()
                out.append(conn.event(0, ts))
                sent_h.append(ts)
            ts = time.monotonic_ns()
            for _ in range(max(0, due_f)):
                out.append(conn.event(args.flood_first + sent_f % args.flood_count, ts))
                sent_f += 1
            try:
                if out:
                    conn.send(b"".join(out))
                conn.tick(now)
            except OSError as e:
                emit({"error": "publishing: %s: %s" % (type(e).__name__, e)})
                return 1
            next_tick += tick
            if next_tick < now:
                next_tick = now + tick
        for key, _ in sel.select(max(0.0, next_tick - time.monotonic())):
            if key.data == "sock":
                data = conn.recv(1 << 20)
                if not data:
                    emit({"error": "the server closed the publisher's connection: %s"
                       % conn.first_error})
                    return 3
                conn.feed(data)
                continue
            for cmd in commands.read():
                if cmd[0] == "stats":
                    t0, t1 = int(cmd[1]), int(cmd[2])
                    emit({"sent": sum(1 for ts in sent_h if t0 <= ts < t1)})
                elif cmd[0] == "quit":
                    emit({"sent_h": len(sent_h), "sent_f": sent_f, "errors": conn.errors,
                       "first_error": conn.first_error})
                    conn.close()
                    return 0
            if commands.eof:
                return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=["consumer", "publisher"])
    parser.add_argument("system", choices=sorted(SYSTEMS))
    parser.add_argument("addr")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--keepalive", type=float, default=None)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--flood-rate", type=float, default=0.0)
    parser.add_argument("--flood-first", type=int, default=1)
    parser.add_argument("--flood-count", type=int, default=1)
    parser.add_argument("--tag", default="", help="ignored; marks the process as the benchmark's own")
    args = parser.parse_args()
    if args.role == "consumer":
        return run_consumer(args)
    return run_publisher(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(1)
