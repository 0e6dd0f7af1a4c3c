/* lwmid's settings: the command line and the INI configuration file.
 *
 * Every setting has a command-line option and a key in section [daemon] of
 * the file (--max-line-bytes / max_line_bytes). The file is read first and
 * the command line wins: settings_load() only fills the settings the command
 * line left unset. SIGHUP re-reads the file the same way into a fresh
 * Settings, and the server decides what may change at run time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "log.h"
#include "quota.h"

#define SETTINGS_DEFAULT_MAX_LINE_BYTES ((size_t)1 << 20)
#define SETTINGS_MIN_MAX_LINE_BYTES ((size_t)512)
#define SETTINGS_MAX_MAX_LINE_BYTES ((size_t)1 << 30)

/* The largest answer to ExecQuery and EnumInstances (more must use
 * ExecQueryAsync): objects, and bytes of their JSON text. */
#define SETTINGS_DEFAULT_MAX_RESULT_OBJECTS ((size_t)100000)
#define SETTINGS_MIN_MAX_RESULT_OBJECTS ((size_t)1)
#define SETTINGS_MAX_MAX_RESULT_OBJECTS ((size_t)100000000)
#define SETTINGS_DEFAULT_MAX_RESULT_BYTES ((size_t)64 << 20)
#define SETTINGS_MIN_MAX_RESULT_BYTES ((size_t)4 << 10)
#define SETTINGS_MAX_MAX_RESULT_BYTES ((size_t)1 << 30)

/* The shortest WITHIN interval an event query may ask for, in ms (a poll
 * of a provider's class: a /proc scan for Linux_Process). */
#define SETTINGS_DEFAULT_MIN_WITHIN_MS ((size_t)500)
#define SETTINGS_MIN_MIN_WITHIN_MS ((size_t)10)
#define SETTINGS_MAX_MIN_WITHIN_MS ((size_t)3600000)

/* Liveness (DESIGN.md "Liveness"): the keepalive a session gets unless
 * its Hello asks for another (nothing heard for that long → Ping; nothing
 * within half of it more → lost), and the stall bound (the oldest output
 * byte not yet taken by the consumer may be this old). In ms. */
#define SETTINGS_DEFAULT_KEEPALIVE_MS ((size_t)10000)
#define SETTINGS_MIN_KEEPALIVE_MS ((size_t)500)
#define SETTINGS_MAX_KEEPALIVE_MS ((size_t)60000)
#define SETTINGS_DEFAULT_STALL_TIMEOUT_MS ((size_t)10000)
#define SETTINGS_MIN_STALL_TIMEOUT_MS ((size_t)100)
#define SETTINGS_MAX_STALL_TIMEOUT_MS ((size_t)3600000)
/* The budget of a session's Indicate backlog (DESIGN.md "Liveness"): the
 * bytes of Indicate messages made for it and not yet written to its
 * socket. Over it, new events for the session are dropped and reported. */
#define SETTINGS_DEFAULT_MAX_BACKLOG_BYTES ((size_t)4 << 20)
#define SETTINGS_MIN_MAX_BACKLOG_BYTES ((size_t)4 << 10)
#define SETTINGS_MAX_MAX_BACKLOG_BYTES ((size_t)1 << 30)

/* How long a forked process that has not exec'd waits before it is
 * announced (Linux_Process events from the proc connector), in ms. */
#define SETTINGS_DEFAULT_FORK_GRACE_MS ((size_t)10)
#define SETTINGS_MAX_FORK_GRACE_MS ((size_t)10000)

/* Which settings were given on the command line (Settings.from_cmdline). */
enum {
        SETTINGS_SET_SOCKET = 1u << 0,
        SETTINGS_SET_REPOSITORY = 1u << 1,
        SETTINGS_SET_LOG_LEVEL = 1u << 2,
        SETTINGS_SET_MAX_LINE_BYTES = 1u << 3,
        SETTINGS_SET_MAX_RESULT_OBJECTS = 1u << 4,
        SETTINGS_SET_MAX_RESULT_BYTES = 1u << 5,
        SETTINGS_SET_MIN_WITHIN_MS = 1u << 6,
        SETTINGS_SET_KEEPALIVE_MS = 1u << 7,
        SETTINGS_SET_STALL_TIMEOUT_MS = 1u << 8,
        SETTINGS_SET_LISTEN = 1u << 9,
        SETTINGS_SET_INSECURE_TCP = 1u << 10,
        SETTINGS_SET_PROC_CONNECTOR = 1u << 11,
        SETTINGS_SET_FORK_GRACE_MS = 1u << 12,
        SETTINGS_SET_MAX_BACKLOG_BYTES = 1u << 13,
        SETTINGS_SET_TLS_CERT = 1u << 14,
        SETTINGS_SET_TLS_KEY = 1u << 15,
        SETTINGS_SET_TLS_CA = 1u << 16,
        SETTINGS_SET_TLS_AUTH_TIMEOUT_MS = 1u << 17,
        SETTINGS_SET_DROP_PRIVILEGES = 1u << 18,
};

/* How long a TLS session may take to finish its handshake and
 * authenticate (client certificate, or a token in Hello) before it is
 * closed, in ms. */
#define SETTINGS_DEFAULT_TLS_AUTH_TIMEOUT_MS ((size_t)10000)
#define SETTINGS_MIN_TLS_AUTH_TIMEOUT_MS ((size_t)100)
#define SETTINGS_MAX_TLS_AUTH_TIMEOUT_MS ((size_t)600000)

typedef struct Settings {
        char *socket_path; /* NULL: the default for the user (settings_default_socket) */
        char *repository;  /* path, or ":memory:"; NULL: the default */
        char *config_path; /* NULL: no configuration file */
        LogLevel log_level;
        size_t max_line_bytes; /* longest accepted line, without its '\n' */
        size_t max_result_objects; /* most objects in one ExecQuery/EnumInstances answer */
        size_t max_result_bytes;   /* most bytes of objects' JSON in one such answer */
        size_t min_within_ms;      /* shortest WITHIN accepted in an event query */
        size_t keepalive_ms;       /* a session's keepalive unless its Hello chooses */
        size_t stall_timeout_ms;   /* the oldest output byte not taken may be this old */
        char *listen;      /* "ADDR:PORT" or "tls:ADDR:PORT" (netaddr.h); NULL: none */
        bool insecure_tcp; /* allow a plain TCP listen address that is not loopback */
        char *tls_cert;    /* PEM certificate chain of a tls: listener */
        char *tls_key;     /* its PEM private key */
        char *tls_ca;      /* CA that client certificates must chain to; NULL: none asked */
        size_t tls_auth_timeout_ms; /* handshake and authentication within it */
        bool proc_connector;  /* native process events when privileged */
        size_t fork_grace_ms; /* a fork without exec is announced after it */
        size_t max_backlog_bytes;  /* a session's Indicate backlog budget */
        bool drop_privileges; /* keep only the providers' capabilities after start (privdrop.h) */
        /* Quotas per user (quota.h): [quota] and [quota:USER] sections,
         * the --quota-* options (which keep their own from_cmdline). */
        QuotaConfig quota;
        unsigned from_cmdline; /* SETTINGS_SET_* given on the command line */
        unsigned from_file;    /* SETTINGS_SET_* given in the file */
} Settings;

/* Defaults: no paths, level info, 1 MiB lines, results of 100 000 objects
 * and 64 MiB, WITHIN at least 500 ms, keepalive and stall bound 10 s, no
 * TCP listener, the proc connector on with a fork grace of 10 ms, a
 * backlog of 4 MiB per session, privileges dropped after start, the quotas'
 * defaults (quota.h). */
void settings_init(Settings *o);
void settings_done(Settings *o);
/* Deep copy (for reloads); -ENOMEM on failure, *dst untouched. */
int settings_copy(const Settings *src, Settings *dst);

/* Parse a size: decimal bytes with an optional K, M or G suffix (powers of
 * 1024, "KiB"/"MiB"/"GiB" spelled out also accepted), within
 * [SETTINGS_MIN_MAX_LINE_BYTES, SETTINGS_MAX_MAX_LINE_BYTES].
 * Returns 0 or WBEM_E_INVALID_PARAMETER with a message naming `what`. */
int settings_parse_size(const char *text, const char *what, size_t *ret, Error *err);
/* The same within [min, max]. */
int settings_parse_size_in(const char *text, const char *what, size_t min, size_t max, size_t *ret,
                           Error *err);
/* A count: decimal digits only, within [min, max]; errors as above. */
int settings_parse_count(const char *text, const char *what, size_t min, size_t max, size_t *ret,
                         Error *err);
/* A boolean: exactly "true" or "false"; errors as above. */
int settings_parse_bool(const char *text, const char *what, bool *ret, Error *err);

/* The TCP listening policy: o->listen (if set) must parse
 * (netaddr_parse_listen); plain TCP must be a loopback address unless
 * o->insecure_tcp, as it has no authentication; TLS may be any address
 * but needs tls_cert and tls_key. WBEM_E_INVALID_PARAMETER with a message
 * saying so. settings_resolve() checks it; lwmid relies on it. */
int settings_check_listen(const Settings *o, Error *err);

/* Read o->config_path (which must be set) into o, skipping settings in
 * o->from_cmdline (and quota defaults in o->quota.from_cmdline). Sections
 * [daemon], [quota] and [quota:USER] (quota.h). Unknown sections or keys, repeated keys, bad values and
 * syntax errors fail with WBEM_E_INVALID_PARAMETER and a message
 * "FILE:LINE: ..." naming the key; an unreadable file fails with
 * WBEM_E_NOT_FOUND ("cannot open FILE: reason"); a file that another user
 * could change (world-writable, or see filetrust.h) with
 * WBEM_E_ACCESS_DENIED and a message naming it and the fix. On failure o may hold
 * some of the file's settings: parse into a copy when that matters. */
int settings_load(Settings *o, Error *err);

/* The same from text already in memory (name used in messages only). */
int settings_load_string(Settings *o, const char *name, const char *text, Error *err);

/* The default socket: /run/lwmi/lwmid.sock for root, else
 * $XDG_RUNTIME_DIR/lwmi/lwmid.sock. WBEM_E_NOT_FOUND with a message when
 * XDG_RUNTIME_DIR is unset (or not absolute) for a non-root user. */
int settings_default_socket(bool is_root, const char *xdg_runtime_dir, char **ret, Error *err);

/* The settings in force: a copy of `cmdline` (the options parsed from the
 * command line, with from_cmdline set), completed from its configuration
 * file if it names one, then with the defaults for whatever is still unset
 * (socket and repository depend on the effective uid and the environment;
 * the repository's is repo_default_path(), WBEM_E_NOT_FOUND with a message
 * when it has no home directory to use), and the listen address checked
 * (settings_check_listen). Used at startup and again on SIGHUP. */
int settings_resolve(const Settings *cmdline, Settings *ret, Error *err);
