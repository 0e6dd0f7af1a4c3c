/* A provider for tests of the engine's provider interface (provider.h).
 *
 * It serves the classes given as JSON definitions and yields instances made
 * from a fixed table of rows (Id, Name, Value, set on each class that has
 * them). Switches make it behave as real providers may: claim that it
 * applied WHERE (without doing so, so a test can see the engine trusts the
 * claim), have no get_instance (the engine must enumerate), hand out
 * shared instances, fail in enum_begin or at the Nth enum_next, or yield an
 * instance of the wrong class. Counters tell the test what the engine
 * asked. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider.h"

typedef struct MockRow {
        const char *class_name;
        uint32_t id;
        const char *name; /* NULL: leave NULL */
        int32_t value;
} MockRow;

typedef struct MockConfig {
        const char *name;         /* "mock" when NULL */
        const char *ns;           /* "root/cimv2" when NULL */
        const char *classes_json; /* a JSON array of class definitions */
        const MockRow *rows;
        size_t n_rows;
        bool claim_filtered; /* say WHERE was applied (it never is) */
        bool with_get;       /* provide get_instance */
        bool shared;         /* keep a reference to every instance yielded */
        bool wrong_class;    /* yield instances of the first class for any class */
        unsigned fail_at;    /* enum_next number n (1-based) fails with fail_status */
        int fail_status;
        int begin_status;       /* enum_begin fails with this when non-zero */
        int get_classes_status; /* get_classes fails with this when non-zero */
} MockConfig;

typedef struct MockStats {
        unsigned begins, nexts, ends, gets;
        unsigned opened;            /* cursors made (begins that succeeded) */
        unsigned begins_with_query; /* enum_begin given a query hint */
        char begun[16][64];         /* class names enum_begin was asked for */
        /* the caller of the last enum_begin / get_instance: its uid and
         * groups ((uid_t)-2 when it was NULL, the daemon) */
        long caller_uid;
        size_t caller_groups;
        gid_t caller_group0;
        bool freed;
} MockStats;

/* The config (strings, rows) must outlive the provider; stats (may be NULL)
 * too. Returns 0 or -ENOMEM. */
int mock_provider_new(const MockConfig *cfg, MockStats *stats, Provider **ret);
