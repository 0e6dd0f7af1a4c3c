/* The rights methods of docs/protocol.md: ListRights, GrantRights,
 * RevokeRights. The session has checked the admin right on root before
 * any of them runs (rights_check_call); a change takes effect for every
 * session's next call, while subscriptions already made stay. */
#include <errno.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "methods.h"
#include "repo.h"
#include "rights.h"
#include "server.h"
#include "session.h"

static const char *param_string(const MethodCall *call, const char *name) {
        return call->params ? json_string_value(json_object_get(call->params, name)) : NULL;
}

static Rights *rights_of(const MethodCall *call, Error *err) {
        Rights *r = call->session->server->rights;
        if (!r)
                error_set(err, WBEM_E_FAILED, "%s: no repository is open", call->method);
        return r;
}

static const RpcParam list_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .max = 1024 },
        { .name = NULL },
};

static int method_list_rights(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                              Error *err) {
        Rights *r = rights_of(call, err);
        json_t *list = NULL;
        (void)ret_job;

        if (!r)
                return WBEM_E_FAILED;
        int k = rights_list(r, param_string(call, "namespace"), &list, err);
        if (k != 0)
                return k;
        json_t *result = json_pack("{s:o}", "rights", list);
        if (!result)
                return -ENOMEM;
        *ret_result = result;
        return 0;
}

static const RpcParam change_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true, .max = 1024 },
        { .name = "principal", .type = RPC_PARAM_STRING, .required = true, .max = 512 },
        { .name = "rights", .type = RPC_PARAM_STRING, .max = 1024 },
        { .name = NULL },
};

/* GrantRights and RevokeRights: the grant of principal on namespace gains
 * or loses rights (RevokeRights without rights: all of them). */
static int rights_change_call(const MethodCall *call, bool grant, json_t **ret_result, Error *err) {
        Rights *r = rights_of(call, err);
        Engine *e = call->session->server->engine;
        const char *given = param_string(call, "rights");
        RightsPrincipal p;
        const char *ns;
        unsigned mask = RIGHTS_ALL, after = 0;
        int k;

        if (!r || !e)
                return error_set(err, WBEM_E_FAILED, "%s: no repository is open", call->method);
        if (grant && !given)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "param 'rights' is required");
        if (given && (k = rights_parse(given, &mask, err)) != 0)
                return k;
        k = rights_principal_parse(param_string(call, "principal"), &p, err);
        if (k != 0)
                return k;
        if (grant) {
                /* only namespaces that exist: a typo must not pass silently */
                k = repo_namespace_name(engine_repo(e), param_string(call, "namespace"), &ns, err);
                if (k != 0)
                        return k;
        } else {
                /* also on a namespace deleted since */
                ns = param_string(call, "namespace");
                (void)repo_namespace_name(engine_repo(e), ns, &ns, NULL);
        }
        k = rights_change(r, ns, &p, grant ? mask : 0, grant ? 0 : mask, &after, err);
        if (k != 0)
                return k;
        char who[RIGHTS_NAME_MAX + 16], now[64] = "";
        rights_principal_format(&p, who, sizeof(who));
        for (unsigned bit = 1; bit <= RIGHT_ADMIN; bit <<= 1)
                if (after & bit)
                        snprintf(now + strlen(now), sizeof(now) - strlen(now), "%s%s",
                                 now[0] ? "," : "", rights_name(bit));
        log_info("session %llu: uid=%ld %s %s on %s for %s; the grant now holds: %s",
                 (unsigned long long)call->session->id,
                 call->session->uid == (uid_t)-1 ? -1L : (long)call->session->uid,
                 grant ? "granted" : "revoked", given ? given : "all", ns, who,
                 now[0] ? now : "nothing (removed)");
        json_t *g = rights_grant_to_json(ns, &p, after);
        json_t *result = g ? json_pack("{s:o}", "grant", g) : NULL;
        if (!result)
                return -ENOMEM;
        *ret_result = result;
        return 0;
}

static int method_grant_rights(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                               Error *err) {
        (void)ret_job;
        return rights_change_call(call, true, ret_result, err);
}

static int method_revoke_rights(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                                Error *err) {
        (void)ret_job;
        return rights_change_call(call, false, ret_result, err);
}

const Method methods_rights[] = {
        { "ListRights", list_params, method_list_rights },
        { "GrantRights", change_params, method_grant_rights },
        { "RevokeRights", change_params, method_revoke_rights },
        { .name = NULL },
};
