/* Micro-benchmark: parse and evaluate a typical event filter.
 *
 *   SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA
 *   'Linux_Process' AND TargetInstance.Name LIKE 'ssh%' AND
 *   TargetInstance.ProcessId > 100
 *
 * Reports parses per second (parse + free), canonical formats per second,
 * and evaluations per second against a matching event, one that fails on the
 * name (the LIKE) and one that fails at once on ISA (another class). The
 * dispatcher evaluates many filters per event, so the evaluation figures are
 * the ones that matter. Each is measured twice: with wql_eval_where (the
 * plain walk) and with a prepared WqlFilter (remembers property indexes).
 * Usage: bench-filter [seconds per measurement]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "class.h"
#include "instance.h"
#include "mem.h"
#include "value.h"
#include "wql.h"
#include "wql_eval.h"

static const char filter_text[] =
        "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Linux_Process' "
        "AND TargetInstance.Name LIKE 'ssh%' AND TargetInstance.ProcessId > 100";

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const Error *err) {
        fprintf(stderr, "bench-filter: %s: %s\n", what, err ? err->message : "failed");
        exit(1);
}

/* A process class with a realistic number of properties; the ones the filter
 * reads are not first, so lookups do real work. */
static CimClass *make_class(const char *name, const char *const *props, size_t n) {
        CimClass *def, *cls;
        Error err;
        if (class_new(name, NULL, &def, &err) != 0)
                die("class_new", &err);
        for (size_t k = 0; k < n; k++) {
                CimType t = strcmp(props[k], "ProcessId") == 0 ||
                                            strcmp(props[k], "ParentProcessId") == 0 ||
                                            strcmp(props[k], "ThreadCount") == 0
                                    ? CIM_UINT32
                                    : CIM_STRING;
                if (class_add_property(def, props[k], t, false, strcmp(props[k], "ProcessId") == 0,
                                       NULL, &err) != 0)
                        die("class_add_property", &err);
        }
        if (class_derive(def, NULL, &cls, &err) != 0)
                die("class_derive", &err);
        class_unref(def);
        return cls;
}

static Instance *make_process(CimClass *cls, const char *name, unsigned pid) {
        Instance *i;
        Error err;
        Value v;
        if (instance_new(cls, &i) != 0)
                die("instance_new", NULL);
        v = value_uint(CIM_UINT32, pid);
        if (instance_set(i, "ProcessId", &v, &err) != 0)
                die("set ProcessId", &err);
        if (value_string(name, &v) != 0 || instance_set(i, "Name", &v, &err) != 0)
                die("set Name", &err);
        value_clear(&v);
        if (value_string("/usr/sbin/sshd -D", &v) != 0 ||
            instance_set(i, "CommandLine", &v, &err) != 0)
                die("set CommandLine", &err);
        value_clear(&v);
        return i;
}

static Instance *make_event(CimClass *event_cls, Instance *target) {
        Instance *e;
        Error err;
        if (instance_new(event_cls, &e) != 0)
                die("instance_new", NULL);
        Value v = value_object(target);
        if (instance_set(e, "TargetInstance", &v, &err) != 0)
                die("set TargetInstance", &err);
        value_clear(&v);
        return e;
}

static volatile long sink;

static void report(const char *what, long count, double elapsed) {
        printf("%-44s %12.0f /s  (%8.1f ns each)\n", what, (double)count / elapsed,
               elapsed * 1e9 / (double)count);
}

static void bench_parse(double seconds) {
        long count = 0;
        double start = now(), elapsed;
        do {
                for (int k = 0; k < 1000; k++) {
                        WqlQuery *q = NULL;
                        Error err;
                        if (wql_parse(filter_text, sizeof(filter_text) - 1, NULL, &q, &err) != 0)
                                die("wql_parse", &err);
                        sink += q->n_select;
                        wql_query_free(q);
                }
                count += 1000;
                elapsed = now() - start;
        } while (elapsed < seconds);
        report("parse + free", count, elapsed);
}

static void bench_format(const WqlQuery *q, double seconds) {
        long count = 0;
        double start = now(), elapsed;
        do {
                for (int k = 0; k < 1000; k++) {
                        char *text = wql_query_format(q);
                        if (!text)
                                die("wql_query_format", NULL);
                        sink += text[0];
                        mem_free(text);
                }
                count += 1000;
                elapsed = now() - start;
        } while (elapsed < seconds);
        report("canonical format", count, elapsed);
}

static void bench_eval(const char *what, const WqlQuery *q, const Instance *event, int expected,
                       double seconds) {
        char label[80];
        if (wql_eval_where(q, event, NULL) != expected) {
                fprintf(stderr, "bench-filter: %s: unexpected result\n", what);
                exit(1);
        }
        long count = 0;
        double start = now(), elapsed;
        do {
                for (int k = 0; k < 10000; k++)
                        sink += wql_eval_where(q, event, NULL);
                count += 10000;
                elapsed = now() - start;
        } while (elapsed < seconds);
        snprintf(label, sizeof(label), "%s", what);
        report(label, count, elapsed);

        WqlFilter *filter;
        if (wql_filter_new(q->where, &filter) != 0)
                die("wql_filter_new", NULL);
        int want = expected ? WQL_TRUE : WQL_FALSE;
        if (wql_filter_eval(filter, event, NULL) != want) {
                fprintf(stderr, "bench-filter: %s: unexpected filter result\n", what);
                exit(1);
        }
        count = 0;
        start = now();
        do {
                for (int k = 0; k < 10000; k++)
                        sink += wql_filter_eval(filter, event, NULL);
                count += 10000;
                elapsed = now() - start;
        } while (elapsed < seconds);
        snprintf(label, sizeof(label), "%s, prepared", what);
        report(label, count, elapsed);
        wql_filter_free(filter);
}

int main(int argc, char **argv) {
        double seconds = argc > 1 ? atof(argv[1]) : 1.0;
        if (!(seconds > 0))
                seconds = 1.0;

        static const char *const process_props[] = {
                "Caption", "CommandLine",     "CreationDate", "Description", "ExecutablePath",
                "Handle",  "ParentProcessId", "SessionId",    "Status",      "ThreadCount",
                "User",    "WorkingSetSize",  "Name",         "ProcessId",
        };
        static const char *const file_props[] = { "Path", "Name", "Size" };
        CimClass *process = make_class("Linux_Process", process_props,
                                       sizeof(process_props) / sizeof(process_props[0]));
        CimClass *file = make_class("Linux_File", file_props, 3);
        CimClass **system;
        size_t n_system;
        if (class_system_classes(&system, &n_system) != 0)
                die("class_system_classes", NULL);
        CimClass *creation = NULL;
        for (size_t k = 0; k < n_system; k++)
                if (strcmp(system[k]->name, "__InstanceCreationEvent") == 0)
                        creation = system[k];
        if (!creation)
                die("no __InstanceCreationEvent", NULL);

        Instance *sshd = make_process(process, "sshd", 1234);
        Instance *bash = make_process(process, "bash", 4321);
        Instance *f;
        if (instance_new(file, &f) != 0)
                die("instance_new", NULL);
        Instance *ev_match = make_event(creation, sshd);
        Instance *ev_name = make_event(creation, bash);
        Instance *ev_class = make_event(creation, f);

        WqlQuery *q = NULL;
        Error err;
        if (wql_parse(filter_text, sizeof(filter_text) - 1, NULL, &q, &err) != 0)
                die("wql_parse", &err);

        printf("filter: %s\n\n", filter_text);
        bench_parse(seconds);
        bench_format(q, seconds);
        bench_eval("evaluate: match", q, ev_match, 1, seconds);
        bench_eval("evaluate: LIKE fails", q, ev_name, 0, seconds);
        bench_eval("evaluate: ISA fails", q, ev_class, 0, seconds);

        wql_query_free(q);
        instance_unref(ev_match);
        instance_unref(ev_name);
        instance_unref(ev_class);
        instance_unref(sshd);
        instance_unref(bash);
        instance_unref(f);
        class_unref(process);
        class_unref(file);
        for (size_t k = 0; k < n_system; k++)
                class_unref(system[k]);
        mem_free(system);
        return 0;
}
