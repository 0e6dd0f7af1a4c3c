/* The methods lwmid answers; see methods.h and docs/protocol.md. */
#include "methods.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "config.h" /* generated: LWMI_VERSION */
#include "settings.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include "session.h"
#include "tokens.h"

#define PROTOCOL_VERSION 1

static const RpcParam hello_params[] = {
        { .name = "client", .type = RPC_PARAM_STRING, .max = SESSION_CLIENT_NAME_MAX },
        { .name = "keepalive_ms",
          .type = RPC_PARAM_INTEGER,
          .min = SESSION_KEEPALIVE_MIN_MS,
          .max = SESSION_KEEPALIVE_MAX_MS },
        { .name = "token", .type = RPC_PARAM_STRING, .max = 256 },
        { .name = NULL },
};

/* A token in Hello: only over TLS (anywhere else it would travel in clear
 * or be pointless), once. A refused token closes the session after the
 * error: one guess per connection, each behind a handshake. The peer
 * learns only "token refused"; the log says why. */
static int hello_token(Session *s, const char *text, Error *err) {
        Server *server = s->server;
        _cleanup_free_ char *user = NULL;
        char id[TOKENS_ID_HEX + 1];
        Error why = { 0 };
        int r;

        if (!s->tls)
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "tokens are accepted only over TLS (this connection is not "
                                 "encrypted: the token must be considered exposed)");
        if (s->authenticated)
                return error_set(err, WBEM_E_INVALID_OPERATION,
                                 "already authenticated as %s by %s", s->account,
                                 s->token_id[0] ? "a token" : "a client certificate");
        if (!server->tokens)
                return error_set(err, WBEM_E_FAILED, "no token store (repository not open)");
        r = tokens_verify(server->tokens, text, strlen(text), &user, id, &why);
        if (r == 0)
                r = session_authenticate(s, user, id, &why);
        if (r == -ENOMEM)
                return error_from_errno(err, r);
        if (r == WBEM_E_QUOTA_VIOLATION) {
                /* the token is good; its user has all its sessions open */
                log_info("session %llu refused: %s", (unsigned long long)s->id, why.message);
                s->close_after_answer = true;
                return error_set(err, r, "%s", why.message);
        }
        if (r != 0) {
                log_warning("session %llu: %s: token refused: %s", (unsigned long long)s->id,
                            s->peer, why.message);
                snprintf(s->auth_problem, sizeof(s->auth_problem), "token refused");
                s->close_after_answer = true;
                return error_set(err, WBEM_E_ACCESS_DENIED, "token refused");
        }
        return 0;
}

/* Hello: the client names itself and may ask for a keepalive; the answer
 * says who we are and what is in force. Optional, and may be repeated. */
static int method_hello(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                        Error *err) {
        Session *s = call->session;
        json_t *client = call->params ? json_object_get(call->params, "client") : NULL;
        json_t *keepalive = call->params ? json_object_get(call->params, "keepalive_ms") : NULL;
        json_t *token = call->params ? json_object_get(call->params, "token") : NULL;
        int r;
        (void)ret_job;

        if (json_is_string(token)) {
                r = hello_token(s, json_string_value(token), err);
                if (r != 0)
                        return r;
        }

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

        json_t *result = json_pack("{s:s, s:s, s:i, s:I, s:I}", "server", "lwmid", "version",
                                   LWMI_VERSION, "protocol", PROTOCOL_VERSION, "session",
                                   (json_int_t)s->id, "keepalive_ms",
                                   (json_int_t)s->keepalive_ms);
        if (!result)
                return -ENOMEM;
        /* Over TLS: whom the session acts as, once it knows. */
        if (s->tls && s->authenticated &&
            (json_object_set_new(result, "user", json_string(s->account)) < 0 ||
             json_object_set_new(result, "uid", json_integer((json_int_t)s->uid)) < 0)) {
                json_decref(result);
                return -ENOMEM;
        }
        log_debug("session %llu: Hello from client '%s', keepalive %u ms",
                  (unsigned long long)s->id, s->client_name ? s->client_name : "", s->keepalive_ms);
        *ret_result = result;
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
        for (const Method *m = methods_tokens; m->name; m++)
                if (strcmp(m->name, name) == 0)
                        return m;
        for (const Method *m = methods_rights; m->name; m++)
                if (strcmp(m->name, name) == 0)
                        return m;
        return NULL;
}
