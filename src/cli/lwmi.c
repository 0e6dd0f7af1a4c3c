/* lwmi, the command-line client of lwmid: one command per run (query, get,
 * put, delete, classes, class, publish, ping, stats, rights), each a few synchronous calls
 * through liblwmi, and watch, which registers an event query on a sink and
 * prints events as they come from its own poll loop (lwmi_fd(),
 * lwmi_dispatch()) beside a signalfd for SIGINT and SIGTERM. Output is an
 * aligned table or, with --json, one compact JSON object per line for jq
 * and scripts.
 *
 * Exit status tells a script what happened without parsing messages: 0 ok,
 * 1 the server reported an error (or the connection broke during a call),
 * 2 the command line (or the input file) was wrong, 3 no connection, 4 a
 * watch that timed out without an event. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "format.h"
#include "lwmi/lwmi.h"
#include "mem.h"
#include "propvalue.h"
#include "strbuf.h"
#include "table.h"

enum {
        EXIT_OK = 0,
        EXIT_SERVER = 1,
        EXIT_USAGE = 2,
        EXIT_CONNECT = 3,
        EXIT_NO_EVENTS = 4,
};

#define DEFAULT_NAMESPACE "root/cimv2"

typedef struct Options {
        const char *socket; /* --socket or --connect: any address liblwmi takes */
        const char *ns;
        bool json;
        unsigned timeout_ms;
        bool deep;
        bool delete_class;
        bool help;
        unsigned long count; /* watch --count; 0: no limit */
        bool count_set;
        bool registrations; /* stats --registrations */
        bool users;         /* stats --users */
        lwmi_tls_options tls; /* --tls-ca, --tls-cert, --tls-key, --token-file */
        bool tls_set;         /* any of them given */
        const char *token_name; /* token add --name */
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
        "  watch WQL            print events as they come: SELECT * FROM\n"
        "                       __InstanceCreationEvent WITHIN 1 WHERE ...\n"
        "  publish CLASS P=V... publish an extrinsic event (an instance of a\n"
        "                       class derived from __ExtrinsicEvent)\n"
        "  ping                 check that lwmid answers\n"
        "  stats                show lwmid's figures and its sessions (and with\n"
        "                       --registrations, every registration)\n"
        "  rights list|grant|revoke\n"
        "                       show and change who may do what in which namespace\n"
        "  token add USER [--name NAME] | token list | token revoke ID\n"
        "                       manage the tokens TLS clients authenticate with\n"
        "  help [COMMAND]       show this text, or a command's\n"
        "\n"
        "Options (before or after the command):\n"
        "  -n, --namespace NS   namespace to work in (default: root/cimv2)\n"
        "      --socket PATH    lwmid's socket: a path or unix:PATH (default:\n"
        "                       $LWMI_SOCKET, else /run/lwmi/lwmid.sock as root and\n"
        "                       $XDG_RUNTIME_DIR/lwmi/lwmid.sock otherwise)\n"
        "      --connect ADDR   where lwmid is: unix:PATH, or tcp:HOST:PORT for an\n"
        "                       lwmid started with --listen (tcp:127.0.0.1:7000,\n"
        "                       tcp:[::1]:7000), or tls:HOST:PORT for one started\n"
        "                       with --listen tls:...; instead of --socket.\n"
        "                       $LWMI_SOCKET may hold any of these forms too\n"
        "      --tls-ca FILE    tls: the CA that signed lwmid's certificate (default:\n"
        "                       $LWMI_TLS_CA, else the system's trusted CAs); the\n"
        "                       certificate must also name HOST\n"
        "      --tls-cert FILE  tls: authenticate with this client certificate; its\n"
        "      --tls-key FILE   subject CN is the user lwmid acts for\n"
        "                       (default: $LWMI_TLS_CERT, $LWMI_TLS_KEY)\n"
        "      --token-file FILE  tls: authenticate with the token in FILE (default:\n"
        "                       $LWMI_TOKEN_FILE, else the token in $LWMI_TOKEN);\n"
        "                       never give a token on the command line\n"
        "      --json           print one compact JSON object per line instead of\n"
        "                       a table (64-bit integers are decimal strings)\n"
        "      --timeout SEC    give up on a call after SEC seconds (default: wait);\n"
        "                       for watch: stop watching after SEC seconds\n"
        "  -h, --help           show help (lwmi COMMAND --help: that command's)\n"
        "  -V, --version        show the version\n"
        "\n"
        "Exit status:\n"
        "  0  success\n"
        "  1  the server reported an error, or the connection broke during a call\n"
        "  2  wrong usage: unknown command or option, missing argument, bad input file\n"
        "  3  cannot connect to lwmid (not running, wrong socket or address, no\n"
        "     permission)\n"
        "  4  watch --timeout ended without any event\n"
        "\n"
        "Errors go to standard error as \"lwmi: MESSAGE (WBEM_STATUS)\"; a query error\n"
        "also shows the query with a caret under the position.\n"
        "\n"
        "Examples:\n"
        "  lwmi query \"SELECT ProcessId, Name FROM Linux_Process WHERE Name = 'sshd'\"\n"
        "  lwmi --json query \"SELECT * FROM Linux_OperatingSystem\" | jq .Version\n"
        "  lwmi get Linux_Process.ProcessId=1\n"
        "  echo '{\"__CLASS\":\"App_Job\",\"Id\":1}' | lwmi -n root/app put\n"
        "  lwmi watch \"SELECT * FROM __InstanceCreationEvent WITHIN 1\n"
        "              WHERE TargetInstance ISA 'Linux_Process'\"\n"
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

static const char watch_usage[] =
        "Usage: lwmi [OPTIONS] watch [--count N] [--timeout SEC] WQL\n"
        "\n"
        "Register the event query WQL in the namespace (-n) and print each event\n"
        "as it comes, until interrupted (Ctrl-C or SIGTERM: the registration is\n"
        "cancelled, the connection closed, and the exit status is 0).\n"
        "\n"
        "  WQL: SELECT * FROM __InstanceCreationEvent | __InstanceDeletionEvent |\n"
        "       __InstanceModificationEvent | __InstanceOperationEvent\n"
        "         [WITHIN seconds] WHERE TargetInstance ISA 'Class' [AND ...]\n"
        "   or: SELECT * FROM ExtrinsicEventClass [WHERE ...]\n"
        "\n"
        "The table has one row per event, its columns set by the first event:\n"
        "for an intrinsic event, Event (the event class) and the properties of\n"
        "its TargetInstance; for an extrinsic event, the event's own properties.\n"
        "With --json, each event is one line of JSON, the whole event object\n"
        "(TargetInstance and PreviousInstance embedded).\n"
        "\n"
        "  --count N      exit (status 0) after N events\n"
        "  --timeout SEC  stop after SEC seconds: status 0 if at least one event\n"
        "                 was printed, else 4\n"
        "\n"
        "Events the server had to drop (this client read too slowly) are\n"
        "reported on standard error. If the server ends the registration or\n"
        "the connection is lost, the exit status is 1.\n"
        "\n"
        "Example:\n"
        "  lwmi watch --count 1 \"SELECT * FROM __InstanceCreationEvent WITHIN 1\n"
        "              WHERE TargetInstance ISA 'Linux_Process'\"\n";

static const char publish_usage[] =
        "Usage: lwmi [OPTIONS] publish CLASS [PROPERTY=VALUE...]\n"
        "\n"
        "Publish an extrinsic event: an instance of CLASS, a class derived from\n"
        "__ExtrinsicEvent in the namespace (-n), with the given properties. It\n"
        "goes to every registration whose query matches it; lwmi prints how many\n"
        "(with --json: {\"delivered\": N}).\n"
        "\n"
        "Each VALUE is read by the type of its property in the class definition:\n"
        "integers and reals as numbers, booleans as true or false, strings,\n"
        "datetimes and references as they are, embedded objects as JSON. An\n"
        "array is written {a,b,c} (spaces around items are dropped, {} is\n"
        "empty). An empty VALUE, or NULL, is null (for a string, empty is the\n"
        "empty string). Property names ignore case, as in WMI.\n"
        "\n"
        "Example:\n"
        "  lwmi -n root/app publish App_Alert Severity=3 Text=\"disk full\" Tags={ops,disk}\n";

static const char stats_usage[] =
        "Usage: lwmi [OPTIONS] stats [--registrations] [--users]\n"
        "\n"
        "Show what lwmid says about itself (namespace root/lwmi, whatever -n\n"
        "says): its figures (LWMI_Daemon: sessions, registrations, filters,\n"
        "events delivered and dropped, sessions lost by reason, memory...) as a\n"
        "two-column table, then one row per open session (LWMI_Session: who,\n"
        "since when, last heard from, registrations, backlog, events).\n"
        "\n"
        "  --registrations  also one row per registration (LWMI_Registration:\n"
        "                   session, call, sink, events, query), by session and\n"
        "                   call\n"
        "  --users          also one row per user with a session (LWMI_User:\n"
        "                   what it holds and its quotas, empty when\n"
        "                   unlimited), by uid, anonymous peers last\n"
        "\n"
        "With --json, each object is one line of JSON: the LWMI_Daemon first,\n"
        "then the sessions, then the registrations, then the users (tell them\n"
        "apart by __CLASS). The session of lwmi itself is listed too.\n"
        "\n"
        "The same data can be queried and watched like any other class, e.g.\n"
        "  lwmi -n root/lwmi query \"SELECT * FROM LWMI_Session WHERE EventsDropped > 0\"\n";

static const char rights_usage[] =
        "Usage: lwmi [OPTIONS] rights list [NAMESPACE]\n"
        "       lwmi [OPTIONS] rights grant NAMESPACE PRINCIPAL RIGHTS\n"
        "       lwmi [OPTIONS] rights revoke NAMESPACE PRINCIPAL [RIGHTS]\n"
        "\n"
        "Show and change the rights per namespace (needs the admin right on root).\n"
        "A grant on a namespace holds in every namespace below it; a peer's rights\n"
        "are the union of the grants that match it (there are no denials); uid 0\n"
        "always has every right. Changes take effect at once for every session's\n"
        "next call; subscriptions already made stay.\n"
        "\n"
        "  list [NAMESPACE]     every grant, or those on NAMESPACE exactly\n"
        "  grant NS WHO RIGHTS  add RIGHTS to WHO's grant on NS (NS must exist)\n"
        "  revoke NS WHO [RIGHTS]\n"
        "                       take RIGHTS (default: all) from WHO's grant on NS\n"
        "\n"
        "PRINCIPAL (WHO): user:NAME, user:UID, group:NAME, group:GID, everyone\n"
        "(every local or authenticated user) or anonymous (plain TCP peers).\n"
        "RIGHTS: a comma-separated list of read, subscribe, write, publish, admin,\n"
        "or all.\n"
        "\n"
        "Examples:\n"
        "  lwmi rights grant root/app group:adm read,subscribe,write\n"
        "  lwmi rights revoke root/cimv2 anonymous\n"
        "  lwmi --json rights list\n";

static const char token_usage[] =
        "Usage: lwmi token add USER [--name NAME]\n"
        "       lwmi token list\n"
        "       lwmi token revoke ID\n"
        "\n"
        "Manage the tokens with which TLS clients authenticate (lwmi --connect\n"
        "tls:HOST:PORT --token-file FILE): a token stands for the local user USER.\n"
        "Needs the admin right on root.\n"
        "\n"
        "  add     make a token for USER and print it on standard output, once:\n"
        "          lwmid keeps only a salted hash of it. Keep it in a file only its\n"
        "          user can read, e.g. lwmi token add nobody > token && chmod 600 token\n"
        "          (with --json: an object with id, user, name, created and token)\n"
        "  list    show every token: ID, USER, NAME, CREATED, LAST USED (never the\n"
        "          token itself)\n"
        "  revoke  delete the token ID: new sessions are refused at once, and open\n"
        "          sessions it authenticated are closed\n";

static const char help_usage[] = "Usage: lwmi help [COMMAND]\n"
                                 "\n"
                                 "Show the general help, or the help of COMMAND (query, get, put,\n"
                                 "delete, classes, class, watch, publish, ping, stats, rights,\n"
                                 "token).\n";

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

static int usage_error_text(const char *text) {
        fprintf(stderr, "lwmi: %s\n", text);
        return EXIT_USAGE;
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

/* Each element of a JSON array on a line of its own (--json). */
static int print_json_lines(const json_t *array) {
        size_t k;
        json_t *v;

        json_array_foreach(array, k, v) {
                if (print_json(v) < 0)
                        return EXIT_SERVER;
        }
        return EXIT_OK;
}

/* An empty table with these column headers; NULL when out of memory. */
static Table *table_with_headers(const char *const *headers, size_t n) {
        Table *t = NULL;

        if (table_new(n, &t) < 0)
                return NULL;
        for (size_t k = 0; k < n; k++)
                if (table_set_header(t, k, headers[k]) < 0)
                        return table_free(t);
        return t;
}

/* "lwmi WHAT: missing argument" (or too many) and the usage text. */
static int arg_count_error(const char *what, bool missing, const char *usage) {
        fprintf(stderr, "lwmi: %s: %s\n\n", what,
                missing ? "missing argument" : "too many arguments");
        fputs(usage, stderr);
        return EXIT_USAGE;
}

/* Connect as the options say; on failure print why and return the exit
 * status (> 0). */
static int connect_or_fail(const Options *o, lwmi_conn **ret) {
        lwmi_error err = LWMI_ERROR_INIT;
        int r = lwmi_connect_tls(o->socket, o->tls_set ? &o->tls : NULL, "lwmi", 0,
                                 o->timeout_ms, ret, &err);
        if (r >= 0)
                return 0;
        if (err.code == LWMI_ERROR_CONNECT && !strstr(err.message, "TLS"))
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
        if (o->json)
                return print_json_lines(objects);
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

/* -- watch -- */

typedef struct Watch {
        const Options *o;
        lwmi_conn *conn;
        Table *table; /* set by the first event (table output) */
        Names columns;
        bool class_column;
        unsigned long printed;
        bool done;  /* --count reached */
        bool ended; /* the call is over: status and message say why */
        char status[64];
        char message[512];
        int failed; /* an exit status, when printing failed */
} Watch;

static int watch_start_table(Watch *w, const json_t *event) {
        if (format_event_columns(event, &w->columns, &w->class_column) < 0 ||
            table_new(w->columns.n, &w->table) < 0)
                return -ENOMEM;
        _cleanup_free_ char **cells = mem_calloc(w->columns.n, sizeof(char *));
        if (!cells)
                return -ENOMEM;
        for (size_t i = 0; i < w->columns.n; i++) {
                if (table_set_header(w->table, i, w->columns.v[i]) < 0)
                        return -ENOMEM;
        }
        /* Numbers line up on the right, judged by the first event. */
        const json_t *target = format_object_get(event, "TargetInstance");
        const json_t *source = json_is_object(target) ? target : event;
        for (size_t i = w->class_column ? 1 : 0; i < w->columns.n; i++)
                if (format_is_numeric(format_object_get(source, w->columns.v[i])))
                        table_set_align(w->table, i, TABLE_ALIGN_RIGHT);
        return 0;
}

static int watch_print_event(Watch *w, const json_t *event) {
        if (w->o->json || !json_is_object(event))
                return print_json(event);
        if (!w->table && watch_start_table(w, event) < 0)
                return -ENOMEM;
        _cleanup_free_ char **cells = mem_calloc(w->columns.n, sizeof(char *));
        if (!cells || format_event_cells(event, &w->columns, w->class_column, cells) < 0)
                return -ENOMEM;
        _cleanup_free_ char *text = NULL;
        int r = table_stream_row(w->table, (const char *const *)cells, &text);
        for (size_t i = 0; i < w->columns.n; i++)
                mem_free(cells[i]);
        if (r < 0)
                return r;
        return fputs(text, stdout) == EOF ? -EIO : 0;
}

static void watch_indicate(lwmi_sink *sink, uint64_t call_id, uint64_t seq, json_t *objects,
                           void *userdata) {
        (void)sink;
        (void)call_id;
        (void)seq;
        Watch *w = userdata;
        size_t i;
        json_t *event;
        json_array_foreach(objects, i, event) {
                if (w->done || w->failed)
                        break;
                int r = watch_print_event(w, event);
                if (r < 0) {
                        if (r == -ENOMEM)
                                fprintf(stderr, "lwmi: out of memory\n");
                        w->failed = EXIT_SERVER;
                        break;
                }
                w->printed++;
                if (w->o->count && w->printed >= w->o->count)
                        w->done = true;
        }
        /* Each event is seen as it comes, even through a pipe. */
        if (fflush(stdout) == EOF)
                w->failed = EXIT_SERVER;
        if (w->done || w->failed)
                lwmi_stop(w->conn);
}

static void watch_set_status(lwmi_sink *sink, uint64_t call_id, const char *status,
                             const char *message, void *userdata) {
        (void)sink;
        (void)call_id;
        Watch *w = userdata;
        w->ended = true;
        snprintf(w->status, sizeof(w->status), "%s", status);
        snprintf(w->message, sizeof(w->message), "%s", message);
        lwmi_stop(w->conn);
}

static void watch_events_dropped(lwmi_sink *sink, uint64_t first_seq, uint64_t last_seq,
                                 uint64_t count, void *userdata) {
        (void)sink;
        (void)userdata;
        fprintf(stderr,
                "lwmi: the server dropped %" PRIu64 " event message(s) (%" PRIu64 " to %" PRIu64
                "): this client read too slowly\n",
                count, first_seq, last_seq);
}

static const lwmi_sink_ops watch_ops = {
        .indicate = watch_indicate,
        .set_status = watch_set_status,
        .events_dropped = watch_events_dropped,
};

static void watch_done(Watch *w) {
        table_free(w->table);
        format_names_free(&w->columns);
}

/* A failed query: the message, and a caret under the position if any. */
static int fail_query(const char *wql, const lwmi_error *err) {
        print_error(err);
        _cleanup_free_ char *caret = NULL;
        if (err->line > 0 && format_caret(wql, err->line, err->column, &caret) == 0)
                fputs(caret, stderr);
        return exit_for(err);
}

/* Events until --count, --timeout, a signal, or the end of the call. */
static int watch_loop(Watch *w, int signal_fd, bool *ret_timed_out) {
        uint64_t deadline = 0;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t start = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
        if (w->o->timeout_ms)
                deadline = start + w->o->timeout_ms;
        for (;;) {
                int wait = lwmi_poll_timeout(w->conn);
                if (deadline && wait != 0) {
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        uint64_t now =
                                (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
                        if (now >= deadline) {
                                *ret_timed_out = true;
                                return EXIT_OK;
                        }
                        wait = deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
                }
                struct pollfd pfd[2] = {
                        { .fd = lwmi_fd(w->conn), .events = (short)lwmi_events(w->conn) },
                        { .fd = signal_fd, .events = POLLIN },
                };
                if (poll(pfd, 2, wait) < 0 && errno != EINTR) {
                        fprintf(stderr, "lwmi: poll: %s\n", strerror(errno));
                        return EXIT_SERVER;
                }
                if (pfd[1].revents & POLLIN) {
                        /* SIGINT or SIGTERM: a clean end. Take the signal,
                         * or it would strike when the mask is restored. */
                        struct signalfd_siginfo info;
                        while (read(signal_fd, &info, sizeof(info)) == sizeof(info))
                                ;
                        return EXIT_OK;
                }
                lwmi_error err = LWMI_ERROR_INIT;
                int r = lwmi_dispatch(w->conn, &err);
                if (w->failed)
                        return w->failed;
                if (w->ended) {
                        if (strcmp(w->status, "WBEM_S_NO_ERROR") == 0)
                                return EXIT_OK;
                        fprintf(stderr, "lwmi: the watch ended: %s (%s)\n",
                                w->message[0] ? w->message : "no reason given", w->status);
                        return EXIT_SERVER;
                }
                if (w->done)
                        return EXIT_OK;
                if (r < 0)
                        return fail(&err);
        }
}

static int cmd_watch(const Options *o, int argc, char **argv) {
        (void)argc;
        const char *wql = argv[0];
        /* SIGINT and SIGTERM arrive through a descriptor the loop polls,
         * so an interruption is noticed between events, never inside a
         * call, and the registration can be cancelled before closing. */
        sigset_t mask, old_mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, &old_mask) < 0) {
                fprintf(stderr, "lwmi: sigprocmask: %s\n", strerror(errno));
                return EXIT_SERVER;
        }
        int signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (signal_fd < 0) {
                fprintf(stderr, "lwmi: signalfd: %s\n", strerror(errno));
                sigprocmask(SIG_SETMASK, &old_mask, NULL);
                return EXIT_SERVER;
        }
        lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        Watch w = { .o = o, .conn = c };
        lwmi_sink *sink = NULL;
        uint64_t call = 0;
        bool registered = false, timed_out = false;
        if (!e && !(sink = lwmi_sink_new(c, &watch_ops, &w)))
                e = oom();
        if (!e) {
                lwmi_error err;
                if (lwmi_exec_notification_query_async(c, sink, o->ns, wql, &call, &err) < 0)
                        e = fail_query(wql, &err);
                else
                        registered = true;
        }
        if (!e)
                e = watch_loop(&w, signal_fd, &timed_out);
        if (registered && !lwmi_is_broken(c)) {
                /* Cancel, then close: the server need not notice a closed
                 * socket to release the registration. Do not hang on a
                 * server that does not answer. */
                lwmi_set_timeout(c, 2000);
                lwmi_cancel_call(c, call, NULL);
        }
        lwmi_sink_free(sink);
        lwmi_close(c);
        watch_done(&w);
        close(signal_fd);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        if (!e && timed_out && w.printed == 0)
                return EXIT_NO_EVENTS;
        return e;
}

/* -- publish -- */

/* The key of a class's property named `name` (any case), or NULL. */
static const char *property_key(const json_t *properties, const char *name) {
        const char *key;
        json_t *def;
        json_object_foreach((json_t *)properties, key, def) {
                if (strcasecmp(key, name) == 0)
                        return key;
        }
        return NULL;
}

/* The event CLASS Prop=value ... describes, typed by the class. Returns 0
 * or an exit status (the reason printed). */
static int build_event(const json_t *cls, int argc, char **argv, json_t **ret) {
        const char *cls_name = json_string_value(json_object_get(cls, "__CLASS"));
        const json_t *properties = json_object_get(cls, "properties");
        if (!cls_name || !json_is_object(properties)) {
                fprintf(stderr, "lwmi: publish: '%s' is not a class\n", argv[0]);
                return EXIT_USAGE;
        }
        _cleanup_(json_decrefp) json_t *event = json_pack("{s:s}", "__CLASS", cls_name);
        if (!event)
                return oom();
        for (int i = 1; i < argc; i++) {
                _cleanup_free_ char *name = NULL;
                const char *text;
                int r = propvalue_split(argv[i], &name, &text);
                if (r == -ENOMEM)
                        return oom();
                if (r < 0) {
                        fprintf(stderr, "lwmi: publish: '%s' is not PROPERTY=VALUE\n", argv[i]);
                        return EXIT_USAGE;
                }
                const char *key = property_key(properties, name);
                if (!key || format_is_system_property(key)) {
                        fprintf(stderr, "lwmi: publish: class %s has no property '%s'\n", cls_name,
                                name);
                        return EXIT_USAGE;
                }
                if (json_object_get(event, key)) {
                        fprintf(stderr, "lwmi: publish: property '%s' given twice\n", key);
                        return EXIT_USAGE;
                }
                json_t *value;
                _cleanup_free_ char *why = NULL;
                r = propvalue_parse(json_object_get(properties, key), text, &value, &why);
                if (r == -ENOMEM)
                        return oom();
                if (r < 0) {
                        fprintf(stderr, "lwmi: publish: %s: %s\n", key, why);
                        return EXIT_USAGE;
                }
                if (json_object_set_new(event, key, value) < 0)
                        return oom();
        }
        *ret = TAKE_PTR(event);
        return 0;
}

static int cmd_publish(const Options *o, int argc, char **argv) {
        const char *name = argv[0];
        if (strpbrk(name, ".=")) {
                fprintf(stderr, "lwmi: publish: '%s' is not a class name\n", name);
                return EXIT_USAGE;
        }
        for (int i = 1; i < argc; i++)
                if (!strchr(argv[i], '=') || argv[i][0] == '=') {
                        fprintf(stderr, "lwmi: publish: '%s' is not PROPERTY=VALUE\n", argv[i]);
                        return EXIT_USAGE;
                }
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        lwmi_error err;
        _cleanup_(json_decrefp) json_t *cls = NULL;
        if (lwmi_get_object(c, o->ns, name, &cls, &err) < 0)
                return fail(&err);
        _cleanup_(json_decrefp) json_t *event = NULL;
        e = build_event(cls, argc, argv, &event);
        if (e)
                return e;
        size_t delivered = 0;
        if (lwmi_publish_event(c, o->ns, event, &delivered, &err) < 0)
                return fail(&err);
        if (o->json) {
                _cleanup_(json_decrefp) json_t *j =
                        json_pack("{s:I}", "delivered", (json_int_t)delivered);
                return !j ? oom() : print_json(j) < 0 ? EXIT_SERVER : EXIT_OK;
        }
        printf("delivered to %zu registration%s\n", delivered, delivered == 1 ? "" : "s");
        return EXIT_OK;
}

/* -- stats -- */

#define SELF_NAMESPACE "root/lwmi"

/* A uint64 property (a decimal string) or a smaller one (a number); 0
 * when missing. */
static uint64_t stats_u64(const json_t *obj, const char *name) {
        json_t *v = json_object_get(obj, name);
        if (json_is_integer(v))
                return (uint64_t)json_integer_value(v);
        if (json_is_string(v))
                return strtoull(json_string_value(v), NULL, 10);
        return 0;
}

static int stats_compare(const void *x, const void *y) {
        const json_t *a = *(const json_t *const *)x, *b = *(const json_t *const *)y;
        uint64_t sa = stats_u64(a, "SessionId"), sb = stats_u64(b, "SessionId");
        if (sa != sb)
                return sa < sb ? -1 : 1;
        uint64_t ca = stats_u64(a, "Call"), cb = stats_u64(b, "Call");
        return ca < cb ? -1 : ca > cb;
}

/* Sort objects (a JSON array) by SessionId, then Call, in place. */
static int stats_sort(json_t *objects) {
        size_t n = json_array_size(objects);
        if (n < 2)
                return 0;
        json_t **v = mem_calloc(n, sizeof(json_t *));
        if (!v)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                v[k] = json_incref(json_array_get(objects, k));
        qsort(v, n, sizeof(json_t *), stats_compare);
        int r = 0;
        for (size_t k = 0; k < n; k++) {
                if (r == 0 && json_array_set(objects, k, v[k]) < 0)
                        r = -ENOMEM;
                json_decref(v[k]);
        }
        mem_free(v);
        return r;
}

static int stats_run_query(lwmi_conn *c, const char *wql, json_t **ret) {
        lwmi_error err;
        if (lwmi_exec_query(c, SELF_NAMESPACE, wql, ret, &err) < 0)
                return fail(&err);
        return stats_sort(*ret) < 0 ? oom() : EXIT_OK;
}

/* A table of objects with the given columns, after a blank line. */
static int stats_print_objects(const json_t *objects, char **names, size_t n) {
        Names columns = { .v = names, .n = n };
        _cleanup_(table_freep) Table *t = NULL;
        if (format_objects_table(objects, &columns, &t) < 0)
                return oom();
        if (fputc('\n', stdout) == EOF || print_table(t) < 0)
                return EXIT_SERVER;
        return EXIT_OK;
}

static int cmd_stats(const Options *o, int argc, char **argv) {
        static char *session_columns[] = {
                "SessionId",     "UserId",         "ProcessId",       "ClientName",
                "Peer",          "ConnectedSince", "LastHeardFrom",   "Sinks",
                "Registrations", "BacklogBytes",   "EventsDelivered", "EventsDropped",
        };
        static char *registration_columns[] = {
                "SessionId",       "Call",          "Sink",      "Namespace", "Method",
                "EventsDelivered", "EventsDropped", "CreatedAt", "Query",
        };
        static char *user_columns[] = {
                "User",          "Sessions",         "Registrations",
                "BacklogBytes",  "QuotaViolations",  "MaxSessions",
                "MaxRegistrations", "MaxSessionRegistrations", "MaxBacklogBytes",
                "MaxQueryBytes", "RequestRate",      "RequestBurst",
        };
        (void)argc;
        (void)argv;
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        _cleanup_(json_decrefp) json_t *daemon = NULL;
        _cleanup_(json_decrefp) json_t *sessions = NULL;
        _cleanup_(json_decrefp) json_t *registrations = NULL;
        _cleanup_(json_decrefp) json_t *users = NULL;
        lwmi_error err;
        if (lwmi_get_object(c, SELF_NAMESPACE, "LWMI_Daemon=@", &daemon, &err) < 0)
                return fail(&err);
        e = stats_run_query(c, "SELECT * FROM LWMI_Session", &sessions);
        if (e == EXIT_OK && o->registrations)
                e = stats_run_query(c, "SELECT * FROM LWMI_Registration", &registrations);
        /* in lwmid's order (by uid), not sorted by session */
        if (e == EXIT_OK && o->users &&
            lwmi_exec_query(c, SELF_NAMESPACE, "SELECT * FROM LWMI_User", &users, &err) < 0)
                return fail(&err);
        if (e != EXIT_OK)
                return e;

        if (o->json) {
                /* (json_array_foreach over NULL, an absent list, prints none) */
                if (print_json(daemon) < 0 || print_json_lines(sessions) != EXIT_OK ||
                    print_json_lines(registrations) != EXIT_OK || print_json_lines(users) != EXIT_OK)
                        return EXIT_SERVER;
                return EXIT_OK;
        }
        /* the figures, without the path */
        _cleanup_(json_decrefp) json_t *figures = json_copy(daemon);
        _cleanup_(table_freep) Table *t = NULL;
        if (!figures)
                return oom();
        json_object_del(figures, "__PATH");
        json_object_del(figures, "__RELPATH");
        if (format_object_table(figures, &t) < 0)
                return oom();
        if (print_table(t) < 0)
                return EXIT_SERVER;
        e = stats_print_objects(sessions, session_columns, ELEMENTSOF(session_columns));
        if (e == EXIT_OK && registrations)
                e = stats_print_objects(registrations, registration_columns,
                                        ELEMENTSOF(registration_columns));
        if (e == EXIT_OK && users)
                e = stats_print_objects(users, user_columns, ELEMENTSOF(user_columns));
        return e;
}

/* -- rights -- */

/* One grant of ListRights, GrantRights or RevokeRights as a table row. */
static int rights_row(Table *t, const json_t *g) {
        char id[32] = "";
        _cleanup_free_ char *list = NULL;
        StrBuf b = STRBUF_INIT;
        size_t k;
        json_t *r;

        if (json_is_integer(json_object_get(g, "id")))
                snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(json_object_get(g, "id")));
        json_array_foreach(json_object_get(g, "rights"), k, r) {
                if (k > 0)
                        strbuf_append_char(&b, ',');
                strbuf_append(&b, json_string_value(r) ? json_string_value(r) : "?");
        }
        if (strbuf_failed(&b))
                return -ENOMEM;
        list = strbuf_steal(&b);
        const char *ns = json_string_value(json_object_get(g, "namespace"));
        const char *who = json_string_value(json_object_get(g, "principal"));
        const char *cells[] = { ns ? ns : "", who ? who : "", id, list ? list : "" };
        return table_add_row(t, cells);
}

static int rights_print(const Options *o, const json_t *grants) {
        static const char *const headers[] = { "NAMESPACE", "PRINCIPAL", "ID", "RIGHTS" };
        size_t k;
        json_t *g;

        if (o->json)
                return print_json_lines(grants);
        _cleanup_(table_freep) Table *t = table_with_headers(headers, ELEMENTSOF(headers));
        if (!t)
                return oom();
        json_array_foreach(grants, k, g) {
                if (rights_row(t, g) < 0)
                        return oom();
        }
        return print_table(t) < 0 ? EXIT_SERVER : EXIT_OK;
}

static int cmd_rights(const Options *o, int argc, char **argv) {
        const char *verb = argv[0];
        const char *method;
        bool list = strcmp(verb, "list") == 0, grant = strcmp(verb, "grant") == 0;

        if (list)
                method = "ListRights";
        else if (grant)
                method = "GrantRights";
        else if (strcmp(verb, "revoke") == 0)
                method = "RevokeRights";
        else {
                fprintf(stderr, "lwmi: rights: unknown action '%s' (list, grant or revoke)\n",
                        verb);
                return EXIT_USAGE;
        }
        bool revoke = !list && !grant;
        if ((list && argc > 2) || (grant && argc != 4) || (revoke && argc != 3 && argc != 4)) {
                char what[64];
                snprintf(what, sizeof(what), "rights %s", verb);
                return arg_count_error(what, argc < (list ? 1 : 3) + (grant ? 1 : 0),
                                       rights_usage);
        }
        _cleanup_(json_decrefp) json_t *params = json_object();
        if (!params)
                return oom();
        if (argc > 1 && json_object_set_new(params, "namespace", json_string(argv[1])) < 0)
                return oom();
        if (!list && json_object_set_new(params, "principal", json_string(argv[2])) < 0)
                return oom();
        if (!list && argc > 3 && json_object_set_new(params, "rights", json_string(argv[3])) < 0)
                return oom();

        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        _cleanup_(json_decrefp) json_t *result = NULL;
        lwmi_error err;
        if (lwmi_call(c, method, TAKE_PTR(params), &result, &err) < 0)
                return fail(&err);
        if (list)
                return rights_print(o, json_object_get(result, "rights"));
        _cleanup_(json_decrefp) json_t *one = json_array();
        if (!one || json_array_append(one, json_object_get(result, "grant")) < 0)
                return oom();
        return rights_print(o, one);
}

/* A time in seconds since the epoch (a JSON integer, or null) as UTC. */
static void format_epoch(const json_t *v, char *buf, size_t size) {
        if (!json_is_integer(v)) {
                snprintf(buf, size, "-");
                return;
        }
        time_t t = (time_t)json_integer_value(v);
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "%lld", (long long)json_integer_value(v));
}

static int token_list(const Options *o, lwmi_conn *c) {
        _cleanup_(json_decrefp) json_t *result = NULL;
        lwmi_error err;
        if (lwmi_call(c, "ListTokens", NULL, &result, &err) < 0)
                return fail(&err);
        json_t *tokens = json_object_get(result, "tokens");
        size_t i;
        json_t *t;
        if (o->json)
                return print_json_lines(tokens);
        if (json_array_size(tokens) == 0)
                return EXIT_OK;
        static const char *const headers[] = { "ID", "USER", "NAME", "CREATED", "LAST USED" };
        _cleanup_(table_freep) Table *table = table_with_headers(headers, ELEMENTSOF(headers));
        if (!table)
                return oom();
        json_array_foreach(tokens, i, t) {
                char created[32], used[32];
                format_epoch(json_object_get(t, "created"), created, sizeof(created));
                format_epoch(json_object_get(t, "last_used"), used, sizeof(used));
                const char *name = json_string_value(json_object_get(t, "name"));
                const char *cells[] = {
                        json_string_value(json_object_get(t, "id")) ?: "?",
                        json_string_value(json_object_get(t, "user")) ?: "?",
                        name ? name : "-",
                        created,
                        used,
                };
                if (table_add_row(table, cells) < 0)
                        return oom();
        }
        return print_table(table) < 0 ? EXIT_SERVER : EXIT_OK;
}

static int cmd_token(const Options *o, int argc, char **argv) {
        const char *verb = argv[0];
        bool add = strcmp(verb, "add") == 0, list = strcmp(verb, "list") == 0,
             revoke = strcmp(verb, "revoke") == 0;
        if (!add && !list && !revoke) {
                fprintf(stderr, "lwmi: token: unknown subcommand '%s' (add, list, revoke)\n\n",
                        verb);
                fputs(token_usage, stderr);
                return EXIT_USAGE;
        }
        if ((unsigned)argc != (list ? 1u : 2u)) {
                char what[64];
                snprintf(what, sizeof(what), "token %s", verb);
                return arg_count_error(what, (unsigned)argc < (list ? 1u : 2u), token_usage);
        }
        if (o->token_name && !add) {
                fprintf(stderr, "lwmi: --name is an option of lwmi token add, not of token %s\n",
                        verb);
                return EXIT_USAGE;
        }
        _cleanup_(lwmi_closep) lwmi_conn *c = NULL;
        int e = connect_or_fail(o, &c);
        if (e)
                return e;
        if (list)
                return token_list(o, c);

        _cleanup_(json_decrefp) json_t *result = NULL;
        lwmi_error err;
        json_t *params = add ? json_pack("{s:s}", "user", argv[1])
                             : json_pack("{s:s}", "id", argv[1]);
        if (!params)
                return usage_error_text("the argument is not valid UTF-8");
        if (add && o->token_name &&
            json_object_set_new(params, "name", json_string(o->token_name)) < 0) {
                json_decref(params);
                return usage_error_text("--name is not valid UTF-8");
        }
        if (lwmi_call(c, add ? "AddToken" : "RevokeToken", params, &result, &err) < 0)
                return fail(&err);
        if (o->json)
                return print_json(result) < 0 ? EXIT_SERVER : EXIT_OK;
        if (add) {
                /* The token alone on stdout, for a file; the rest for the
                 * person. */
                printf("%s\n", json_string_value(json_object_get(result, "token")) ?: "");
                fprintf(stderr, "lwmi: token %s for user %s; it is shown only this once\n",
                        json_string_value(json_object_get(result, "id")) ?: "?", argv[1]);
                return EXIT_OK;
        }
        printf("revoked token %s of user %s (%lld open session%s closed)\n", argv[1],
               json_string_value(json_object_get(result, "user")) ?: "?",
               (long long)json_integer_value(json_object_get(result, "sessions_closed")),
               json_integer_value(json_object_get(result, "sessions_closed")) == 1 ? "" : "s");
        return EXIT_OK;
}

static int cmd_help(const Options *o, int argc, char **argv);

static const Command commands[] = {
        { "query", query_usage, cmd_query, 1, 1 },
        { "get", get_usage, cmd_get, 1, 1 },
        { "put", put_usage, cmd_put, 0, 1 },
        { "delete", delete_usage, cmd_delete, 1, 1 },
        { "classes", classes_usage, cmd_classes, 0, 1 },
        { "class", class_usage, cmd_class, 1, 1 },
        { "watch", watch_usage, cmd_watch, 1, 1 },
        { "publish", publish_usage, cmd_publish, 1, INT_MAX },
        { "ping", ping_usage, cmd_ping, 0, 0 },
        { "stats", stats_usage, cmd_stats, 0, 0 },
        { "rights", rights_usage, cmd_rights, 1, 4 },
        { "token", token_usage, cmd_token, 1, 2 },
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
                OPT_CONNECT,
                OPT_JSON,
                OPT_TIMEOUT,
                OPT_DEEP,
                OPT_CLASS,
                OPT_COUNT,
                OPT_REGISTRATIONS,
                OPT_USERS,
                OPT_TLS_CA,
                OPT_TLS_CERT,
                OPT_TLS_KEY,
                OPT_TOKEN_FILE,
                OPT_NAME,
        };
        static const struct option long_options[] = {
                { "namespace", required_argument, NULL, 'n' },
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "connect", required_argument, NULL, OPT_CONNECT },
                { "json", no_argument, NULL, OPT_JSON },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "deep", no_argument, NULL, OPT_DEEP },
                { "class", no_argument, NULL, OPT_CLASS },
                { "count", required_argument, NULL, OPT_COUNT },
                { "registrations", no_argument, NULL, OPT_REGISTRATIONS },
                { "users", no_argument, NULL, OPT_USERS },
                { "tls-ca", required_argument, NULL, OPT_TLS_CA },
                { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
                { "tls-key", required_argument, NULL, OPT_TLS_KEY },
                { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
                { "name", required_argument, NULL, OPT_NAME },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        Options o = { .ns = DEFAULT_NAMESPACE };
        const char *address_option = NULL; /* which of --socket, --connect gave o.socket */
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
                case OPT_CONNECT: {
                        const char *name = opt == OPT_SOCKET ? "--socket" : "--connect";
                        if (address_option && strcmp(address_option, name) != 0)
                                return usage_error("give --socket or --connect, not both");
                        if (!*optarg)
                                return usage_error("%s needs an address, not an empty string",
                                                   name);
                        address_option = name;
                        o.socket = optarg;
                        break;
                }
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
                case OPT_COUNT: {
                        char *end;
                        errno = 0;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || n == 0 || optarg[0] == '-')
                                return usage_error("--count needs a positive number, not '%s'",
                                                   optarg);
                        o.count = n;
                        o.count_set = true;
                        break;
                }
                case OPT_REGISTRATIONS:
                        o.registrations = true;
                        break;
                case OPT_USERS:
                        o.users = true;
                        break;
                case OPT_TLS_CA:
                case OPT_TLS_CERT:
                case OPT_TLS_KEY:
                case OPT_TOKEN_FILE:
                        if (!*optarg)
                                return usage_error("%s needs a file name", argv[optind - 1]);
                        *(opt == OPT_TLS_CA     ? &o.tls.ca_file
                          : opt == OPT_TLS_CERT ? &o.tls.cert_file
                          : opt == OPT_TLS_KEY  ? &o.tls.key_file
                                                : &o.tls.token_file) = optarg;
                        o.tls_set = true;
                        break;
                case OPT_NAME:
                        o.token_name = optarg;
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
        if (o.count_set && cmd->run != cmd_watch)
                return usage_error("--count is an option of lwmi watch, not of %s", cmd->name);
        if (o.token_name && cmd->run != cmd_token)
                return usage_error("--name is an option of lwmi token add, not of %s",
                                   cmd->name);
        if ((o.tls.cert_file != NULL) != (o.tls.key_file != NULL))
                return usage_error("--tls-cert and --tls-key go together");
        if (o.tls.cert_file && o.tls.token_file)
                return usage_error("give --tls-cert or --token-file, not both");
        if (o.registrations && cmd->run != cmd_stats)
                return usage_error("--registrations is an option of lwmi stats, not of %s",
                                   cmd->name);
        if (o.users && cmd->run != cmd_stats)
                return usage_error("--users is an option of lwmi stats, not of %s", cmd->name);
        if ((unsigned)nargs < cmd->min_args || (unsigned)nargs > cmd->max_args)
                return arg_count_error(cmd->name, (unsigned)nargs < cmd->min_args, cmd->usage);
        int e = cmd->run(&o, nargs, args);
        if (fflush(stdout) == EOF || ferror(stdout)) {
                fprintf(stderr, "lwmi: cannot write the output: %s\n", strerror(errno));
                return e ? e : EXIT_SERVER;
        }
        return e;
}
