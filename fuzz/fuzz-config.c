/* Fuzz target for lwmid's configuration file parser (settings.c: inih fed
 * through our line-counting reader, and every key's value parser).
 *
 * The input is the file's text (a NUL-terminated copy: inih reads text, so
 * a NUL ends it as it would end a line read by fgets). Its first byte, when
 * there is more than one, chooses which settings count as given on the
 * command line, so the "command line wins" path is fuzzed too. A file that
 * parses must leave every setting within its documented range and a listen
 * address that parses; one that fails must say why. A violation aborts, so
 * the fuzzer reports it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "netaddr.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_settings(const Settings *o) {
        NetAddr a;

        if (o->max_line_bytes < SETTINGS_MIN_MAX_LINE_BYTES ||
            o->max_line_bytes > SETTINGS_MAX_MAX_LINE_BYTES ||
            o->max_result_objects < SETTINGS_MIN_MAX_RESULT_OBJECTS ||
            o->max_result_objects > SETTINGS_MAX_MAX_RESULT_OBJECTS ||
            o->max_result_bytes < SETTINGS_MIN_MAX_RESULT_BYTES ||
            o->max_result_bytes > SETTINGS_MAX_MAX_RESULT_BYTES ||
            o->min_within_ms < SETTINGS_MIN_MIN_WITHIN_MS ||
            o->min_within_ms > SETTINGS_MAX_MIN_WITHIN_MS ||
            o->keepalive_ms < SETTINGS_MIN_KEEPALIVE_MS ||
            o->keepalive_ms > SETTINGS_MAX_KEEPALIVE_MS ||
            o->stall_timeout_ms < SETTINGS_MIN_STALL_TIMEOUT_MS ||
            o->stall_timeout_ms > SETTINGS_MAX_STALL_TIMEOUT_MS ||
            o->max_backlog_bytes < SETTINGS_MIN_MAX_BACKLOG_BYTES ||
            o->max_backlog_bytes > SETTINGS_MAX_MAX_BACKLOG_BYTES ||
            o->fork_grace_ms > SETTINGS_MAX_FORK_GRACE_MS)
                abort();
        if (o->socket_path && o->socket_path[0] == '\0')
                abort();
        if (o->repository && o->repository[0] == '\0')
                abort();
        if (o->listen && netaddr_parse(o->listen, "listen", &a, NULL) != 0)
                abort();
        /* A setting given on the command line keeps its value (here the
         * default): the file never overrides it. */
        Settings d;
        settings_init(&d);
        unsigned c = o->from_cmdline;
        if (((c & SETTINGS_SET_SOCKET) && o->socket_path) ||
            ((c & SETTINGS_SET_REPOSITORY) && o->repository) ||
            ((c & SETTINGS_SET_LISTEN) && o->listen) ||
            ((c & SETTINGS_SET_LOG_LEVEL) && o->log_level != d.log_level) ||
            ((c & SETTINGS_SET_MAX_LINE_BYTES) && o->max_line_bytes != d.max_line_bytes) ||
            ((c & SETTINGS_SET_KEEPALIVE_MS) && o->keepalive_ms != d.keepalive_ms) ||
            ((c & SETTINGS_SET_INSECURE_TCP) && o->insecure_tcp != d.insecure_tcp) ||
            ((c & SETTINGS_SET_PROC_CONNECTOR) && o->proc_connector != d.proc_connector) ||
            ((c & SETTINGS_SET_MAX_BACKLOG_BYTES) && o->max_backlog_bytes != d.max_backlog_bytes))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Settings o;
        Error e;
        unsigned cmdline = 0;

        if (size > 1) {
                /* spread the byte over the low settings bits */
                cmdline = (unsigned)data[0] * 0x8181u & 0x3fffu;
                data++;
                size--;
        }
        char *text = mem_strndup((const char *)data, size);
        if (!text)
                return 0;
        settings_init(&o);
        o.from_cmdline = cmdline;
        e.message[0] = '\0';
        int r = settings_load_string(&o, "fuzz.conf", text, &e);
        if (r == 0)
                check_settings(&o);
        else if (r > 0 && e.message[0] == '\0')
                abort();
        settings_done(&o);
        mem_free(text);
        return 0;
}
