#!/bin/bash
# bench/kb931320/release.sh: how long the loop spends on releasing a lost
# session, and what another client waits meanwhile. Starts LWMID (default
# build/src/daemon/lwmid; WRAP, e.g. "perf record -g", runs it under a
# tool), and REPS times (default 3): subscribes N (default 100,000)
# distinct equality filters on one connection, closes it while a healthy
# client sends Ping after Ping (1 ms apart), then prints that client's
# worst round trip and, from lwmid's debug log, each release's
# released_in_us and each malloc_trim's duration.
#
# Usage: [LWMID=...] [N=...] [REPS=...] bench/kb931320/release.sh
cd "$(dirname "$0")/../.."
T=$(mktemp -d)
${WRAP:-} ${LWMID:-build/src/daemon/lwmid} --socket $T/s --repository :memory: --log-level debug 2>$T/log &
W=$!
sleep 1
python3 - $T/s <<'PY'
import sys,os,time,threading
sys.path.insert(0,'bench/lib')
import agent
a='unix:'+sys.argv[1]
s=agent.Lwmi(a,'setup')
s.call("PutClass", namespace=agent.LWMI_NAMESPACE, **{"class": {"__CLASS": agent.LWMI_EVENT_CLASS, "__SUPERCLASS": "__ExtrinsicEvent","properties": {"Id": {"type": "uint32"}, "T": {"type": "sint64"}}}})
h=agent.Lwmi(a,'healthy')
for r in range(int(os.environ.get("REPS","3"))):
    c2=agent.Lwmi(a,'c%d'%r)
    c2.subscribe(range(1,int(os.environ.get("N","100000"))+1))
    time.sleep(0.3)
    # healthy pings every 1 ms meanwhile: max round trip
    worst=[0.0]; stop=[False]
    def pinger():
        while not stop[0]:
            t=time.monotonic(); h.call("Ping"); worst[0]=max(worst[0],time.monotonic()-t); time.sleep(0.001)
    th=threading.Thread(target=pinger); th.start()
    time.sleep(0.1)
    c2.close()
    time.sleep(1.0)
    stop[0]=True; th.join()
    print("healthy Ping worst %.1f ms" % (worst[0]*1000))
PY
kill -TERM $W; wait $W
grep -E "released_in_us=[0-9]{3,}|malloc_trim" $T/log | sed -E 's/.*(registrations=[0-9]+ released_in_us=[0-9]+).*/\1/; s/.*(malloc_trim.*)/\1/'
rm -rf $T
