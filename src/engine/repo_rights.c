/* The rights table of the repository: grants of rights per namespace to
 * principals, stored as rows; their meaning (matching, inheritance,
 * defaults) is the daemon's (src/daemon/rights.h). The table is made at
 * open with CREATE TABLE IF NOT EXISTS, so a repository written before
 * rights existed gains it without a schema version change. Grants change
 * rarely: statements are prepared per use rather than kept. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "repo_internal.h"

static const char rights_schema[] = "CREATE TABLE IF NOT EXISTS rights (\n"
                                    "  id INTEGER PRIMARY KEY,\n"
                                    "  namespace TEXT NOT NULL COLLATE NOCASE,\n"
                                    "  kind TEXT NOT NULL,\n"
                                    "  principal_id INTEGER NOT NULL,\n"
                                    "  name TEXT,\n"
                                    "  rights INTEGER NOT NULL,\n"
                                    "  UNIQUE (namespace, kind, principal_id)\n"
                                    ");\n";

static void stmt_finalizep(sqlite3_stmt **st) {
        sqlite3_finalize(*st);
}

int repo_grants_init(Repo *r, Error *err) {
        int rc = sqlite3_exec(r->db, rights_schema, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return repo_sqlite_error(r, rc, err, "creating the rights table");
        return 0;
}

void repo_grants_free(RepoGrant *g, size_t n) {
        for (size_t k = 0; g && k < n; k++) {
                mem_free(g[k].ns);
                mem_free(g[k].kind);
                mem_free(g[k].name);
        }
        mem_free(g);
}

int repo_grants_load(Repo *r, RepoGrant **ret, size_t *ret_count, Error *err) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        RepoGrant *list = NULL;
        size_t n = 0;
        int rc = sqlite3_prepare_v2(r->db,
                                    "SELECT namespace, kind, principal_id, name, rights FROM "
                                    "rights ORDER BY id",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return repo_sqlite_error(r, rc, err, "reading rights");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *ns = (const char *)sqlite3_column_text(st, 0);
                const char *kind = (const char *)sqlite3_column_text(st, 1);
                const char *name = (const char *)sqlite3_column_text(st, 3);
                RepoGrant *grown = mem_reallocarray(list, n + 1, sizeof(RepoGrant));
                if (!grown || !ns || !kind) {
                        repo_grants_free(grown ? grown : list, n);
                        return grown ? repo_sqlite_error(r, sqlite3_errcode(r->db), err,
                                                         "reading rights")
                                     : -ENOMEM;
                }
                list = grown;
                list[n] = (RepoGrant){
                        .ns = mem_strdup(ns),
                        .kind = mem_strdup(kind),
                        .id = sqlite3_column_int64(st, 2),
                        .name = name ? mem_strdup(name) : NULL,
                        .rights = (unsigned)sqlite3_column_int64(st, 4),
                };
                n++;
                if (!list[n - 1].ns || !list[n - 1].kind || (name && !list[n - 1].name)) {
                        repo_grants_free(list, n);
                        return -ENOMEM;
                }
        }
        if (rc != SQLITE_DONE) {
                repo_grants_free(list, n);
                return repo_sqlite_error(r, rc, err, "reading rights");
        }
        *ret = list;
        *ret_count = n;
        return 0;
}

/* One row's change inside the caller's transaction. */
static int grant_write(Repo *r, const RepoGrant *g, Error *err) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        const char *sql = g->rights ? "INSERT INTO rights(namespace, kind, principal_id, name, "
                                      "rights) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(namespace, "
                                      "kind, principal_id) DO UPDATE SET name = ?4, rights = ?5"
                                    : "DELETE FROM rights WHERE namespace = ?1 AND kind = ?2 AND "
                                      "principal_id = ?3";
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return repo_sqlite_error(r, rc, err, "writing rights");
        sqlite3_bind_text(st, 1, g->ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, g->kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, g->id);
        if (g->rights) {
                if (g->name)
                        sqlite3_bind_text(st, 4, g->name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, (sqlite3_int64)g->rights);
        }
        return repo_step_done(r, st, err, "writing rights");
}

int repo_grants_set(Repo *r, const RepoGrant *g, size_t n, Error *err) {
        int k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        for (size_t i = 0; k == 0 && i < n; i++)
                k = grant_write(r, &g[i], err);
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0)
                repo_tx_rollback(r);
        return k;
}
