/* Fuzz target for the proc connector's datagram parser
 * (src/providers/proc_connector.c): any bytes are a datagram. The parser
 * must not read outside them (ASan), must fill at most `max` events,
 * and every event must be of a known kind with a NUL-terminated comm; the
 * count of events plus skipped messages never exceeds the messages a
 * datagram of that size can hold. The input is parsed twice, once at an
 * odd address, with the same result (no dependence on alignment). */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc_connector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProcCnEvent ev[MAX_EVENTS], again[MAX_EVENTS];
        size_t n = 0, skipped = 0, n2 = 0, skipped2 = 0;
        int r = proc_connector_parse(data, size, ev, MAX_EVENTS, &n, &skipped);
        if (r != 0) {
                assert(r == -EBADMSG);
                return 0;
        }
        assert(n <= MAX_EVENTS);
        /* a netlink message takes at least a header (16 bytes) */
        assert(n + skipped >= 1 && n + skipped <= size / 16);
        for (size_t k = 0; k < n; k++) {
                assert(ev[k].kind >= PROC_CN_ACK && ev[k].kind <= PROC_CN_OVERRUN);
                assert(memchr(ev[k].comm, '\0', sizeof(ev[k].comm)) != NULL);
        }

        uint8_t *odd = malloc(size + 1);
        if (!odd)
                return 0;
        memcpy(odd + 1, data, size);
        r = proc_connector_parse(odd + 1, size, again, MAX_EVENTS, &n2, &skipped2);
        free(odd);
        assert(r == 0 && n2 == n && skipped2 == skipped);
        for (size_t k = 0; k < n; k++)
                assert(ev[k].kind == again[k].kind && ev[k].pid == again[k].pid &&
                       ev[k].tgid == again[k].tgid && ev[k].parent_tgid == again[k].parent_tgid &&
                       ev[k].timestamp_ns == again[k].timestamp_ns &&
                       ev[k].exit_code == again[k].exit_code && ev[k].err == again[k].err &&
                       strcmp(ev[k].comm, again[k].comm) == 0);
        return 0;
}
