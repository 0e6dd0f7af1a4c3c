/* Fuzz target for liblwmi's side of the wire: whatever a server sends. The
 * input is fed to a connection with three calls outstanding, the first of
 * them a registration on a sink (so a result {"call": N} enters a call and
 * Indicate, SetStatus and EventsDropped for it reach the callbacks), in
 * chunks whose size the first byte picks (so lines split across reads are
 * covered); then the error mapping runs on any response that arrived and
 * lwmi_dispatch() delivers everything queued, and after that the
 * connection is broken so every open call gets its transport failure.
 * Nothing may crash, leak or read out of bounds, whatever the bytes. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "liberr.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_indicate(lwmi_sink *sink, uint64_t call_id, uint64_t seq, json_t *objects,
                        void *userdata) {
        (void)sink;
        (void)call_id;
        (void)seq;
        *(size_t *)userdata += json_array_size(objects);
}

static void on_status(lwmi_sink *sink, uint64_t call_id, const char *status, const char *message,
                      void *userdata) {
        (void)sink;
        (void)call_id;
        *(size_t *)userdata += strlen(status) + strlen(message);
}

static void on_dropped(lwmi_sink *sink, uint64_t first, uint64_t last, uint64_t count,
                       void *userdata) {
        (void)sink;
        *(size_t *)userdata += (size_t)(first + last + count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return 0;
        lwmi_conn *c = NULL;
        if (conn_new(sv[0], &c, NULL) < 0) {
                close(sv[0]);
                close(sv[1]);
                return 0;
        }
        lwmi_set_max_message(c, 4096);
        lwmi_set_max_queued(c, 65536);
        size_t seen = 0;
        static const lwmi_sink_ops ops = { on_indicate, on_status, on_dropped };
        lwmi_sink *sink = lwmi_sink_new(c, &ops, &seen);
        PendingCall *calls[3] = { 0 };
        for (size_t i = 0; i < 3; i++)
                conn_send_request(c, i == 0 ? "ExecNotificationQueryAsync" : "Ping", NULL,
                                  &calls[i], NULL);
        if (sink && calls[0]) {
                calls[0]->sink = sink;
                calls[0]->reg = mem_calloc(1, sizeof(AsyncCall));
        }

        size_t chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
        for (size_t off = 0; off < size; off += chunk) {
                size_t n = size - off < chunk ? size - off : chunk;
                lwmi_error err;
                if (conn_feed(c, data + off, n, &err) < 0)
                        break;
        }
        for (size_t i = 0; i < 3; i++) {
                if (!calls[i])
                        continue;
                if (calls[i]->done) {
                        json_t *error = json_object_get(calls[i]->response, "error");
                        lwmi_error err;
                        if (error)
                                liberr_from_rpc(&err, error);
                }
                conn_pending_release(c, calls[i]);
        }
        lwmi_error err;
        while (lwmi_dispatch(c, &err) == 1)
                ;
        lwmi_error lost;
        liberr_set(&lost, -ECONNRESET, LWMI_ERROR_CONNECTION_LOST, "WBEM_E_TRANSPORT_FAILURE",
                   "fuzz");
        conn_break(c, -ECONNRESET, &lost);
        while (lwmi_dispatch(c, &err) == 1)
                ;
        lwmi_sink_free(sink);
        lwmi_close(c);
        close(sv[1]);
        return 0;
}
