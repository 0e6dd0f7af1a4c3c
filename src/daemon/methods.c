/* The methods lwmid answers; see methods.h and docs/protocol.md. */
#include "methods.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "config.h" /* generated: LWMI_VERSION */
#include "settings.h"
#include "log.h"
#include "mem.h"
#include "session.h"

#define PROTOCOL_VERSION 1

static const RpcParam hello_params[] = {
        { .name = "client", .type = RPC_PARAM_STRING, .max = SESSION_CLIENT_NAME_MAX },
        { .name = "keepalive_ms",
          .type = RPC_PARAM_INTEGER,
          .min = SESSION_KEEPALIVE_MIN_MS,
          .max = SESSION_KEEPALIVE_MAX_MS },
        { .name = NULL },
};

/* Hello: the client names itself and may ask for a keepalive; the answer
 * says who we are and what is in force. Optional, and may be repeated. */
static int method_hello(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                        Error *err) {
        Session *s = call->session;
        json_t *client = call->params ? json_object_get(call->params, "client") : NULL;
        json_t *keepalive = call->params ? json_object_get(call->params, "keepalive_ms") : NULL;
        (void)err;
        (void)ret_job;

        if (json_is_string(client)) {
                char *name = mem_strdup(json_string_value(client));
                if (!name)
                        return -ENOMEM;
                mem_free(s->client_name);
                s->client_name = name;
        }
        /* range checked by hello_params; TCP_USER_TIMEOUT follows it */
        if (json_is_integer(keepalive))
                session_set_keepalive(s, (unsigned)json_integer_value(keepalive), true);

        json_t *r = json_pack("{s:s, s:s, s:i, s:I, s:I}", "server", "lwmid", "version",
                              LWMI_VERSION, "protocol", PROTOCOL_VERSION, "session",
                              (json_int_t)s->id, "keepalive_ms", (json_int_t)s->keepalive_ms);
        if (!r)
                return -ENOMEM;
        log_debug("session %llu: Hello from client '%s', keepalive %u ms",
                  (unsigned long long)s->id, s->client_name ? s->client_name : "", s->keepalive_ms);
        *ret_result = r;
        return 0;
}

static const RpcParam no_params[] = { { .name = NULL } };

static int method_ping(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                       Error *err) {
        (void)call;
        (void)err;
        (void)ret_job;
        json_t *r = json_object();
        if (!r)
                return -ENOMEM;
        *ret_result = r;
        return 0;
}

static const Method method_table[] = {
        { "Hello", hello_params, method_hello },
        { "Ping", no_params, method_ping },
};

const Method *methods_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(method_table); i++)
                if (strcmp(method_table[i].name, name) == 0)
                        return &method_table[i];
        for (const Method *m = methods_data; m->name; m++)
                if (strcmp(m->name, name) == 0)
                        return m;
        for (const Method *m = methods_events; m->name; m++)
                if (strcmp(m->name, name) == 0)
                        return m;
        for (const Method *m = methods_rights; m->name; m++)
                if (strcmp(m->name, name) == 0)
                        return m;
        return NULL;
}
