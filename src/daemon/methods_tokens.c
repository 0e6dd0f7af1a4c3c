/* The token methods: AddToken, ListTokens, RevokeToken (tokens.h,
 * docs/protocol.md). They need the admin right on root, which the session
 * checks before they run (rights.c's method table). */
#include <errno.h>
#include <string.h>

#include "account.h"
#include "cleanup.h"
#include "log.h"
#include "mem.h"
#include "methods.h"
#include "server.h"
#include "session.h"
#include "tokens.h"

/* The token store is there (the admin right on root was checked by the
 * session, rights_check_call). */
static int tokens_check_admin(const MethodCall *call, Error *err) {
        Session *s = call->session;

        if (!s->server->tokens)
                return error_set(err, WBEM_E_FAILED, "no token store (repository not open)");
        return 0;
}

static const RpcParam add_token_params[] = {
        { .name = "user", .type = RPC_PARAM_STRING, .required = true, .max = TOKENS_USER_MAX },
        { .name = "name", .type = RPC_PARAM_STRING, .max = TOKENS_NAME_MAX },
        { .name = NULL },
};

/* The answer holds the token text: the only time anyone sees it. */
static int method_add_token(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                            Error *err) {
        Session *s = call->session;
        const char *user = json_string_value(json_object_get(call->params, "user"));
        const char *name = json_string_value(json_object_get(call->params, "name"));
        _cleanup_free_ char *text = NULL;
        json_t *info = NULL;
        Account a;
        int r;
        (void)ret_job;

        r = tokens_check_admin(call, err);
        if (r != 0)
                return r;
        /* A token for nobody that exists would only ever be refused. */
        r = account_lookup(user, &a, err);
        if (r == WBEM_E_NOT_FOUND)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "user: no local user '%s'", user);
        if (r != 0)
                return r;
        account_done(&a);
        r = tokens_add(s->server->tokens, user, name, &text, &info, err);
        if (r != 0)
                return r;
        if (json_object_set_new(info, "token", json_string(text)) < 0) {
                json_decref(info);
                return -ENOMEM;
        }
        memset(text, 0, strlen(text));
        log_info("session %llu: token %s added for user %s%s%s", (unsigned long long)s->id,
                 json_string_value(json_object_get(info, "id")), user, name ? ", name " : "",
                 name ? name : "");
        *ret_result = info;
        return 0;
}

static const RpcParam no_params[] = { { .name = NULL } };

static int method_list_tokens(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                              Error *err) {
        json_t *list;
        int r;
        (void)ret_job;

        r = tokens_check_admin(call, err);
        if (r != 0)
                return r;
        r = tokens_list(call->session->server->tokens, &list, err);
        if (r != 0)
                return r;
        json_t *result = json_pack("{s:o}", "tokens", list);
        if (!result)
                return -ENOMEM;
        *ret_result = result;
        return 0;
}

static const RpcParam revoke_token_params[] = {
        { .name = "id", .type = RPC_PARAM_STRING, .required = true, .max = TOKENS_ID_HEX },
        { .name = NULL },
};

/* The token goes at once: new sessions are refused, and those it
 * authenticated are closed (the caller's own too, without an answer). */
static int method_revoke_token(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                               Error *err) {
        Session *s = call->session;
        const char *id = json_string_value(json_object_get(call->params, "id"));
        _cleanup_free_ char *user = NULL;
        int r;
        (void)ret_job;

        r = tokens_check_admin(call, err);
        if (r != 0)
                return r;
        r = tokens_revoke(s->server->tokens, id, &user, err);
        if (r != 0)
                return r;
        log_info("session %llu: token %s of user %s revoked", (unsigned long long)s->id, id, user);
        size_t closed = server_close_token_sessions(s->server, id);
        json_t *result = json_pack("{s:s, s:s, s:I}", "id", id, "user", user, "sessions_closed",
                                   (json_int_t)closed);
        if (!result)
                return -ENOMEM;
        *ret_result = result;
        return 0;
}

const Method methods_tokens[] = {
        { "AddToken", add_token_params, method_add_token },
        { "ListTokens", no_params, method_list_tokens },
        { "RevokeToken", revoke_token_params, method_revoke_token },
        { NULL, NULL, NULL },
};
