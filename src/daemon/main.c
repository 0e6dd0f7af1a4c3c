/* lwmid: the lwmi daemon. Parses the command line, resolves the settings
 * (command line over configuration file over defaults), then runs the
 * Server in the foreground until SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h" /* generated: LWMI_VERSION */
#include "mem.h"
#include "netaddr.h"
#include "quota.h"
#include "server.h"
#include "settings.h"

/* Exit statuses, as documented in --help. */
enum {
        EXIT_OK = 0,
        EXIT_RUNTIME = 1,
        EXIT_USAGE = 2,
        EXIT_RUNNING = 3,
};

static void usage(FILE *f) {
        fprintf(f, "Usage: lwmid [OPTION]...\n"
                   "\n"
                   "The lwmi daemon: serves management instrumentation in the manner of WMI\n"
                   "(classes, instances, WQL queries) to clients over a Unix socket (and\n"
                   "optionally TCP or TLS), one JSON-RPC 2.0 message per line (see\n"
                   "docs/protocol.md).\n"
                   "\n"
                   "lwmid stays in the foreground and logs to standard error, one line per\n"
                   "event; under systemd (Type=notify) it reports readiness with sd_notify.\n"
                   "Only one lwmid may serve a socket: it holds the lock file PATH.lock, and a\n"
                   "second instance refuses to start. A socket file whose lock is free is stale\n"
                   "and is replaced. The socket is created with mode 0666: every local user\n"
                   "may connect, and the rights per namespace kept in the repository decide\n"
                   "what each may do (lwmi rights; docs/security.md). Likewise only one\n"
                   "lwmid may use a repository file (lock REPOSITORY.lock beside it).\n"
                   "\n"
                   "Options:\n"
                   "  --socket PATH          listen on the Unix socket PATH (directory created\n"
                   "                         if missing: 0755 for /run/lwmi, else 0700).\n"
                   "                         Default: /run/lwmi/lwmid.sock as root, otherwise\n"
                   "                         $XDG_RUNTIME_DIR/lwmi/lwmid.sock (an error when\n"
                   "                         XDG_RUNTIME_DIR is not set)\n"
                   "  --listen ADDR:PORT     also listen on TCP: 127.0.0.1:7000, [::1]:7000;\n"
                   "                         numeric addresses only; port 0 picks a free port\n"
                   "                         (logged as \"listening on tcp ADDR:PORT\" and\n"
                   "                         given in the sd_notify STATUS). Plain TCP has no\n"
                   "                         authentication and no peer credentials: only\n"
                   "                         loopback addresses are accepted.\n"
                   "  --listen tls:ADDR:PORT listen on TLS (1.2 or later) instead, on any\n"
                   "                         address (0.0.0.0:7443 for all), with --tls-cert\n"
                   "                         and --tls-key; logged as \"listening on tls\n"
                   "                         ADDR:PORT\". A TLS client authenticates with a\n"
                   "                         client certificate signed by --tls-ca whose\n"
                   "                         subject CN is a local user name, or with a token\n"
                   "                         (lwmi token add) in Hello; it then acts as that\n"
                   "                         user. Until then it may only call Hello and Ping.\n"
                   "                         Default: none\n"
                   "  --insecure-tcp         allow a plain TCP --listen address that is not\n"
                   "                         loopback (logged as a warning). Anyone who can\n"
                   "                         reach it can use lwmid: for tests in private\n"
                   "                         network namespaces\n"
                   "  --tls-cert FILE        the server's certificate chain (PEM) for tls:\n"
                   "  --tls-key FILE         its private key (PEM)\n"
                   "  --tls-ca FILE          the CA (PEM) that client certificates must be\n"
                   "                         signed by; only then are they asked for.\n"
                   "                         Default: none (tokens only)\n"
                   "  --tls-auth-timeout-ms N\n"
                   "                         a TLS session that has not completed its\n"
                   "                         handshake and authenticated within N ms (100 to\n"
                   "                         600000) is closed. Default: 10000\n"
                   "  --repository PATH      the repository database, or :memory: for one that\n"
                   "                         lives only as long as the process. Default:\n"
                   "                         /var/lib/lwmi/repository.db as root, otherwise\n"
                   "                         $XDG_STATE_HOME/lwmi/repository.db\n"
                   "                         (XDG_STATE_HOME defaults to ~/.local/state)\n"
                   "  --config FILE          read settings from the INI file FILE (section\n"
                   "                         [daemon], keys socket, repository, log_level,\n"
                   "                         max_line_bytes, max_result_objects,\n"
                   "                         max_result_bytes, min_within_ms, keepalive_ms,\n"
                   "                         stall_timeout_ms, max_backlog_bytes, listen,\n"
                   "                         insecure_tcp = true|false, proc_connector =\n"
                   "                         true|false, fork_grace_ms, tls_cert, tls_key,\n"
                   "                         tls_ca, tls_auth_timeout_ms, drop_privileges =\n"
                   "                         true|false), [quota] and [quota:USER] (below);\n"
                   "                         options given on the command line win. Unknown\n"
                   "                         keys and bad values are errors. A file that\n"
                   "                         another user could change (world-writable, owned\n"
                   "                         by another user, or in a directory they could\n"
                   "                         write) is refused, as is such a repository.\n"
                   "                         Default: no configuration file\n"
                   "  --log-level LEVEL      error, warning, info or debug. Default: info\n"
                   "  --max-line-bytes N     longest message line accepted from a client, without\n"
                   "                         its newline; N in bytes, or with a K, M or G suffix\n"
                   "                         (powers of 1024), from 512 to 1G. A longer line gets\n"
                   "                         an error and its connection is closed. Default: 1M\n"
                   "  --max-result-objects N most objects in one answer to ExecQuery or\n"
                   "                         EnumInstances, from 1 to 100000000; a larger result\n"
                   "                         is refused with WBEM_E_QUOTA_VIOLATION (clients use\n"
                   "                         ExecQueryAsync for those). Default: 100000\n"
                   "  --max-result-bytes N   most bytes of the objects' JSON in one such answer;\n"
                   "                         N as for --max-line-bytes, from 4K to 1G.\n"
                   "                         Default: 64M\n"
                   "  --min-within-ms N      shortest WITHIN interval an event query may ask\n"
                   "                         for, in milliseconds, from 10 to 3600000 (WITHIN\n"
                   "                         polls a provider's class: for Linux_Process a\n"
                   "                         scan of /proc). A shorter one is refused with\n"
                   "                         WBEM_E_INVALID_QUERY. Default: 500\n"
                   "  --keepalive-ms N       a session's keepalive, in milliseconds, from 500 to\n"
                   "                         60000, unless its Hello asks for another: when\n"
                   "                         nothing is heard from the client for N ms it is\n"
                   "                         sent a Ping; when nothing is heard within N/2 ms\n"
                   "                         more it is lost and its session closed.\n"
                   "                         Default: 10000\n"
                   "  --stall-timeout-ms N   the oldest byte of a session's output not yet taken\n"
                   "                         by the client (lwmid's queue and the kernel's send\n"
                   "                         queue) may be N ms old, from 100 to 3600000; older,\n"
                   "                         the client is lost (stalled) and its session\n"
                   "                         closed. Default: 10000\n"
                   "  --no-proc-connector    do not use the kernel's proc connector for\n"
                   "                         Linux_Process events (it needs CAP_NET_ADMIN in\n"
                   "                         the initial user and pid namespaces; without it\n"
                   "                         they are off anyway): event queries on processes\n"
                   "                         then need WITHIN and poll. The log says at start\n"
                   "                         which mode is in force. Default: on\n"
                   "  --fork-grace-ms N      a forked process that has not called exec within N\n"
                   "                         ms is announced as it is (an exec within it\n"
                   "                         announces the new program instead; one still on\n"
                   "                         its way to an exec waits up to 20 N), 0 to 10000.\n"
                   "                         Default: 10\n"
                   "  --max-backlog-bytes N  the budget of each session's Indicate backlog:\n"
                   "                         bytes of Indicate messages made for it and not\n"
                   "                         yet written to its socket (responses and\n"
                   "                         SetStatus do not count). Over it, new events for\n"
                   "                         the session are dropped, and each sink is told\n"
                   "                         which (EventsDropped) once the backlog has\n"
                   "                         drained. N as for --max-line-bytes, from 4K to\n"
                   "                         1G. Default: 4M\n"
                   "  --drop-privileges      once the sockets are bound and the repository is\n"
                   "  --no-drop-privileges   open, keep only the capabilities the providers\n"
                   "                         need (cap_net_admin for the proc connector,\n"
                   "                         cap_sys_ptrace for other users' /proc/PID/exe,\n"
                   "                         cap_dac_read_search for directories peers list\n"
                   "                         or watch), clear the bounding and ambient sets\n"
                   "                         and set no_new_privs; the uid stays (see\n"
                   "                         docs/security.md, Hardening). Default: drop\n"
                   "\n"
                   "Quotas per user (docs/security.md \"Quotas\"): the defaults for every user\n"
                   "but root and lwmid's own user, which are unlimited. Each takes a count\n"
                   "(the byte quotas a K, M or G suffix) or \"unlimited\"; section [quota] of\n"
                   "the configuration file sets them too (keys without --quota-, dashes as\n"
                   "underscores), and a section [quota:USER] (a user name, a uid, or\n"
                   "anonymous: every plain TCP peer) one user's, root's included. A request\n"
                   "over a quota is refused with WBEM_E_QUOTA_VIOLATION, naming the quota;\n"
                   "the session goes on.\n"
                   "  --quota-sessions N     open sessions of one user; a connection over it\n"
                   "                         gets one error line and is closed. Default: 64\n"
                   "  --quota-registrations N\n"
                   "                         open asynchronous calls (event registrations and\n"
                   "                         running ExecQueryAsync) of one user over all its\n"
                   "                         sessions. Default: 100000\n"
                   "  --quota-session-registrations N\n"
                   "                         the same on one session. Default: 100000\n"
                   "  --quota-backlog-bytes N\n"
                   "                         the Indicate backlog of all of one user's sessions\n"
                   "                         (each also within --max-backlog-bytes); over it,\n"
                   "                         events for its sessions are dropped and reported\n"
                   "                         (EventsDropped). Default: 64M\n"
                   "  --quota-query-bytes N  the longest query text (ExecQuery,\n"
                   "                         ExecQueryAsync, ExecNotificationQueryAsync);\n"
                   "                         WQL's own limit is 16K. Default: 4K\n"
                   "  --quota-request-rate N requests a second of one user, sustained (a token\n"
                   "                         bucket). Default: 10000\n"
                   "  --quota-request-burst N\n"
                   "                         requests of one user at once (the bucket's\n"
                   "                         size). Default: 200000\n"
                   "\n"
                   "  -h, --help             show this help and exit\n"
                   "  -V, --version          show the version and exit\n"
                   "\n"
                   "Signals:\n"
                   "  SIGTERM, SIGINT        shut down: stop accepting, close every session,\n"
                   "                         remove the socket and the lock file, exit 0\n"
                   "  SIGHUP                 re-read the configuration file: log_level, the\n"
                   "                         max_* limits, the quotas and min_within_ms take\n"
                   "                         effect at once (for new requests), keepalive_ms\n"
                   "                         (for sessions whose Hello chose none) and\n"
                   "                         stall_timeout_ms also\n"
                   "                         for open sessions; a changed socket, repository,\n"
                   "                         listen, insecure_tcp, proc_connector,\n"
                   "                         fork_grace_ms, tls_cert, tls_key, tls_ca or\n"
                   "                         drop_privileges is logged and needs a restart;\n"
                   "                         tls_auth_timeout_ms applies to new sessions; a\n"
                   "                         configuration file another user could change is\n"
                   "                         not read (logged)\n"
                   "\n"
                   "Exit status:\n"
                   "  0  clean shutdown, or --help / --version\n"
                   "  1  runtime failure (cannot create the socket, cannot load a TLS\n"
                   "     certificate, key or CA file, a repository another user could change,\n"
                   "     cannot drop privileges, out of memory, ...)\n"
                   "  2  usage or configuration error (bad option or value, bad config file or\n"
                   "     one another user could change, no default socket path, a --listen\n"
                   "     address that is not loopback without --insecure-tcp, tls: without\n"
                   "     --tls-cert and --tls-key)\n"
                   "  3  another lwmid already serves the socket or uses the repository (the\n"
                   "     message names its pid)\n");
}

enum {
        OPT_SOCKET = 0x100,
        OPT_REPOSITORY,
        OPT_CONFIG,
        OPT_LOG_LEVEL,
        OPT_MAX_LINE_BYTES,
        OPT_MAX_RESULT_OBJECTS,
        OPT_MAX_BACKLOG_BYTES,
        OPT_MAX_RESULT_BYTES,
        OPT_MIN_WITHIN_MS,
        OPT_KEEPALIVE_MS,
        OPT_STALL_TIMEOUT_MS,
        OPT_LISTEN,
        OPT_INSECURE_TCP,
        OPT_NO_PROC_CONNECTOR,
        OPT_FORK_GRACE_MS,
        OPT_QUOTA, /* OPT_QUOTA + QuotaKind: --quota-sessions, ... */
        OPT_QUOTA_LAST = OPT_QUOTA + QUOTA_N - 1,
        OPT_TLS_CERT,
        OPT_TLS_KEY,
        OPT_TLS_CA,
        OPT_TLS_AUTH_TIMEOUT_MS,
        OPT_DROP_PRIVILEGES,
        OPT_NO_DROP_PRIVILEGES,
};

static int set_path(char **slot, const char *value, const char *option) {
        if (value[0] == '\0') {
                fprintf(stderr, "lwmid: %s: empty path\n", option);
                return EXIT_USAGE;
        }
        char *copy = mem_strdup(value);
        if (!copy) {
                fprintf(stderr, "lwmid: out of memory\n");
                return EXIT_RUNTIME;
        }
        mem_free(*slot);
        *slot = copy;
        return -1;
}

/* Fill o from argv. Returns -1 to go on, or an exit status. */
static int parse_argv(int argc, char **argv, Settings *o) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "repository", required_argument, NULL, OPT_REPOSITORY },
                { "config", required_argument, NULL, OPT_CONFIG },
                { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
                { "max-line-bytes", required_argument, NULL, OPT_MAX_LINE_BYTES },
                { "max-result-objects", required_argument, NULL, OPT_MAX_RESULT_OBJECTS },
                { "max-result-bytes", required_argument, NULL, OPT_MAX_RESULT_BYTES },
                { "min-within-ms", required_argument, NULL, OPT_MIN_WITHIN_MS },
                { "keepalive-ms", required_argument, NULL, OPT_KEEPALIVE_MS },
                { "stall-timeout-ms", required_argument, NULL, OPT_STALL_TIMEOUT_MS },
                { "listen", required_argument, NULL, OPT_LISTEN },
                { "insecure-tcp", no_argument, NULL, OPT_INSECURE_TCP },
                { "no-proc-connector", no_argument, NULL, OPT_NO_PROC_CONNECTOR },
                { "fork-grace-ms", required_argument, NULL, OPT_FORK_GRACE_MS },
                { "max-backlog-bytes", required_argument, NULL, OPT_MAX_BACKLOG_BYTES },
                { "quota-sessions", required_argument, NULL, OPT_QUOTA + QUOTA_SESSIONS },
                { "quota-registrations", required_argument, NULL,
                  OPT_QUOTA + QUOTA_REGISTRATIONS },
                { "quota-session-registrations", required_argument, NULL,
                  OPT_QUOTA + QUOTA_SESSION_REGISTRATIONS },
                { "quota-backlog-bytes", required_argument, NULL,
                  OPT_QUOTA + QUOTA_BACKLOG_BYTES },
                { "quota-query-bytes", required_argument, NULL, OPT_QUOTA + QUOTA_QUERY_BYTES },
                { "quota-request-rate", required_argument, NULL,
                  OPT_QUOTA + QUOTA_REQUEST_RATE },
                { "quota-request-burst", required_argument, NULL,
                  OPT_QUOTA + QUOTA_REQUEST_BURST },
                { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
                { "tls-key", required_argument, NULL, OPT_TLS_KEY },
                { "tls-ca", required_argument, NULL, OPT_TLS_CA },
                { "tls-auth-timeout-ms", required_argument, NULL, OPT_TLS_AUTH_TIMEOUT_MS },
                { "drop-privileges", no_argument, NULL, OPT_DROP_PRIVILEGES },
                { "no-drop-privileges", no_argument, NULL, OPT_NO_DROP_PRIVILEGES },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        int c, r;

        opterr = 0; /* our own messages */
        while ((c = getopt_long(argc, argv, ":hV", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("lwmid %s (protocol 1)\n", LWMI_VERSION);
                        return EXIT_OK;
                case OPT_SOCKET:
                        if ((r = set_path(&o->socket_path, optarg, "--socket")) >= 0)
                                return r;
                        o->from_cmdline |= SETTINGS_SET_SOCKET;
                        break;
                case OPT_REPOSITORY:
                        if ((r = set_path(&o->repository, optarg, "--repository")) >= 0)
                                return r;
                        o->from_cmdline |= SETTINGS_SET_REPOSITORY;
                        break;
                case OPT_CONFIG:
                        if ((r = set_path(&o->config_path, optarg, "--config")) >= 0)
                                return r;
                        break;
                case OPT_LOG_LEVEL: {
                        int level = log_level_from_name(optarg);
                        if (level < 0) {
                                fprintf(stderr,
                                        "lwmid: --log-level: '%s' is not one of error, warning, "
                                        "info, debug\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        o->log_level = (LogLevel)level;
                        o->from_cmdline |= SETTINGS_SET_LOG_LEVEL;
                        break;
                }
                case OPT_MAX_LINE_BYTES: {
                        Error e;
                        if (settings_parse_size(optarg, "--max-line-bytes", &o->max_line_bytes,
                                                &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_MAX_LINE_BYTES;
                        break;
                }
                case OPT_MAX_RESULT_OBJECTS: {
                        Error e;
                        if (settings_parse_count(optarg, "--max-result-objects",
                                                 SETTINGS_MIN_MAX_RESULT_OBJECTS,
                                                 SETTINGS_MAX_MAX_RESULT_OBJECTS,
                                                 &o->max_result_objects, &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_MAX_RESULT_OBJECTS;
                        break;
                }
                case OPT_MAX_RESULT_BYTES: {
                        Error e;
                        if (settings_parse_size_in(
                                    optarg, "--max-result-bytes", SETTINGS_MIN_MAX_RESULT_BYTES,
                                    SETTINGS_MAX_MAX_RESULT_BYTES, &o->max_result_bytes, &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_MAX_RESULT_BYTES;
                        break;
                }
                case OPT_MIN_WITHIN_MS: {
                        Error e;
                        if (settings_parse_count(
                                    optarg, "--min-within-ms", SETTINGS_MIN_MIN_WITHIN_MS,
                                    SETTINGS_MAX_MIN_WITHIN_MS, &o->min_within_ms, &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_MIN_WITHIN_MS;
                        break;
                }
                case OPT_KEEPALIVE_MS: {
                        Error e;
                        if (settings_parse_count(optarg, "--keepalive-ms",
                                                 SETTINGS_MIN_KEEPALIVE_MS,
                                                 SETTINGS_MAX_KEEPALIVE_MS, &o->keepalive_ms,
                                                 &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_KEEPALIVE_MS;
                        break;
                }
                case OPT_STALL_TIMEOUT_MS: {
                        Error e;
                        if (settings_parse_count(optarg, "--stall-timeout-ms",
                                                 SETTINGS_MIN_STALL_TIMEOUT_MS,
                                                 SETTINGS_MAX_STALL_TIMEOUT_MS,
                                                 &o->stall_timeout_ms, &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_STALL_TIMEOUT_MS;
                        break;
                }
                case OPT_LISTEN: {
                        Error e;
                        NetAddr a;
                        bool tls;
                        if (netaddr_parse_listen(optarg, "--listen", &a, &tls, &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        if ((r = set_path(&o->listen, optarg, "--listen")) >= 0)
                                return r;
                        o->from_cmdline |= SETTINGS_SET_LISTEN;
                        break;
                }
                case OPT_TLS_CERT:
                        if ((r = set_path(&o->tls_cert, optarg, "--tls-cert")) >= 0)
                                return r;
                        o->from_cmdline |= SETTINGS_SET_TLS_CERT;
                        break;
                case OPT_TLS_KEY:
                        if ((r = set_path(&o->tls_key, optarg, "--tls-key")) >= 0)
                                return r;
                        o->from_cmdline |= SETTINGS_SET_TLS_KEY;
                        break;
                case OPT_TLS_CA:
                        if ((r = set_path(&o->tls_ca, optarg, "--tls-ca")) >= 0)
                                return r;
                        o->from_cmdline |= SETTINGS_SET_TLS_CA;
                        break;
                case OPT_TLS_AUTH_TIMEOUT_MS: {
                        Error e;
                        if (settings_parse_count(optarg, "--tls-auth-timeout-ms",
                                                 SETTINGS_MIN_TLS_AUTH_TIMEOUT_MS,
                                                 SETTINGS_MAX_TLS_AUTH_TIMEOUT_MS,
                                                 &o->tls_auth_timeout_ms, &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_TLS_AUTH_TIMEOUT_MS;
                        break;
                }
                case OPT_INSECURE_TCP:
                        o->insecure_tcp = true;
                        o->from_cmdline |= SETTINGS_SET_INSECURE_TCP;
                        break;
                case OPT_NO_PROC_CONNECTOR:
                        o->proc_connector = false;
                        o->from_cmdline |= SETTINGS_SET_PROC_CONNECTOR;
                        break;
                case OPT_DROP_PRIVILEGES:
                case OPT_NO_DROP_PRIVILEGES:
                        o->drop_privileges = c == OPT_DROP_PRIVILEGES;
                        o->from_cmdline |= SETTINGS_SET_DROP_PRIVILEGES;
                        break;
                case OPT_FORK_GRACE_MS: {
                        Error e;
                        if (settings_parse_count(optarg, "--fork-grace-ms", 0,
                                                 SETTINGS_MAX_FORK_GRACE_MS, &o->fork_grace_ms,
                                                 &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_FORK_GRACE_MS;
                        break;
                }
                case OPT_MAX_BACKLOG_BYTES: {
                        Error e;
                        if (settings_parse_size_in(optarg, "--max-backlog-bytes",
                                                   SETTINGS_MIN_MAX_BACKLOG_BYTES,
                                                   SETTINGS_MAX_MAX_BACKLOG_BYTES,
                                                   &o->max_backlog_bytes, &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->from_cmdline |= SETTINGS_SET_MAX_BACKLOG_BYTES;
                        break;
                }
                case OPT_QUOTA ... OPT_QUOTA_LAST: {
                        QuotaKind k = (QuotaKind)(c - OPT_QUOTA);
                        Error e;
                        if (quota_parse_value(k, optarg, quota_kind_option(k),
                                              &o->quota.defaults.v[k], &e) != 0) {
                                fprintf(stderr, "lwmid: %s\n", e.message);
                                return EXIT_USAGE;
                        }
                        o->quota.from_cmdline |= 1u << k;
                        break;
                }
                case ':':
                        fprintf(stderr, "lwmid: option %s needs an argument\n", argv[optind - 1]);
                        fprintf(stderr, "Try 'lwmid --help' for more information.\n");
                        return EXIT_USAGE;
                default:
                        if (optopt)
                                fprintf(stderr, "lwmid: unknown option -%c\n", optopt);
                        else
                                fprintf(stderr, "lwmid: unknown option %s\n", argv[optind - 1]);
                        fprintf(stderr, "Try 'lwmid --help' for more information.\n");
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "lwmid: unexpected argument '%s'\n", argv[optind]);
                fprintf(stderr, "Try 'lwmid --help' for more information.\n");
                return EXIT_USAGE;
        }
        return -1;
}

int main(int argc, char **argv) {
        Settings cmdline, settings;
        Server *server = NULL;
        Error e;
        int r, status;

        /* A peer that goes away mid-write must give EPIPE, not kill us. */
        signal(SIGPIPE, SIG_IGN);
        log_open();
        if (mem_install_library_hooks() < 0) {
                fprintf(stderr, "lwmid: cannot install allocation hooks\n");
                return EXIT_RUNTIME;
        }

        settings_init(&cmdline);
        status = parse_argv(argc, argv, &cmdline);
        if (status >= 0) {
                settings_done(&cmdline);
                return status;
        }
        log_set_max_level(cmdline.log_level);

        r = settings_resolve(&cmdline, &settings, &e);
        if (r != 0) {
                log_error("%s", e.message);
                settings_done(&cmdline);
                return r < 0 ? EXIT_RUNTIME : EXIT_USAGE;
        }
        log_set_max_level(settings.log_level);

        r = server_new(&cmdline, &settings, &server, &e);
        settings_done(&cmdline);
        settings_done(&settings);
        if (r != 0) {
                log_error("%s", e.message);
                return EXIT_RUNTIME;
        }

        r = server_start(server, &e);
        if (r != 0) {
                log_error("%s", e.message);
                server_free(server);
                return r == WBEM_E_ALREADY_EXISTS ? EXIT_RUNNING : EXIT_RUNTIME;
        }

        r = server_run(server);
        if (r < 0)
                log_error("event loop failed: %s", strerror(-r));
        server_shutdown(server, "exiting");
        server_free(server);
        log_info("stopped");
        return r < 0 ? EXIT_RUNTIME : EXIT_OK;
}
