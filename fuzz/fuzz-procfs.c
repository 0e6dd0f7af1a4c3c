/* Fuzz target for the providers' text parsers: the same input is handed to
 * each /proc parser (stat, status, cgroup, meminfo, loadavg, uptime), to
 * the os-release parser and to the UTF-8 sanitizer, and the results are
 * checked for the promises the headers make: pointers stay inside the
 * input, and sanitized text is valid UTF-8 (sanitizing it again changes
 * nothing). */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"
#include "osrelease.h"
#include "procfs.h"
#include "props.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const char *text, size_t len, const char *p, size_t n) {
        assert(p >= text && n <= len && (size_t)(p - text) <= len - n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *)data;

        ProcStat st;
        if (procfs_stat_parse(text, size, &st) == 0)
                check_inside(text, size, st.comm, st.comm_len);

        ProcStatus ps;
        (void)procfs_status_parse(text, size, &ps);

        const char *path;
        size_t path_len;
        if (procfs_cgroup_unified(text, size, &path, &path_len) == 0)
                check_inside(text, size, path, path_len);

        ProcMeminfo mi;
        (void)procfs_meminfo_parse(text, size, &mi);
        double load[3];
        if (procfs_loadavg_parse(text, size, load) == 0)
                assert(load[0] >= 0 && load[1] >= 0 && load[2] >= 0);
        uint64_t up;
        (void)procfs_uptime_parse(text, size, &up);

        char *value = NULL;
        if (osrelease_get(text, size, "PRETTY_NAME", &value) == 0) {
                assert(strlen(value) <= size);
                mem_free(value);
        }

        char *clean = props_utf8_dup(text, size);
        if (clean) {
                char *again = props_utf8_dup(clean, strlen(clean));
                if (again) {
                        assert(strcmp(clean, again) == 0);
                        mem_free(again);
                }
                mem_free(clean);
        }
        return 0;
}
