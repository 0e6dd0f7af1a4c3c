/* Local accounts by name, for peers that authenticate over TLS (a client
 * certificate's CN, a token's user): their uid, primary gid and
 * supplementary groups, as the session's identity (SEC-CONTRACT: rights
 * and quotas key on these only). Looked up through NSS (getpwnam_r,
 * getgrouplist) when the peer authenticates, so a user added, removed or
 * moved between groups is seen by the next session. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct Account {
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary groups, the primary one included */
        size_t n_groups;
} Account;

/* Look name up. 0 with *ret filled (free with account_done);
 * WBEM_E_NOT_FOUND with a message when there is no such user; -ENOMEM;
 * another negative errno when NSS fails. */
int account_lookup(const char *name, Account *ret, Error *err);
void account_done(Account *a);
