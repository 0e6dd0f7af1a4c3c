/* Fuzz target for liblwmi's side of the wire: whatever a server sends. The
 * input is fed to a connection with three calls outstanding, in chunks whose
 * size the first byte picks (so lines split across reads are covered), then
 * the error mapping runs on any response that arrived and every queued
 * notification is taken out. Nothing may crash, leak or read out of bounds,
 * whatever the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "liberr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        PendingCall *calls[3] = { 0 };
        for (size_t i = 0; i < 3; i++)
                conn_send_request(c, "Ping", NULL, &calls[i], NULL);

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
        json_t *n;
        while ((n = conn_pop_notification(c)))
                json_decref(n);
        lwmi_close(c);
        close(sv[1]);
        return 0;
}
