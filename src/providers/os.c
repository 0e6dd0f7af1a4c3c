/* Linux_OperatingSystem: the running system as one singleton instance
 * (path Linux_OperatingSystem=@), after WMI's Win32_OperatingSystem.
 *
 * Each request reads the sources afresh: uname(2), /etc/os-release, and
 * /proc (stat, meminfo, loadavg, uptime, boot_id, the process entries). A
 * source that cannot be read leaves its property NULL rather than failing
 * the whole instance; only out-of-memory is an error. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "osrelease.h"
#include "procfs.h"
#include "props.h"
#include "providers.h"

#define OS_CLASS "Linux_OperatingSystem"
#define OS_NAMESPACE "root/cimv2"

/* name, type, is_array, is_key */
static const CimPropertySpec os_properties[] = {
        { "Name", CIM_STRING, false, false },
        { "Version", CIM_STRING, false, false },
        { "Caption", CIM_STRING, false, false },
        { "CSName", CIM_STRING, false, false },
        { "OSArchitecture", CIM_STRING, false, false },
        { "LastBootUpTime", CIM_DATETIME, false, false },
        { "LocalDateTime", CIM_DATETIME, false, false },
        { "NumberOfProcesses", CIM_UINT32, false, false },
        { "TotalVisibleMemorySize", CIM_UINT64, false, false },
        { "FreePhysicalMemory", CIM_UINT64, false, false },
        { "LoadAverage1", CIM_REAL64, false, false },
        { "LoadAverage5", CIM_REAL64, false, false },
        { "LoadAverage15", CIM_REAL64, false, false },
        { "Uptime", CIM_UINT64, false, false },
        { "BootId", CIM_STRING, false, false },
};

/* os-release locations in the order os-release(5) prescribes. */
static const char *const os_release_paths[] = { "/etc/os-release", "/usr/lib/os-release" };

typedef struct OsCursor {
        CimClass *cls;
        char *ns;
        bool done;
} OsCursor;

static void os_closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}

static void os_instance_unrefp(Instance **i) {
        if (*i)
                instance_unref(*i);
}

/* PRETTY_NAME of the first os-release file that has one, or NULL. */
static int os_caption(char **ret) {
        for (size_t k = 0; k < ELEMENTSOF(os_release_paths); k++) {
                _cleanup_free_ char *text = NULL;
                size_t len;
                int r = procfs_read_path(os_release_paths[k], PROCFS_TEXT_MAX, &text, &len, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                r = osrelease_get(text, len, "PRETTY_NAME", ret);
                if (r == -ENOMEM || r == 0)
                        return r;
                /* The first file that exists is the one that counts. */
                break;
        }
        *ret = NULL;
        return 0;
}

static int os_set_memory(Instance *inst, int proc_fd, Error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        ProcMeminfo mi;
        int r = procfs_read_at(proc_fd, "meminfo", PROCFS_TEXT_MAX, &text, &len, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || procfs_meminfo_parse(text, len, &mi) < 0)
                return 0;
        r = props_set_uint(inst, "TotalVisibleMemorySize", CIM_UINT64, mi.total_kib, err);
        if (r != 0)
                return r;
        return props_set_uint(inst, "FreePhysicalMemory", CIM_UINT64, mi.available_kib, err);
}

static int os_set_load(Instance *inst, int proc_fd, Error *err) {
        static const char *const names[3] = { "LoadAverage1", "LoadAverage5", "LoadAverage15" };
        char text[256];
        size_t len;
        double load[3];
        if (procfs_read_small_at(proc_fd, "loadavg", text, sizeof(text), &len) < 0 ||
            procfs_loadavg_parse(text, len, load) < 0)
                return 0;
        for (size_t k = 0; k < 3; k++) {
                int r = props_set_real64(inst, names[k], load[k], err);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int os_set_uptime(Instance *inst, int proc_fd, Error *err) {
        char text[256];
        size_t len;
        uint64_t sec;
        if (procfs_read_small_at(proc_fd, "uptime", text, sizeof(text), &len) < 0 ||
            procfs_uptime_parse(text, len, &sec) < 0)
                return 0;
        return props_set_uint(inst, "Uptime", CIM_UINT64, sec, err);
}

static int os_set_boot_id(Instance *inst, int proc_fd, Error *err) {
        char text[128];
        size_t len;
        if (procfs_read_small_at(proc_fd, "sys/kernel/random/boot_id", text, sizeof(text), &len) <
            0)
                return 0;
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
                len--;
        if (len == 0)
                return 0;
        return props_set_bytes(inst, "BootId", text, len, err);
}

/* Build the one instance. Returns 0, -ENOMEM, or a WbemStatus. */
static int os_read(CimClass *cls, const char *ns, Instance **ret, Error *err) {
        _cleanup_(os_instance_unrefp) Instance *inst = NULL;
        int r = instance_new(cls, &inst);
        if (r != 0)
                return r;
        r = instance_set_namespace(inst, ns);
        if (r != 0)
                return r;

        struct utsname u;
        bool have_uname = uname(&u) == 0;
        _cleanup_free_ char *caption = NULL;
        r = os_caption(&caption);
        if (r < 0)
                return r;
        if ((r = props_set_string(inst, "Name", "Linux", err)) != 0 ||
            (r = props_set_string(inst, "Version", have_uname ? u.release : NULL, err)) != 0 ||
            (r = props_set_string(inst, "CSName", have_uname ? u.nodename : NULL, err)) != 0 ||
            (r = props_set_string(inst, "OSArchitecture", have_uname ? u.machine : NULL, err)) !=
                    0 ||
            (r = props_set_string(inst, "Caption", caption, err)) != 0)
                return r;

        struct timespec now;
        if (clock_gettime(CLOCK_REALTIME, &now) == 0) {
                int64_t usec = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
                r = props_set_local_datetime(inst, "LocalDateTime", usec, err);
                if (r != 0)
                        return r;
        }

        _cleanup_(os_closep) int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd >= 0) {
                int64_t boot_sec;
                uint32_t n_processes;
                if (procfs_boot_time(proc_fd, &boot_sec) == 0 && boot_sec <= INT64_MAX / 1000000) {
                        r = props_set_local_datetime(inst, "LastBootUpTime", boot_sec * 1000000,
                                                     err);
                        if (r != 0)
                                return r;
                }
                r = procfs_count_processes(proc_fd, &n_processes);
                if (r == -ENOMEM)
                        return r;
                if (r == 0) {
                        r = props_set_uint(inst, "NumberOfProcesses", CIM_UINT32, n_processes, err);
                        if (r != 0)
                                return r;
                }
                if ((r = os_set_memory(inst, proc_fd, err)) != 0 ||
                    (r = os_set_load(inst, proc_fd, err)) != 0 ||
                    (r = os_set_uptime(inst, proc_fd, err)) != 0 ||
                    (r = os_set_boot_id(inst, proc_fd, err)) != 0)
                        return r;
        }

        *ret = TAKE_PTR(inst);
        return 0;
}

static int os_check_class(const CimClass *cls, Error *err) {
        if (!cls || !cls->name || !name_equal(cls->name, OS_CLASS))
                return error_set(err, WBEM_E_INVALID_CLASS, "the os provider serves %s, not %s",
                                 OS_CLASS, cls && cls->name ? cls->name : "(none)");
        return 0;
}

static int os_get_classes(Provider *p, CimClass ***ret, size_t *ret_count, Error *err) {
        (void)p;
        return props_one_class(OS_CLASS, true, os_properties, ELEMENTSOF(os_properties), ret,
                               ret_count, err);
}

static void os_cursor_free(OsCursor *c) {
        if (!c)
                return;
        if (c->cls)
                class_unref(c->cls);
        mem_free(c->ns);
        mem_free(c);
}

static int os_enum_begin(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                         const ProviderCaller *caller, ProviderCursor **ret, bool *ret_filtered,
                         Error *err) {
        (void)caller;
        int r = os_check_class(cls, err);
        if (r != 0)
                return r;
        OsCursor *c = mem_calloc(1, sizeof(OsCursor));
        if (!c)
                return -ENOMEM;
        c->ns = mem_strdup(ns ? ns : p->ns);
        if (!c->ns) {
                os_cursor_free(c);
                return -ENOMEM;
        }
        c->cls = class_ref(cls);
        *ret = (ProviderCursor *)c;
        /* The engine applies any WHERE to the one instance. */
        *ret_filtered = !query || !query->where;
        return 0;
}

static int os_enum_next(ProviderCursor *pc, Instance **ret, Error *err) {
        OsCursor *c = (OsCursor *)pc;
        if (c->done)
                return 0;
        Instance *inst = NULL;
        int r = os_read(c->cls, c->ns, &inst, err);
        if (r != 0)
                return r;
        c->done = true;
        *ret = inst;
        return 1;
}

static void os_enum_end(ProviderCursor *pc) {
        os_cursor_free((OsCursor *)pc);
}

static int os_get_instance(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                           const ProviderCaller *caller, Instance **ret, Error *err) {
        (void)caller;
        int r = os_check_class(cls, err);
        if (r != 0)
                return r;
        if (!path || !path->is_singleton || path->n_keys != 0)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                 "%s is a singleton: its path is %s=@", OS_CLASS, OS_CLASS);
        return os_read(cls, ns ? ns : p->ns, ret, err);
}

static void os_free(Provider *p) {
        mem_free(p);
}

static const ProviderOps os_ops = {
        .get_classes = os_get_classes,
        .enum_begin = os_enum_begin,
        .enum_next = os_enum_next,
        .enum_end = os_enum_end,
        .get_instance = os_get_instance,
        .free = os_free,
};

int os_provider_new(Provider **ret) {
        Provider *p = mem_calloc(1, sizeof(Provider));
        if (!p)
                return -ENOMEM;
        *p = (Provider){
                .name = "os",
                .ns = OS_NAMESPACE,
                .ops = &os_ops,
        };
        *ret = p;
        return 0;
}
