/* Settings from the INI configuration file, parsed with inih; see settings.h.
 *
 * inih reports only the line of the first syntax error and does not tell
 * the handler which line it is on, so the file is fed through our own
 * reader that counts lines: each error is then recorded with its line and
 * the earliest one is reported, whether it came from inih or from us. */
#include "settings.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "filetrust.h"
#include "mem.h"
#include "netaddr.h"
#include "repo.h"

void settings_init(Settings *o) {
        *o = (Settings){
                .log_level = LOG_LEVEL_INFO,
                .max_line_bytes = SETTINGS_DEFAULT_MAX_LINE_BYTES,
                .max_result_objects = SETTINGS_DEFAULT_MAX_RESULT_OBJECTS,
                .max_result_bytes = SETTINGS_DEFAULT_MAX_RESULT_BYTES,
                .min_within_ms = SETTINGS_DEFAULT_MIN_WITHIN_MS,
                .keepalive_ms = SETTINGS_DEFAULT_KEEPALIVE_MS,
                .stall_timeout_ms = SETTINGS_DEFAULT_STALL_TIMEOUT_MS,
                .proc_connector = true,
                .fork_grace_ms = SETTINGS_DEFAULT_FORK_GRACE_MS,
                .max_backlog_bytes = SETTINGS_DEFAULT_MAX_BACKLOG_BYTES,
                .tls_auth_timeout_ms = SETTINGS_DEFAULT_TLS_AUTH_TIMEOUT_MS,
                .drop_privileges = true,
        };
        quota_config_init(&o->quota);
}

void settings_done(Settings *o) {
        if (!o)
                return;
        mem_free(o->socket_path);
        mem_free(o->repository);
        mem_free(o->config_path);
        mem_free(o->listen);
        quota_config_done(&o->quota);
        mem_free(o->tls_cert);
        mem_free(o->tls_key);
        mem_free(o->tls_ca);
        settings_init(o);
}

static int dup_or_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = mem_strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int settings_copy(const Settings *src, Settings *dst) {
        Settings c = *src;

        c.socket_path = c.repository = c.config_path = c.listen = NULL;
        quota_config_init(&c.quota);
        c.tls_cert = c.tls_key = c.tls_ca = NULL;
        if (dup_or_null(src->socket_path, &c.socket_path) < 0 ||
            dup_or_null(src->repository, &c.repository) < 0 ||
            dup_or_null(src->config_path, &c.config_path) < 0 ||
            dup_or_null(src->listen, &c.listen) < 0 ||
            dup_or_null(src->tls_cert, &c.tls_cert) < 0 ||
            dup_or_null(src->tls_key, &c.tls_key) < 0 ||
            dup_or_null(src->tls_ca, &c.tls_ca) < 0 ||
            quota_config_copy(&src->quota, &c.quota) < 0) {
                settings_done(&c);
                return -ENOMEM;
        }
        *dst = c;
        return 0;
}

int settings_parse_size_in(const char *text, const char *what, size_t min, size_t max, size_t *ret,
                           Error *err) {
        static const struct {
                const char *suffix;
                unsigned shift;
        } suffixes[] = {
                { "", 0 },     { "K", 10 }, { "KiB", 10 }, { "M", 20 },
                { "MiB", 20 }, { "G", 30 }, { "GiB", 30 },
        };
        const char *p = text;
        unsigned long long v = 0;

        if (*p < '0' || *p > '9')
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "%s: '%s' is not a size (bytes, optionally with K, M or G)", what,
                                 text);
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (unsigned long long)(*p - '0');
                if (v > max)
                        goto range;
        }
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                if (strcmp(p, suffixes[i].suffix) != 0)
                        continue;
                if (v > (max >> suffixes[i].shift))
                        goto range;
                v <<= suffixes[i].shift;
                if (v < min)
                        goto range;
                *ret = (size_t)v;
                return 0;
        }
        return error_set(err, WBEM_E_INVALID_PARAMETER,
                         "%s: '%s' has an unknown unit (use K, M or G)", what, text);
range:
        return error_set(err, WBEM_E_INVALID_PARAMETER,
                         "%s: '%s' is out of range (%zu bytes to %zu bytes)", what, text, min, max);
}

int settings_parse_size(const char *text, const char *what, size_t *ret, Error *err) {
        return settings_parse_size_in(text, what, SETTINGS_MIN_MAX_LINE_BYTES,
                                      SETTINGS_MAX_MAX_LINE_BYTES, ret, err);
}

int settings_parse_count(const char *text, const char *what, size_t min, size_t max, size_t *ret,
                         Error *err) {
        unsigned long long v = 0;
        const char *p = text;

        if (*p < '0' || *p > '9')
                return error_set(err, WBEM_E_INVALID_PARAMETER, "%s: '%s' is not a number", what,
                                 text);
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (unsigned long long)(*p - '0');
                if (v > max)
                        goto range;
        }
        if (*p)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "%s: '%s' is not a number", what,
                                 text);
        if (v < min)
                goto range;
        *ret = (size_t)v;
        return 0;
range:
        return error_set(err, WBEM_E_INVALID_PARAMETER, "%s: '%s' is out of range (%zu to %zu)",
                         what, text, min, max);
}

int settings_parse_bool(const char *text, const char *what, bool *ret, Error *err) {
        if (strcmp(text, "true") == 0)
                *ret = true;
        else if (strcmp(text, "false") == 0)
                *ret = false;
        else
                return error_set(err, WBEM_E_INVALID_PARAMETER, "%s: '%s' is not true or false",
                                 what, text);
        return 0;
}

int settings_check_listen(const Settings *o, Error *err) {
        NetAddr a;
        bool tls = false;
        int r;

        if (!o->listen)
                return 0;
        r = netaddr_parse_listen(o->listen, "listen", &a, &tls, err);
        if (r != 0)
                return r;
        if (tls && (!o->tls_cert || !o->tls_key))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "listen address %s is TLS: give the server's certificate and "
                                 "key with --tls-cert and --tls-key (tls_cert, tls_key)",
                                 o->listen);
        if (!tls && !o->insecure_tcp && !netaddr_is_loopback(&a))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "listen address %s is not loopback; plain TCP has no "
                                 "authentication, so lwmid listens only on loopback "
                                 "(127.0.0.0/8, [::1]) unless --insecure-tcp (insecure_tcp = "
                                 "true) is given, which is meant for tests in private network "
                                 "namespaces; use tls:%s for remote clients",
                                 o->listen, o->listen);
        return 0;
}

typedef struct Parse {
        Settings *options;
        const char *name; /* file name for messages */
        /* line counting (see the reader) */
        const char *text; /* in-memory source, or NULL */
        FILE *file;       /* file source, or NULL */
        unsigned line;    /* line of the chunk last returned */
        bool at_line_start;
        /* earliest error found by us */
        int status;
        unsigned error_line;
        char message[400];
        unsigned seen; /* SETTINGS_SET_* met in this file, to catch repeats */
} Parse;

static void parse_fail(Parse *p, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void parse_fail(Parse *p, unsigned line, const char *fmt, ...) {
        va_list ap;

        if (p->status != 0 && p->error_line <= line)
                return;
        p->status = WBEM_E_INVALID_PARAMETER;
        p->error_line = line;
        va_start(ap, fmt);
        vsnprintf(p->message, sizeof(p->message), fmt, ap);
        va_end(ap);
}

/* Read one chunk as fgets would, from the file or the string. */
static char *parse_read_chunk(Parse *p, char *buf, int size) {
        if (p->file)
                return fgets(buf, size, p->file);
        if (!*p->text)
                return NULL;
        int n = 0;
        while (n < size - 1 && p->text[0]) {
                buf[n++] = *p->text++;
                if (buf[n - 1] == '\n')
                        break;
        }
        buf[n] = '\0';
        return buf;
}

/* inih's reader: fgets-like, counting lines. inih reads at most size-1
 * bytes per call; a longer line would be split and its tail parsed as a
 * line of its own, so it is cut here and reported. */
static char *parse_reader(char *buf, int size, void *userdata) {
        Parse *p = userdata;

        if (!parse_read_chunk(p, buf, size))
                return NULL;
        p->line++;
        size_t len = strlen(buf);
        if (len > 0 && buf[len - 1] != '\n' && len == (size_t)size - 1) {
                char rest[256];
                bool eol = false;

                parse_fail(p, p->line, "%s:%u: line longer than %d bytes", p->name, p->line,
                           size - 2);
                /* Discard the rest of the over-long line. */
                while (!eol && parse_read_chunk(p, rest, (int)sizeof(rest))) {
                        size_t l = strlen(rest);
                        eol = l > 0 && rest[l - 1] == '\n';
                }
                buf[0] = '\0'; /* an empty line: nothing for inih to parse */
        }
        return buf;
}

static const struct {
        const char *key;
        unsigned flag;
} settings_keys[] = {
        { "socket", SETTINGS_SET_SOCKET },
        { "repository", SETTINGS_SET_REPOSITORY },
        { "log_level", SETTINGS_SET_LOG_LEVEL },
        { "max_line_bytes", SETTINGS_SET_MAX_LINE_BYTES },
        { "max_result_objects", SETTINGS_SET_MAX_RESULT_OBJECTS },
        { "max_result_bytes", SETTINGS_SET_MAX_RESULT_BYTES },
        { "min_within_ms", SETTINGS_SET_MIN_WITHIN_MS },
        { "keepalive_ms", SETTINGS_SET_KEEPALIVE_MS },
        { "stall_timeout_ms", SETTINGS_SET_STALL_TIMEOUT_MS },
        { "listen", SETTINGS_SET_LISTEN },
        { "insecure_tcp", SETTINGS_SET_INSECURE_TCP },
        { "proc_connector", SETTINGS_SET_PROC_CONNECTOR },
        { "fork_grace_ms", SETTINGS_SET_FORK_GRACE_MS },
        { "max_backlog_bytes", SETTINGS_SET_MAX_BACKLOG_BYTES },
        { "tls_cert", SETTINGS_SET_TLS_CERT },
        { "tls_key", SETTINGS_SET_TLS_KEY },
        { "tls_ca", SETTINGS_SET_TLS_CA },
        { "tls_auth_timeout_ms", SETTINGS_SET_TLS_AUTH_TIMEOUT_MS },
        { "drop_privileges", SETTINGS_SET_DROP_PRIVILEGES },
};

static int parse_handler(void *userdata, const char *section, const char *key, const char *value) {
        Parse *p = userdata;
        Settings *o = p->options;
        unsigned flag = 0;
        Error e;

        if (quota_config_section(section)) {
                int r = quota_config_set(&o->quota, section, key, value, &e);
                if (r < 0)
                        p->status = r;
                else if (r > 0)
                        parse_fail(p, p->line, "%s:%u: %s", p->name, p->line, e.message);
                return r < 0 ? 0 : 1;
        }
        if (strcmp(section, "daemon") != 0) {
                if (section[0] == '\0')
                        parse_fail(p, p->line,
                                   "%s:%u: key '%s' outside a section (expected [daemon])", p->name,
                                   p->line, key);
                else
                        parse_fail(p, p->line,
                                   "%s:%u: unknown section [%s] (key '%s'; the sections are "
                                   "[daemon], [quota] and [quota:USER])",
                                   p->name, p->line, section, key);
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(settings_keys); i++)
                if (strcmp(key, settings_keys[i].key) == 0)
                        flag = settings_keys[i].flag;
        if (!flag) {
                parse_fail(p, p->line,
                           "%s:%u: unknown key '%s' in [daemon] (known: socket, repository, "
                           "log_level, max_line_bytes, max_result_objects, max_result_bytes, "
                           "min_within_ms, keepalive_ms, stall_timeout_ms, listen, insecure_tcp, "
                           "proc_connector, fork_grace_ms, max_backlog_bytes, tls_cert, "
                           "tls_key, tls_ca, tls_auth_timeout_ms, drop_privileges)",
                           p->name, p->line, key);
                return 1;
        }
        if (p->seen & flag) {
                parse_fail(p, p->line,
                           "%s:%u: key '%s' set more than once (or continued on an indented line)",
                           p->name, p->line, key);
                return 1;
        }
        p->seen |= flag;

        if (flag == SETTINGS_SET_SOCKET || flag == SETTINGS_SET_REPOSITORY ||
            flag == SETTINGS_SET_TLS_CERT || flag == SETTINGS_SET_TLS_KEY ||
            flag == SETTINGS_SET_TLS_CA) {
                if (value[0] == '\0') {
                        parse_fail(p, p->line, "%s:%u: key '%s': empty path", p->name, p->line,
                                   key);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_LOG_LEVEL) {
                if (log_level_from_name(value) < 0) {
                        parse_fail(p, p->line,
                                   "%s:%u: key 'log_level': '%s' is not one of error, warning, "
                                   "info, debug",
                                   p->name, p->line, value);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_MAX_LINE_BYTES) {
                size_t size;
                if (settings_parse_size(value, "max_line_bytes", &size, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_MAX_RESULT_OBJECTS) {
                size_t n;
                if (settings_parse_count(value, "max_result_objects",
                                         SETTINGS_MIN_MAX_RESULT_OBJECTS,
                                         SETTINGS_MAX_MAX_RESULT_OBJECTS, &n, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_MIN_WITHIN_MS) {
                size_t n;
                if (settings_parse_count(value, "min_within_ms", SETTINGS_MIN_MIN_WITHIN_MS,
                                         SETTINGS_MAX_MIN_WITHIN_MS, &n, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_KEEPALIVE_MS) {
                size_t n;
                if (settings_parse_count(value, "keepalive_ms", SETTINGS_MIN_KEEPALIVE_MS,
                                         SETTINGS_MAX_KEEPALIVE_MS, &n, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_STALL_TIMEOUT_MS) {
                size_t n;
                if (settings_parse_count(value, "stall_timeout_ms", SETTINGS_MIN_STALL_TIMEOUT_MS,
                                         SETTINGS_MAX_STALL_TIMEOUT_MS, &n, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_TLS_AUTH_TIMEOUT_MS) {
                size_t n;
                if (settings_parse_count(value, "tls_auth_timeout_ms",
                                         SETTINGS_MIN_TLS_AUTH_TIMEOUT_MS,
                                         SETTINGS_MAX_TLS_AUTH_TIMEOUT_MS, &n, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_LISTEN) {
                NetAddr a;
                bool tls;
                if (netaddr_parse_listen(value, "listen", &a, &tls, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_INSECURE_TCP) {
                bool b;
                if (settings_parse_bool(value, "insecure_tcp", &b, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_PROC_CONNECTOR) {
                bool b;
                if (settings_parse_bool(value, "proc_connector", &b, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_DROP_PRIVILEGES) {
                bool b;
                if (settings_parse_bool(value, "drop_privileges", &b, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_FORK_GRACE_MS) {
                size_t n;
                if (settings_parse_count(value, "fork_grace_ms", 0, SETTINGS_MAX_FORK_GRACE_MS,
                                         &n, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_MAX_BACKLOG_BYTES) {
                size_t size;
                if (settings_parse_size_in(value, "max_backlog_bytes",
                                           SETTINGS_MIN_MAX_BACKLOG_BYTES,
                                           SETTINGS_MAX_MAX_BACKLOG_BYTES, &size, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        } else if (flag == SETTINGS_SET_MAX_RESULT_BYTES) {
                size_t size;
                if (settings_parse_size_in(value, "max_result_bytes", SETTINGS_MIN_MAX_RESULT_BYTES,
                                           SETTINGS_MAX_MAX_RESULT_BYTES, &size, &e) != 0) {
                        parse_fail(p, p->line, "%s:%u: key %s", p->name, p->line, e.message);
                        return 1;
                }
        }

        /* Valid; the command line still wins. */
        o->from_file |= flag;
        if (o->from_cmdline & flag)
                return 1;
        switch (flag) {
        case SETTINGS_SET_SOCKET:
        case SETTINGS_SET_REPOSITORY:
        case SETTINGS_SET_LISTEN:
        case SETTINGS_SET_TLS_CERT:
        case SETTINGS_SET_TLS_KEY:
        case SETTINGS_SET_TLS_CA: {
                char *copy = mem_strdup(value);
                if (!copy) {
                        p->status = -ENOMEM;
                        return 0;
                }
                char **slot = flag == SETTINGS_SET_SOCKET       ? &o->socket_path
                              : flag == SETTINGS_SET_REPOSITORY ? &o->repository
                              : flag == SETTINGS_SET_TLS_CERT   ? &o->tls_cert
                              : flag == SETTINGS_SET_TLS_KEY    ? &o->tls_key
                              : flag == SETTINGS_SET_TLS_CA     ? &o->tls_ca
                                                                : &o->listen;
                mem_free(*slot);
                *slot = copy;
                break;
        }
        case SETTINGS_SET_LOG_LEVEL:
                o->log_level = (LogLevel)log_level_from_name(value);
                break;
        case SETTINGS_SET_MAX_LINE_BYTES:
                (void)settings_parse_size(value, "max_line_bytes", &o->max_line_bytes, NULL);
                break;
        case SETTINGS_SET_MAX_RESULT_OBJECTS:
                (void)settings_parse_count(
                        value, "max_result_objects", SETTINGS_MIN_MAX_RESULT_OBJECTS,
                        SETTINGS_MAX_MAX_RESULT_OBJECTS, &o->max_result_objects, NULL);
                break;
        case SETTINGS_SET_MAX_RESULT_BYTES:
                (void)settings_parse_size_in(
                        value, "max_result_bytes", SETTINGS_MIN_MAX_RESULT_BYTES,
                        SETTINGS_MAX_MAX_RESULT_BYTES, &o->max_result_bytes, NULL);
                break;
        case SETTINGS_SET_MIN_WITHIN_MS:
                (void)settings_parse_count(value, "min_within_ms", SETTINGS_MIN_MIN_WITHIN_MS,
                                           SETTINGS_MAX_MIN_WITHIN_MS, &o->min_within_ms, NULL);
                break;
        case SETTINGS_SET_KEEPALIVE_MS:
                (void)settings_parse_count(value, "keepalive_ms", SETTINGS_MIN_KEEPALIVE_MS,
                                           SETTINGS_MAX_KEEPALIVE_MS, &o->keepalive_ms, NULL);
                break;
        case SETTINGS_SET_STALL_TIMEOUT_MS:
                (void)settings_parse_count(value, "stall_timeout_ms",
                                           SETTINGS_MIN_STALL_TIMEOUT_MS,
                                           SETTINGS_MAX_STALL_TIMEOUT_MS, &o->stall_timeout_ms,
                                           NULL);
                break;
        case SETTINGS_SET_INSECURE_TCP:
                (void)settings_parse_bool(value, "insecure_tcp", &o->insecure_tcp, NULL);
                break;
        case SETTINGS_SET_PROC_CONNECTOR:
                (void)settings_parse_bool(value, "proc_connector", &o->proc_connector, NULL);
                break;
        case SETTINGS_SET_DROP_PRIVILEGES:
                (void)settings_parse_bool(value, "drop_privileges", &o->drop_privileges, NULL);
                break;
        case SETTINGS_SET_FORK_GRACE_MS:
                (void)settings_parse_count(value, "fork_grace_ms", 0, SETTINGS_MAX_FORK_GRACE_MS,
                                           &o->fork_grace_ms, NULL);
                break;
        case SETTINGS_SET_TLS_AUTH_TIMEOUT_MS:
                (void)settings_parse_count(value, "tls_auth_timeout_ms",
                                           SETTINGS_MIN_TLS_AUTH_TIMEOUT_MS,
                                           SETTINGS_MAX_TLS_AUTH_TIMEOUT_MS,
                                           &o->tls_auth_timeout_ms, NULL);
                break;
        case SETTINGS_SET_MAX_BACKLOG_BYTES:
                (void)settings_parse_size_in(value, "max_backlog_bytes",
                                             SETTINGS_MIN_MAX_BACKLOG_BYTES,
                                             SETTINGS_MAX_MAX_BACKLOG_BYTES,
                                             &o->max_backlog_bytes, NULL);
                break;
        }
        return 1;
}

static int settings_parse(Parse *p, Error *err) {
        int r = ini_parse_stream(parse_reader, p, parse_handler, p);

        if (p->status < 0)
                return error_from_errno(err, p->status);
        if (r < 0)
                return error_set(err, WBEM_E_OUT_OF_MEMORY, "%s: out of memory", p->name);
        /* r > 0 is the line of the first error inih saw: its own syntax
         * errors (a line that is no section, key=value or comment) and the
         * lines where our handler recorded a message. */
        if (r > 0 && (p->status == 0 || (unsigned)r < p->error_line))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "%s:%d: syntax error (expected [section], key = value or a "
                                 "; comment)",
                                 p->name, r);
        if (p->status)
                return error_set(err, p->status, "%s", p->message);
        return 0;
}

int settings_load_string(Settings *o, const char *name, const char *text, Error *err) {
        Parse p = { .options = o, .name = name, .text = text };
        return settings_parse(&p, err);
}

int settings_load(Settings *o, Error *err) {
        Parse p = { .options = o, .name = o->config_path };
        int r;

        p.file = fopen(o->config_path, "re");
        if (!p.file)
                return error_set(err, WBEM_E_NOT_FOUND, "cannot open %s: %s", o->config_path,
                                 strerror(errno));
        /* It decides where lwmid listens and what it stores: nobody but
         * root (or lwmid's own user) may be able to change it. */
        r = filetrust_check(o->config_path, "configuration file", geteuid(), true, err);
        if (r != 0) {
                fclose(p.file);
                return r;
        }
        r = settings_parse(&p, err);
        if (r == 0 && ferror(p.file))
                r = error_set(err, WBEM_E_FAILED, "cannot read %s", o->config_path);
        fclose(p.file);
        return r;
}

int settings_default_socket(bool is_root, const char *xdg_runtime_dir, char **ret, Error *err) {
        char *path;

        if (is_root)
                path = mem_strdup("/run/lwmi/lwmid.sock");
        else if (!xdg_runtime_dir || xdg_runtime_dir[0] != '/')
                return error_set(err, WBEM_E_NOT_FOUND,
                                 "XDG_RUNTIME_DIR is %s and lwmid is not running as root: "
                                 "give the socket with --socket PATH",
                                 xdg_runtime_dir ? "not an absolute path" : "not set");
        else
                path = mem_printf("%s/lwmi/lwmid.sock", xdg_runtime_dir);
        if (!path)
                return error_from_errno(err, -ENOMEM);
        *ret = path;
        return 0;
}

int settings_resolve(const Settings *cmdline, Settings *ret, Error *err) {
        Settings o;
        bool is_root = geteuid() == 0;
        int r;

        r = settings_copy(cmdline, &o);
        if (r < 0)
                return error_from_errno(err, r);
        if (o.config_path) {
                r = settings_load(&o, err);
                if (r != 0)
                        goto fail;
        }
        if (!o.socket_path) {
                r = settings_default_socket(is_root, getenv("XDG_RUNTIME_DIR"), &o.socket_path,
                                            err);
                if (r != 0)
                        goto fail;
        }
        if (!o.repository) {
                /* The engine's rule, so lwmid and the tools that open a
                 * repository directly agree on where it is. */
                r = repo_default_path(&o.repository);
                if (r == -ENOENT)
                        r = error_set(err, WBEM_E_NOT_FOUND,
                                      "neither XDG_STATE_HOME nor HOME is set: give the "
                                      "repository with --repository PATH");
                else if (r < 0)
                        error_from_errno(err, r);
                if (r != 0)
                        goto fail;
        }
        r = settings_check_listen(&o, err);
        if (r != 0)
                goto fail;
        *ret = o;
        return 0;
fail:
        settings_done(&o);
        return r;
}
