/* Micro-benchmark: a data query over repository instances through the
 * engine's cursor.
 *
 *   SELECT * FROM Bench_Item WHERE Value > 5000
 *
 * over 10,000 instances of Bench_Item (Id key, Value, Name, Size, Created),
 * in an in-memory repository, Value running from 1 to 10,000 so that half
 * the instances match. Each run begins the query, drains the cursor and ends
 * it: the figures cover parsing, checking, reading the pages from SQLite,
 * decoding each instance from JSON, WHERE, and handing out the matches.
 * Reports queries per second, instances read per second and instances
 * returned per second; also a plain enumeration (no WHERE) and a projected
 * query (SELECT Name ...), to tell the costs apart.
 * Usage: bench-query [seconds per measurement] [instances]. */
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "mem.h"

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const Error *err) {
        fprintf(stderr, "bench-query: %s: %s\n", what, err ? err->message : "failed");
        exit(1);
}

static void fill(Engine *e, unsigned n) {
        Error err = { 0 };
        CimClass *def = NULL, *cls = NULL;
        if (class_new("Bench_Item", NULL, &def, &err) != 0 ||
            class_add_property(def, "Id", CIM_UINT32, false, true, NULL, &err) != 0 ||
            class_add_property(def, "Value", CIM_UINT32, false, false, NULL, &err) != 0 ||
            class_add_property(def, "Name", CIM_STRING, false, false, NULL, &err) != 0 ||
            class_add_property(def, "Size", CIM_UINT64, false, false, NULL, &err) != 0 ||
            class_add_property(def, "Created", CIM_DATETIME, false, false, NULL, &err) != 0 ||
            engine_put_class(e, "root/cimv2", def, 0, &cls, &err) != 0)
                die("class", &err);
        class_unref(def);
        for (unsigned k = 1; k <= n; k++) {
                Instance *i = NULL;
                char name[32];
                Value v;
                if (instance_new(cls, &i) != 0)
                        die("instance_new", NULL);
                v = value_uint(CIM_UINT32, k);
                if (instance_set(i, "Id", &v, &err) != 0 || instance_set(i, "Value", &v, &err) != 0)
                        die("set", &err);
                snprintf(name, sizeof(name), "item-%u", k);
                if (value_string(name, &v) != 0 || instance_set_take(i, "Name", &v, &err) != 0)
                        die("set Name", &err);
                v = value_uint(CIM_UINT64, (uint64_t)k * 4096);
                if (instance_set(i, "Size", &v, &err) != 0)
                        die("set Size", &err);
                v = value_datetime(cim_datetime_from_unix_usec((int64_t)k * 1000000, 60));
                if (instance_set(i, "Created", &v, &err) != 0)
                        die("set Created", &err);
                if (engine_put_instance(e, "root/cimv2", i, REPO_CREATE_ONLY, NULL, NULL, &err) !=
                    0)
                        die("put", &err);
                instance_unref(i);
        }
        class_unref(cls);
}

/* Run text until `seconds` have passed; returns runs, and the instances
 * returned by one run in *ret_matches. */
static unsigned long run(Engine *e, const char *text, double seconds, double *ret_elapsed,
                         unsigned long *ret_matches) {
        unsigned long runs = 0, matches = 0;
        double start = now(), elapsed;
        do {
                QueryCursor *c = NULL;
                Error err = { 0 };
                if (engine_query_begin(e, "root/cimv2", text, strlen(text), &c, &err) != 0)
                        die(text, &err);
                unsigned long got = 0;
                Instance *i = NULL;
                int r;
                for (;;) {
                        r = engine_query_next(c, &i, &err);
                        if (r == -EAGAIN)
                                continue; /* the work budget: go on at once */
                        if (r != 0)
                                die(text, &err);
                        if (!i)
                                break;
                        got++;
                        instance_unref(i);
                }
                engine_query_end(c);
                matches = got;
                runs++;
                elapsed = now() - start;
        } while (elapsed < seconds);
        *ret_elapsed = elapsed;
        *ret_matches = matches;
        return runs;
}

int main(int argc, char **argv) {
        double seconds = argc > 1 ? atof(argv[1]) : 2.0;
        unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 10000;
        if (seconds <= 0 || n == 0) {
                fprintf(stderr, "usage: bench-query [seconds] [instances]\n");
                return 2;
        }
        Engine *e = NULL;
        Error err = { 0 };
        EngineOptions opts = { .repository_path = ":memory:", .host_name = "bench" };
        if (engine_new(&opts, &e, &err) != 0)
                die("engine_new", &err);
        double t0 = now();
        fill(e, n);
        printf("%u instances stored in %.2f s\n", n, now() - t0);

        static const struct {
                const char *label;
                const char *text;
        } queries[] = {
                { "WHERE Value > 5000", "SELECT * FROM Bench_Item WHERE Value > 5000" },
                { "all, no WHERE", "SELECT * FROM Bench_Item" },
                { "projected, WHERE", "SELECT Name FROM Bench_Item WHERE Value > 5000" },
        };
        printf("%-20s %12s %16s %18s\n", "query", "queries/s", "instances read/s",
               "instances out/s");
        for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
                double elapsed;
                unsigned long matches;
                unsigned long runs = run(e, queries[k].text, seconds, &elapsed, &matches);
                printf("%-20s %12.1f %16.0f %18.0f\n", queries[k].label, (double)runs / elapsed,
                       (double)runs * n / elapsed, (double)runs * (double)matches / elapsed);
        }
        engine_free(e);
        return 0;
}
