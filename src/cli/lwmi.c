/* lwmi, the command-line client of lwmid: one command per run (query, get,
 * put, delete, classes, class, ping), each a few synchronous calls through
 * liblwmi, printed as an aligned table or, with --json, as one compact JSON
 * object per line for jq and scripts.
 *
 * Exit status tells a script what happened without parsing messages: 0 ok,
 * 1 the server reported an error (or the connection broke during a call),
 * 2 the command line (or the input file) was wrong, 3 no connection. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "config.h"
#include "format.h"
#include "lwmi/lwmi.h"
#include "mem.h"
#include "strbuf.h"
#include "table.h"

enum {
        EXIT_OK = 0,
        EXIT_SERVER = 1,
        EXIT_USAGE = 2,
        EXIT_CONNECT = 3,
};

#define DEFAULT_NAMESPACE "root/cimv2"

typedef struct Options {
        const char *socket;
        const char *ns;
        bool json;
        unsigned timeout_ms;
        bool deep;
        bool delete_class;
        bool help;
} Options;

typedef struct Command {
        const char *name;
        const char *usage; /* full help text */
        int (*run)(const Options *o, int argc, char **argv);
        unsigned min_args, max_args;
} Command;

static const char main_usage[] =
        "Usage: lwmi [OPTIONS] COMMAND [ARGS...]\n"
        "\n"
        "Query and change the management data that lwmid serves: classes and\n"
        "instances in namespaces, as in WMI.\n"
        "\n"
        "Commands:\n"
        "  query WQL            run a data query: SELECT ... FROM class [WHERE ...]\n"
        "  get PATH             show one instance (Class.Key=value) or class\n"
        "  put [FILE]           store instances or classes given as JSON (stdin: -)\n"
        "  delete PATH          delete one instance\n"
        "  delete --class NAME  delete a class\n"
        "  classes [SUPERCLASS] list classes (the direct children; --deep: all)\n"
        "  class NAME           show a class definition\n"
        "  ping                 check that lwmid answers\n"
        "  help [COMMAND]       show this text, or a command's\n"
        "\n"
        "Options (before or after the command):\n"
        "  -n, --namespace NS   namespace to work in (default: root/cimv2)\n"
        "      --socket PATH    lwmid's socket: a path or unix:PATH (default:\n"
        "                       $LWMI_SOCKET, else /run/lwmi/lwmid.sock as root and\n"
        "                       $XDG_RUNTIME_DIR/lwmi/lwmid.sock otherwise)\n"
        "      --json           print one compact JSON object per line instead of\n"
        "                       a table (64-bit integers are decimal strings)\n"
        "      --timeout SEC    give up on a call after SEC seconds (default: wait)\n"
        "  -h, --help           show help (lwmi COMMAND --help: that command's)\n"
        "  -V, --version        show the version\n"
        "\n"
        "Exit status:\n"
        "  0  success\n"
        "  1  the server reported an error, or the connection broke during a call\n"
        "  2  wrong usage: unknown command or option, missing argument, bad input file\n"
        "  3  cannot connect to lwmid (not running, wrong socket, no permission)\n"
        "\n"
        "Errors go to standard error as \"lwmi: MESSAGE (WBEM_STATUS)\"; a query error\n"
        "also shows the query with a caret under the position.\n"
        "\n"
        "Examples:\n"
        "  lwmi query \"SELECT ProcessId, Name FROM Linux_Process WHERE Name = 'sshd'\"\n"
        "  lwmi --json query \"SELECT * FROM Linux_OperatingSystem\" | jq .Version\n"
        "  lwmi get Linux_Process.ProcessId=1\n"
        "  echo '{\"__CLASS\":\"App_Job\",\"Id\":1}' | lwmi -n root/app put\n"
        "\n"
        "See lwmi(1) for more.\n";

static const char query_usage[] =
        "Usage: lwmi [OPTIONS] query WQL\n"
        "\n"
        "Run a WQL data query in the namespace (-n) and print the matching\n"
        "instances.\n"
        "\n"
        "  WQL: SELECT * | prop[, prop...] FROM class [WHERE condition]\n"
        "\n"
        "The table has one column per selected property, in the order of the\n"
        "select list; for SELECT * the class's own (non-system) properties in\n"
        "class order. NULL shows as an empty cell; arrays as {a, b}. Nothing is\n"
        "printed when no instance matches. With --json, each instance is one\n"
        "line of JSON, system properties (__CLASS, __PATH, ...) included.\n"
        "\n"
        "A query the server rejects is shown with a caret under the position\n"
        "of the error; the exit status is then 1.\n"
        "\n"
        "Example:\n"
        "  lwmi query \"SELECT Name, WorkingSetSize FROM Linux_Process WHERE UserId = 0\"\n";

static const char get_usage[] =
        "Usage: lwmi [OPTIONS] get PATH\n"
        "\n"
        "Show one object of the namespace (-n): an instance by its path, with\n"
        "its keys (Linux_Process.ProcessId=1, App_Job.Id=3,Name=\"x\", or\n"
        "Class=@ for a singleton), or a class by its name.\n"
        "\n"
        "An instance prints as a two-column table of its properties, __PATH\n"
        "first; a class prints as its definition (see `lwmi class`). With\n"
        "--json, the object is printed as one line of JSON.\n";

static const char put_usage[] =
        "Usage: lwmi [OPTIONS] put [FILE]\n"
        "\n"
        "Store instances or classes read as JSON from FILE (or standard input\n"
        "when FILE is - or missing) in the namespace (-n). The input holds one\n"
        "or more JSON objects (or arrays of them), one after the other, such as\n"
        "the output of `lwmi --json query`.\n"
        "\n"
        "An object with \"__GENUS\": 1 or a \"properties\" member is a class and\n"
        "is stored with PutClass:\n"
        "  {\"__CLASS\": \"App_Job\", \"__SUPERCLASS\": null,\n"
        "   \"properties\": {\"Id\": {\"type\": \"uint32\", \"key\": true}}}\n"
        "Any other object is an instance, stored with PutInstance (created or\n"
        "replaced); it needs __CLASS and its keys:\n"
        "  {\"__CLASS\": \"App_Job\", \"Id\": 1}\n"
        "\n"
        "Prints the path of each stored instance, or \"class NAME\" for a class\n"
        "(with --json: {\"path\": ...} or {\"class\": ...}). Stops at the first\n"
        "error. Input that is not JSON exits with status 2.\n";

static const char delete_usage[] =
        "Usage: lwmi [OPTIONS] delete PATH\n"
        "       lwmi [OPTIONS] delete --class NAME\n"
        "\n"
        "Delete one instance, by its path with keys (App_Job.Id=1, or Class=@\n"
        "for a singleton), from the namespace (-n).\n"
        "\n"
        "With --class, delete the class NAME instead (lwmid refuses a class\n"
        "that still has subclasses). A bare class name without --class is\n"
        "refused (exit status 2), so a missing key never deletes a class.\n"
        "\n"
        "Prints nothing on success.\n";

static const char classes_usage[] =
        "Usage: lwmi [OPTIONS] classes [--deep] [SUPERCLASS]\n"
        "\n"
        "List the classes of the namespace (-n) derived from SUPERCLASS, or\n"
        "the root classes when it is not given: only the direct children, or\n"
        "with --deep every class below. The table has the columns Class and\n"
        "Superclass; with --json, each class definition is one line of JSON.\n";

static const char class_usage[] =
        "Usage: lwmi [OPTIONS] class NAME\n"
        "\n"
        "Show the definition of class NAME in the namespace (-n) in MOF-like\n"
        "text: its superclass, and each property with its qualifiers (key, ...),\n"
        "type, [] for arrays and default value:\n"
        "\n"
        "  class App_Job : App_Base\n"
        "  {\n"
        "      [key] uint32 Id;\n"
        "      string Tags[];\n"
        "  };\n"
        "\n"
        "With --json, the class object as the server sends it, on one line.\n";

static const char ping_usage[] =
        "Usage: lwmi [OPTIONS] ping\n"
        "\n"
        "Connect to lwmid, make one round trip and print who answered and how\n"
        "long it took. The exit status is 0 when lwmid answers, 3 when it\n"
        "cannot be reached. With --json: {\"server\", \"version\", \"session\",\n"
        "\"keepalive_ms\", \"rtt_ms\"}.\n";

static const char help_usage[] = "Usage: lwmi help [COMMAND]\n"
                                 "\n"
                                 "Show the general help, or the help of COMMAND (query, get, put,\n"
                                 "delete, classes, class, ping).\n";

/* -- output -- */

static void print_error(const lwmi_error *err) {
        fprintf(stderr, "lwmi: %s", err->message[0] ? err->message : "failed");
        if (err->status[0] && strcmp(err->status, "WBEM_E_FAILED") != 0)
                fprintf(stderr, " (%s)", err->status);
        fputc('\n', stderr);
}

/* The status to exit with after a failed call. */
static int exit_for(const lwmi_error *err) {
        switch (err->code) {
        case LWMI_ERROR_CONNECT:
        case LWMI_ERROR_NOT_SUPPORTED:
                return EXIT_CONNECT;
        case LWMI_ERROR_INVALID_ARGUMENT:
                return EXIT_USAGE;
        default:
                return EXIT_SERVER;
        }
}

static int fail(const lwmi_error *err) {
        print_error(err);
        return exit_for(err);
}

static int oom(void) {
        fprintf(stderr, "lwmi: out of memory\n");
        return EXIT_SERVER;
}

static int print_json(const json_t *v) {
        if (json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
                return -EIO;
        return fputc('\n', stdout) == EOF ? -EIO : 0;
}

static int print_table(const Table *t) {
        _cleanup_free_ char *text = NULL;
        int r = table_format(t, &text);
        if (r < 0)
                return r;
        return fputs(text, stdout) == EOF ? -EIO : 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(lwmi_conn *, lwmi_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

/* Connect as the options say; on failure print why and return the exit
 * status (> 0). */
static int connect_or_fail(const Options *o, lwmi_conn **ret) {
        lwmi_error err = LWMI_ERROR_INIT;
        int r = lwmi_connect_ex(o->socket, "lwmi", 0, o->timeout_ms, ret, &err);
        if (r >= 0)
                return 0;
        if (err.code == LWMI_ERROR_CONNECT)
                fprintf(stderr, "lwmi: %s (is lwmid running?)\n", err.message);
        else
                print_error(&err);
        return err.code == LWMI_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_CONNECT;
}

/* -- commands -- */

static int cmd_ping(const Options *o, int argc, char **argv) {
        (void)argc;
        (void)argv;
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        lwmi_error err;
        if (lwmi_ping(c, &err) < 0)
                return fail(&err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        ms = round(ms * 1000.0) / 1000.0; /* microseconds are enough */
        const char *server = lwmi_server_name(c) ? lwmi_server_name(c) : "server";
        const char *version = lwmi_server_version(c) ? lwmi_server_version(c) : "";
        const char *session = lwmi_session_id(c) ? lwmi_session_id(c) : "";
        if (o->json) {
                _cleanup_(json_decrefp) json_t *j =
                        json_pack("{s:s, s:s, s:s, s:I, s:f}", "server", server, "version", version,
                                  "session", session, "keepalive_ms",
                                  (json_int_t)lwmi_keepalive_ms(c), "rtt_ms", ms);
                if (!j)
                        return oom();
                return print_json(j) < 0 ? EXIT_SERVER : EXIT_OK;
        }
        printf("pong from %s %s, session %s, in %.3f ms\n", server, version, session, ms);
        return EXIT_OK;
}

static int print_objects(const Options *o, const json_t *objects, const Names *selected) {
        if (o->json) {
                size_t i;
                json_t *obj;
                json_array_foreach(objects, i, obj) {
                        if (print_json(obj) < 0)
                                return EXIT_SERVER;
                }
                return EXIT_OK;
        }
        if (json_array_size(objects) == 0)
                return EXIT_OK;
        Names columns = { 0 };
        if (format_columns(objects, selected, &columns) < 0)
                return oom();
        _cleanup_(table_freep) Table *t = NULL;
        int r = columns.n ? format_objects_table(objects, &columns, &t) : 0;
        format_names_free(&columns);
        if (r < 0)
                return oom();
        if (t && print_table(t) < 0)
                return EXIT_SERVER;
        return EXIT_OK;
}

static int cmd_query(const Options *o, int argc, char **argv) {
        (void)argc;
        const char *wql = argv[0];
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        _cleanup_(json_decrefp) json_t *objects = NULL;
        lwmi_error err;
        if (lwmi_exec_query(c, o->ns, wql, &objects, &err) < 0) {
                print_error(&err);
                _cleanup_free_ char *caret = NULL;
                if (err.line > 0 && format_caret(wql, err.line, err.column, &caret) == 0)
                        fputs(caret, stderr);
                return exit_for(&err);
        }
        Names selected = { 0 };
        if (format_select_list(wql, &selected) < 0)
                return oom();
        int r = print_objects(o, objects, &selected);
        format_names_free(&selected);
        return r;
}

static bool is_class_object(const json_t *obj) {
        json_t *genus = json_object_get(obj, "__GENUS");
        if (json_is_integer(genus))
                return json_integer_value(genus) == 1;
        return json_is_object(json_object_get(obj, "properties")) ||
               json_is_array(json_object_get(obj, "properties"));
}

static int print_class(const json_t *cls) {
        _cleanup_free_ char *text = NULL;
        int r = format_class(cls, &text);
        if (r == -ENOMEM)
                return oom();
        if (r < 0) {
                fprintf(stderr, "lwmi: the server's class has no __CLASS\n");
                return EXIT_SERVER;
        }
        return fputs(text, stdout) == EOF ? EXIT_SERVER : EXIT_OK;
}

static int cmd_get(const Options *o, int argc, char **argv) {
        (void)argc;
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        _cleanup_(json_decrefp) json_t *obj = NULL;
        lwmi_error err;
        if (lwmi_get_object(c, o->ns, argv[0], &obj, &err) < 0)
                return fail(&err);
        if (o->json)
                return print_json(obj) < 0 ? EXIT_SERVER : EXIT_OK;
        if (is_class_object(obj))
                return print_class(obj);
        _cleanup_(table_freep) Table *t = NULL;
        if (format_object_table(obj, &t) < 0)
                return oom();
        return print_table(t) < 0 ? EXIT_SERVER : EXIT_OK;
}

static int cmd_class(const Options *o, int argc, char **argv) {
        (void)argc;
        const char *name = argv[0];
        if (strpbrk(name, ".=")) {
                fprintf(stderr,
                        "lwmi: '%s' is an instance path, not a class name; "
                        "use lwmi get\n",
                        name);
                return EXIT_USAGE;
        }
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        _cleanup_(json_decrefp) json_t *cls = NULL;
        lwmi_error err;
        if (lwmi_get_object(c, o->ns, name, &cls, &err) < 0)
                return fail(&err);
        if (o->json)
                return print_json(cls) < 0 ? EXIT_SERVER : EXIT_OK;
        return print_class(cls);
}

static int cmd_classes(const Options *o, int argc, char **argv) {
        const char *super = argc > 0 ? argv[0] : NULL;
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        _cleanup_(json_decrefp) json_t *classes = NULL;
        lwmi_error err;
        if (lwmi_enum_classes(c, o->ns, super, o->deep, &classes, &err) < 0)
                return fail(&err);
        if (o->json)
                return print_objects(o, classes, NULL);
        if (json_array_size(classes) == 0)
                return EXIT_OK;
        _cleanup_(table_freep) Table *t = NULL;
        if (table_new(2, &t) < 0 || table_set_header(t, 0, "Class") < 0 ||
            table_set_header(t, 1, "Superclass") < 0)
                return oom();
        size_t i;
        json_t *cls;
        json_array_foreach(classes, i, cls) {
                const char *cells[] = {
                        json_string_value(json_object_get(cls, "__CLASS")),
                        json_string_value(json_object_get(cls, "__SUPERCLASS")),
                };
                if (table_add_row(t, cells) < 0)
                        return oom();
        }
        return print_table(t) < 0 ? EXIT_SERVER : EXIT_OK;
}

/* The whole of a file (or stdin for NULL / "-"). */
static int read_input(const char *path, char **ret, size_t *ret_len) {
        FILE *f = stdin;
        if (path && strcmp(path, "-") != 0) {
                f = fopen(path, "re");
                if (!f)
                        return -errno;
        }
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "");
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                strbuf_append_len(&b, chunk, n);
        int r = ferror(f) ? -EIO : 0;
        if (f != stdin)
                fclose(f);
        size_t len = b.len;
        char *s = strbuf_steal(&b);
        if (r < 0) {
                mem_free(s);
                return r;
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        *ret_len = len;
        return 0;
}

/* A copy of obj without the system properties that say where it came from
 * (a `lwmi --json query` or `class` elsewhere): -n says where it goes. Only
 * __CLASS, and for a class __SUPERCLASS, stay. */
static json_t *without_origin(const json_t *obj, bool is_class) {
        json_t *copy = json_copy((json_t *)obj);
        if (!copy)
                return NULL;
        const char *key;
        void *tmp;
        json_t *v;
        json_object_foreach_safe(copy, tmp, key, v) {
                if (!format_is_system_property(key) || strcmp(key, "__CLASS") == 0 ||
                    (is_class && strcmp(key, "__SUPERCLASS") == 0))
                        continue;
                json_object_del(copy, key);
        }
        return copy;
}

static int put_one(const Options *o, lwmi_conn *c, const json_t *obj) {
        lwmi_error err;
        if (!json_is_object(obj)) {
                fprintf(stderr, "lwmi: put: expected a JSON object, found %s\n",
                        json_is_array(obj) ? "a nested array" : "a scalar");
                return EXIT_USAGE;
        }
        bool is_class = is_class_object(obj);
        _cleanup_(json_decrefp) json_t *clean = without_origin(obj, is_class);
        if (!clean)
                return oom();
        if (is_class) {
                const char *name = json_string_value(json_object_get(obj, "__CLASS"));
                if (lwmi_put_class(c, o->ns, clean, &err) < 0)
                        return fail(&err);
                if (o->json) {
                        _cleanup_(json_decrefp) json_t *j = json_pack("{s:s?}", "class", name);
                        return !j ? oom() : print_json(j) < 0 ? EXIT_SERVER : EXIT_OK;
                }
                printf("class %s\n", name ? name : "?");
                return EXIT_OK;
        }
        _cleanup_free_ char *path = NULL;
        if (lwmi_put_instance(c, o->ns, clean, &path, &err) < 0)
                return fail(&err);
        if (o->json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s?}", "path", path);
                return !j ? oom() : print_json(j) < 0 ? EXIT_SERVER : EXIT_OK;
        }
        printf("%s\n", path ? path : "stored");
        return EXIT_OK;
}

static int cmd_put(const Options *o, int argc, char **argv) {
        const char *file = argc > 0 ? argv[0] : NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_input(file, &text, &len);
        if (r < 0) {
                fprintf(stderr, "lwmi: cannot read %s: %s\n", file ? file : "standard input",
                        strerror(-r));
                return EXIT_USAGE;
        }
        /* Parse everything before storing anything: bad input stores
         * nothing. */
        _cleanup_(json_decrefp) json_t *values = json_array();
        if (!values)
                return oom();
        size_t off = 0;
        for (;;) {
                while (off < len && strchr(" \t\r\n", text[off]))
                        off++;
                if (off >= len)
                        break;
                json_error_t je;
                json_t *v = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK, &je);
                if (!v) {
                        fprintf(stderr, "lwmi: %s: not JSON at line %d, column %d: %s\n",
                                file && strcmp(file, "-") != 0 ? file : "standard input", je.line,
                                je.column, je.text);
                        return EXIT_USAGE;
                }
                off += je.position;
                int added = json_is_array(v) ? json_array_extend(values, v)
                                             : json_array_append(values, v);
                json_decref(v);
                if (added < 0)
                        return oom();
        }
        if (json_array_size(values) == 0) {
                fprintf(stderr, "lwmi: put: no object in %s\n",
                        file && strcmp(file, "-") != 0 ? file : "standard input");
                return EXIT_USAGE;
        }
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        size_t i;
        json_t *obj;
        json_array_foreach(values, i, obj) {
                e = put_one(o, c, obj);
                if (e)
                        return e;
        }
        return EXIT_OK;
}

static int cmd_delete(const Options *o, int argc, char **argv) {
        (void)argc;
        const char *target = argv[0];
        bool has_keys = strpbrk(target, ".=") != NULL;
        if (o->delete_class && has_keys) {
                fprintf(stderr,
                        "lwmi: delete --class: '%s' is an instance path, not a class "
                        "name\n",
                        target);
                return EXIT_USAGE;
        }
        if (!o->delete_class && !has_keys) {
                fprintf(stderr,
                        "lwmi: '%s' has no keys, so it names a class; to delete the class "
                        "use: lwmi delete --class %s\n",
                        target, target);
                return EXIT_USAGE;
        }
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        lwmi_error err;
        int r = o->delete_class ? lwmi_delete_class(c, o->ns, target, &err)
                                : lwmi_delete_instance(c, o->ns, target, &err);
        return r < 0 ? fail(&err) : EXIT_OK;
}

static int cmd_help(const Options *o, int argc, char **argv);

static const Command commands[] = {
        { "query", query_usage, cmd_query, 1, 1 },
        { "get", get_usage, cmd_get, 1, 1 },
        { "put", put_usage, cmd_put, 0, 1 },
        { "delete", delete_usage, cmd_delete, 1, 1 },
        { "classes", classes_usage, cmd_classes, 0, 1 },
        { "class", class_usage, cmd_class, 1, 1 },
        { "ping", ping_usage, cmd_ping, 0, 0 },
        { "help", help_usage, cmd_help, 0, 1 },
};

static const Command *find_command(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

static int cmd_help(const Options *o, int argc, char **argv) {
        (void)o;
        if (argc == 0) {
                fputs(main_usage, stdout);
                return EXIT_OK;
        }
        const Command *cmd = find_command(argv[0]);
        if (!cmd) {
                fprintf(stderr, "lwmi: no such command: %s (see lwmi --help)\n", argv[0]);
                return EXIT_USAGE;
        }
        fputs(cmd->usage, stdout);
        return EXIT_OK;
}

/* -- command line -- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("lwmi: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputs(" (see lwmi --help)\n", stderr);
        va_end(ap);
        return EXIT_USAGE;
}

static int parse_timeout(const char *text, unsigned *ret) {
        char *end;
        errno = 0;
        double s = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(s) || s <= 0 || s > 86400.0 * 24)
                return -EINVAL;
        double ms = ceil(s * 1000.0);
        *ret = (unsigned)ms;
        return 0;
}

int main(int argc, char **argv) {
        enum {
                OPT_SOCKET = 0x100,
                OPT_JSON,
                OPT_TIMEOUT,
                OPT_DEEP,
                OPT_CLASS,
        };
        static const struct option long_options[] = {
                { "namespace", required_argument, NULL, 'n' },
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "json", no_argument, NULL, OPT_JSON },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "deep", no_argument, NULL, OPT_DEEP },
                { "class", no_argument, NULL, OPT_CLASS },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        Options o = { .ns = DEFAULT_NAMESPACE };
        bool version = false;
        int opt;
        opterr = 0;
        /* Options may come before or after the command (GNU permutation);
         * "--" ends them, for arguments that start with '-'. */
        while ((opt = getopt_long(argc, argv, ":n:hV", long_options, NULL)) != -1) {
                switch (opt) {
                case 'n':
                        if (!*optarg)
                                return usage_error("the namespace must not be empty");
                        o.ns = optarg;
                        break;
                case OPT_SOCKET:
                        o.socket = optarg;
                        break;
                case OPT_JSON:
                        o.json = true;
                        break;
                case OPT_TIMEOUT:
                        if (parse_timeout(optarg, &o.timeout_ms) < 0)
                                return usage_error("--timeout needs a number of seconds, not '%s'",
                                                   optarg);
                        break;
                case OPT_DEEP:
                        o.deep = true;
                        break;
                case OPT_CLASS:
                        o.delete_class = true;
                        break;
                case 'h':
                        o.help = true;
                        break;
                case 'V':
                        version = true;
                        break;
                case ':':
                        return usage_error("option %s needs an argument", argv[optind - 1]);
                default:
                        return usage_error("unknown option %s", argv[optind - 1]);
                }
        }
        if (version) {
                printf("lwmi %s (liblwmi %s)\n", LWMI_VERSION, lwmi_version());
                return EXIT_OK;
        }
        if (optind >= argc) {
                if (o.help) {
                        fputs(main_usage, stdout);
                        return EXIT_OK;
                }
                return usage_error("no command given");
        }
        const Command *cmd = find_command(argv[optind]);
        if (!cmd)
                return usage_error("unknown command '%s'", argv[optind]);
        if (o.help) {
                fputs(cmd->usage, stdout);
                return EXIT_OK;
        }
        int nargs = argc - optind - 1;
        char **args = argv + optind + 1;
        if (o.deep && cmd->run != cmd_classes)
                return usage_error("--deep is an option of lwmi classes, not of %s", cmd->name);
        if (o.delete_class && cmd->run != cmd_delete)
                return usage_error("--class is an option of lwmi delete, not of %s", cmd->name);
        if ((unsigned)nargs < cmd->min_args || (unsigned)nargs > cmd->max_args) {
                fprintf(stderr, "lwmi: %s: %s\n\n", cmd->name,
                        (unsigned)nargs < cmd->min_args ? "missing argument"
                                                        : "too many arguments");
                fputs(cmd->usage, stderr);
                return EXIT_USAGE;
        }
        int e = cmd->run(&o, nargs, args);
        if (fflush(stdout) == EOF || ferror(stdout)) {
                fprintf(stderr, "lwmi: cannot write the output: %s\n", strerror(errno));
                return e ? e : EXIT_SERVER;
        }
        return e;
}
