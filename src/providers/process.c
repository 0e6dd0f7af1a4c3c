/* Linux_Process: one instance per process (thread group) from /proc.
 *
 * An enumeration is a cursor over the entries of /proc: each enum_next()
 * reads directory entries until one names a process, reads that process and
 * returns it, so the daemon can yield between instances. Processes come and
 * go during a scan: one that vanishes between readdir() and the reading of
 * its files is skipped, never reported as an error.
 *
 * Files of a process are read with openat() relative to its open /proc/PID
 * directory (no symlink followed), each read bounded (procfs.h). Required
 * are stat and status; the others (cmdline, exe, cgroup) give a NULL
 * property when they cannot be read.
 *
 * A query whose WHERE is `ProcessId = n`, or has it as a top-level AND
 * conjunct, reads /proc/n only: zero or one instance. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "process.h"
#include "procfs.h"
#include "props.h"

/* Distinct users remembered during one enumeration, so a scan of a
 * thousand processes asks the user database only once per user. */
#define PROCESS_USER_CACHE_MAX 64
/* A getpwuid_r() buffer never grows beyond this. */
#define PROCESS_PASSWD_BUF_MAX (1024 * 1024)

/* name, type, is_array, is_key */
static const CimPropertySpec process_properties[] = {
        /* clang-format off */
        { "ProcessId", CIM_UINT32, false, true },
        { "ParentProcessId", CIM_UINT32, false, false },
        { "Name", CIM_STRING, false, false },
        { "CommandLine", CIM_STRING, false, false },
        { "ExecutablePath", CIM_STRING, false, false },
        { "UserId", CIM_UINT32, false, false },
        { "UserName", CIM_STRING, false, false },
        { "State", CIM_STRING, false, false },
        { "ThreadCount", CIM_UINT32, false, false },
        { "Priority", CIM_SINT32, false, false },
        { "WorkingSetSize", CIM_UINT64, false, false },
        { "VirtualSize", CIM_UINT64, false, false },
        { "UserModeTime", CIM_UINT64, false, false },
        { "KernelModeTime", CIM_UINT64, false, false },
        { "CreationDate", CIM_DATETIME, false, false },
        { "SessionId", CIM_UINT32, false, false },
        { "Cgroup", CIM_STRING, false, false },
        { "ExitCode", CIM_UINT32, false, false },
        /* clang-format on */
};

typedef struct ProcessUser {
        uint32_t uid;
        char *name; /* NULL: the uid has no name */
} ProcessUser;

/* What every process read needs, gathered once per cursor. */
typedef struct ProcessContext {
        bool have_boot;
        int64_t boot_usec;
        uint64_t ticks_per_sec;
        uint64_t page_size;
        bool cache_users;
        ProcessUser *users;
        size_t n_users;
} ProcessContext;

/* The engine sees a ProviderCursor *; this is what it points to. */
typedef struct ProcessCursor {
        CimClass *cls;
        char *ns;
        int root_fd; /* owned by dir when dir is set */
        DIR *dir;    /* scan mode */
        bool single; /* one ProcessId: no scan */
        bool single_done;
        bool single_possible; /* false when n can be no pid */
        uint32_t single_pid;
        size_t entries_read;
        ProcessContext ctx;
} ProcessCursor;

static void process_closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}

static void process_instance_unrefp(Instance **i) {
        if (*i)
                instance_unref(*i);
}

static void process_context_init(ProcessContext *ctx, int root_fd, bool cache_users) {
        int64_t boot_sec;
        long hz = sysconf(_SC_CLK_TCK);
        long page = sysconf(_SC_PAGESIZE);
        *ctx = (ProcessContext){
                .ticks_per_sec = hz > 0 ? (uint64_t)hz : 100,
                .page_size = page > 0 ? (uint64_t)page : 4096,
                .cache_users = cache_users,
        };
        /* Without a boot time CreationDate is NULL; nothing else depends on it. */
        if (procfs_boot_time(root_fd, &boot_sec) == 0 && boot_sec <= INT64_MAX / 1000000) {
                ctx->have_boot = true;
                ctx->boot_usec = boot_sec * 1000000;
        }
}

static void process_context_done(ProcessContext *ctx) {
        for (size_t k = 0; k < ctx->n_users; k++)
                mem_free(ctx->users[k].name);
        mem_free(ctx->users);
        ctx->users = NULL;
        ctx->n_users = 0;
}

/* ticks * unit / hz without intermediate overflow, saturating. */
static uint64_t process_ticks_to(uint64_t ticks, uint64_t hz, uint64_t unit) {
        uint64_t whole = ticks / hz;
        if (whole > (UINT64_MAX - unit) / unit)
                return UINT64_MAX;
        return whole * unit + (ticks % hz) * unit / hz;
}

static uint32_t process_clamp_u32(int64_t v) {
        if (v < 0)
                return 0;
        return v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static const char *process_state_name(char state) {
        switch (state) {
        case 'R':
                return "Running";
        case 'S':
                return "Sleeping";
        case 'D':
                return "DiskSleep";
        case 'T':
                return "Stopped";
        case 't':
                return "TracingStop";
        case 'Z':
                return "Zombie";
        case 'X':
        case 'x':
                return "Dead";
        case 'I':
                return "Idle";
        case 'P':
                return "Parked";
        case 'K':
                return "Wakekill";
        case 'W':
                return "Waking";
        default:
                return "Unknown";
        }
}

/* The user name of uid from the user database: *ret is a new string, or
 * NULL when the uid has no entry (or the database cannot be read). */
static int process_lookup_user(uint32_t uid, char **ret) {
        for (size_t size = 1024; size <= PROCESS_PASSWD_BUF_MAX; size *= 4) {
                _cleanup_free_ char *buf = mem_malloc(size);
                if (!buf)
                        return -ENOMEM;
                struct passwd pw, *found = NULL;
                int r = getpwuid_r((uid_t)uid, &pw, buf, size, &found);
                if (r == ERANGE)
                        continue;
                if (r != 0 || !found || !pw.pw_name) {
                        *ret = NULL;
                        return 0;
                }
                char *name = props_utf8_dup(pw.pw_name, strlen(pw.pw_name));
                if (!name)
                        return -ENOMEM;
                *ret = name;
                return 0;
        }
        *ret = NULL;
        return 0;
}

static int process_set_user_name(Instance *inst, ProcessContext *ctx, uint32_t uid, Error *err) {
        if (ctx->cache_users)
                for (size_t k = 0; k < ctx->n_users; k++)
                        if (ctx->users[k].uid == uid)
                                return props_set_string(inst, "UserName", ctx->users[k].name, err);

        _cleanup_free_ char *name = NULL;
        int r = process_lookup_user(uid, &name);
        if (r < 0)
                return r;
        r = props_set_string(inst, "UserName", name, err);
        if (r != 0)
                return r;

        /* Remembering is an optimisation: when it cannot grow, skip it. */
        if (ctx->cache_users && ctx->n_users < PROCESS_USER_CACHE_MAX) {
                ProcessUser *users =
                        mem_reallocarray(ctx->users, ctx->n_users + 1, sizeof(ProcessUser));
                if (!users)
                        return -ENOMEM;
                ctx->users = users;
                ctx->users[ctx->n_users++] = (ProcessUser){ .uid = uid, .name = TAKE_PTR(name) };
        }
        return 0;
}

/* argv as the kernel keeps it (each argument NUL-terminated) joined by
 * spaces, in place. Trailing NULs (a process that rewrote its arguments
 * may pad them) are dropped. Returns the new length. */
static size_t process_join_cmdline(char *cmd, size_t len) {
        while (len > 0 && cmd[len - 1] == '\0')
                len--;
        for (size_t k = 0; k < len; k++)
                if (cmd[k] == '\0')
                        cmd[k] = ' ';
        cmd[len] = '\0';
        return len;
}

/* Read process pid under root_fd into a new instance of cls. Returns 0,
 * -ENOENT or -ESRCH when there is no such process (also for a thread that is
 * not a thread group leader), -EACCES/-EPERM when it may not be read,
 * -EBADMSG for stat or status content not understood, -ENOMEM, another
 * negative errno, or a WbemStatus from setting a property. */
static int process_read(int root_fd, uint32_t pid, ProcessContext *ctx, CimClass *cls,
                        const char *ns, Instance **ret, Error *err) {
        char name[16];
        snprintf(name, sizeof(name), "%" PRIu32, pid);
        _cleanup_(process_closep) int pid_fd =
                openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (pid_fd < 0)
                return -errno;

        char stat_text[4096];
        size_t stat_len;
        int r = procfs_read_small_at(pid_fd, "stat", stat_text, sizeof(stat_text), &stat_len);
        if (r < 0)
                return r;
        ProcStat st;
        r = procfs_stat_parse(stat_text, stat_len, &st);
        if (r < 0)
                return r;
        if (st.pid != pid)
                return -EBADMSG;

        char status_text[4096];
        size_t status_len;
        r = procfs_read_small_at(pid_fd, "status", status_text, sizeof(status_text), &status_len);
        if (r < 0)
                return r;
        ProcStatus ps;
        r = procfs_status_parse(status_text, status_len, &ps);
        if (r < 0)
                return r;
        /* /proc/TID of a thread opens too, but it is not a process. */
        if (ps.tgid != pid)
                return -ENOENT;

        /* Kernel threads have no command line. */
        _cleanup_free_ char *cmdline = NULL;
        size_t cmdline_len = 0;
        if (!(st.flags & PROCFS_PF_KTHREAD)) {
                r = procfs_read_at(pid_fd, "cmdline", PROCFS_CMDLINE_MAX, &cmdline, &cmdline_len,
                                   NULL);
                if (r == -ENOMEM || r == -ENOENT || r == -ESRCH)
                        return r;
                if (r == 0)
                        cmdline_len = process_join_cmdline(cmdline, cmdline_len);
                if (r < 0 || cmdline_len == 0) { /* unreadable, or a zombie's empty one */
                        mem_free(cmdline);
                        cmdline = NULL;
                        cmdline_len = 0;
                }
        }

        char exe[PATH_MAX + 1];
        ssize_t exe_len = readlinkat(pid_fd, "exe", exe, sizeof(exe));
        if (exe_len < 0 && errno == ENOMEM)
                return -ENOMEM;
        bool have_exe = exe_len > 0 && (size_t)exe_len < sizeof(exe);

        _cleanup_free_ char *cgroup_text = NULL;
        size_t cgroup_text_len = 0;
        const char *cgroup = NULL;
        size_t cgroup_len = 0;
        r = procfs_read_at(pid_fd, "cgroup", PROCFS_TEXT_MAX, &cgroup_text, &cgroup_text_len, NULL);
        if (r == -ENOMEM)
                return r;
        if (r == 0 && procfs_cgroup_unified(cgroup_text, cgroup_text_len, &cgroup, &cgroup_len) < 0)
                cgroup = NULL;

        _cleanup_(process_instance_unrefp) Instance *inst = NULL;
        r = instance_new(cls, &inst);
        if (r != 0)
                return r;
        r = instance_set_namespace(inst, ns);
        if (r != 0)
                return r;

        uint64_t hz = ctx->ticks_per_sec;
        uint64_t rss = st.rss > 0 ? (uint64_t)st.rss : 0;
        uint64_t working_set =
                rss > UINT64_MAX / ctx->page_size ? UINT64_MAX : rss * ctx->page_size;
        int64_t priority = st.priority < INT32_MIN   ? INT32_MIN
                           : st.priority > INT32_MAX ? INT32_MAX
                                                     : st.priority;

        if ((r = props_set_uint(inst, "ProcessId", CIM_UINT32, pid, err)) != 0 ||
            (r = props_set_uint(inst, "ParentProcessId", CIM_UINT32, process_clamp_u32(st.ppid),
                                err)) != 0 ||
            (r = props_set_bytes(inst, "Name", st.comm, st.comm_len, err)) != 0 ||
            (r = props_set_bytes(inst, "CommandLine", cmdline, cmdline_len, err)) != 0 ||
            (r = props_set_bytes(inst, "ExecutablePath", have_exe ? exe : NULL,
                                 have_exe ? (size_t)exe_len : 0, err)) != 0 ||
            (r = props_set_uint(inst, "UserId", CIM_UINT32, ps.uid_real, err)) != 0 ||
            (r = process_set_user_name(inst, ctx, ps.uid_real, err)) != 0 ||
            (r = props_set_string(inst, "State", process_state_name(st.state), err)) != 0 ||
            (r = props_set_uint(inst, "ThreadCount", CIM_UINT32, process_clamp_u32(st.num_threads),
                                err)) != 0 ||
            (r = props_set_sint(inst, "Priority", CIM_SINT32, priority, err)) != 0 ||
            (r = props_set_uint(inst, "WorkingSetSize", CIM_UINT64, working_set, err)) != 0 ||
            (r = props_set_uint(inst, "VirtualSize", CIM_UINT64, st.vsize, err)) != 0 ||
            /* 100-nanosecond units, as Win32_Process. */
            (r = props_set_uint(inst, "UserModeTime", CIM_UINT64,
                                process_ticks_to(st.utime, hz, 10000000), err)) != 0 ||
            (r = props_set_uint(inst, "KernelModeTime", CIM_UINT64,
                                process_ticks_to(st.stime, hz, 10000000), err)) != 0 ||
            (r = props_set_uint(inst, "SessionId", CIM_UINT32, process_clamp_u32(st.session),
                                err)) != 0 ||
            (r = props_set_bytes(inst, "Cgroup", cgroup, cgroup_len, err)) != 0)
                return r;

        if (ctx->have_boot) {
                uint64_t since_boot = process_ticks_to(st.starttime, hz, 1000000);
                if (since_boot <= (uint64_t)(INT64_MAX - ctx->boot_usec)) {
                        r = props_set_local_datetime(inst, "CreationDate",
                                                     ctx->boot_usec + (int64_t)since_boot, err);
                        if (r != 0)
                                return r;
                }
        }

        *ret = TAKE_PTR(inst);
        return 0;
}

/* Errors of process_read() that mean "no such process here" during a scan. */
bool process_error_is_absent(int r) {
        return r == -ENOENT || r == -ESRCH || r == -ENOTDIR || r == -ELOOP || r == -EACCES ||
               r == -EPERM || r == -EBADMSG;
}

/* Turn a failure of process_read() into the provider's answer. */
static int process_error(int r, uint32_t pid, Error *err) {
        switch (r) {
        case -ENOMEM:
                return r;
        case -ENOENT:
        case -ESRCH:
        case -ENOTDIR:
        case -ELOOP:
                return error_set(err, WBEM_E_NOT_FOUND, "%s.ProcessId=%" PRIu32 ": no such process",
                                 PROCESS_CLASS, pid);
        case -EACCES:
        case -EPERM:
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "%s.ProcessId=%" PRIu32 ": /proc/%" PRIu32 " may not be read",
                                 PROCESS_CLASS, pid, pid);
        case -EBADMSG:
                return error_set(err, WBEM_E_PROVIDER_FAILURE,
                                 "%s: unexpected content in /proc/%" PRIu32 "/stat or status",
                                 PROCESS_CLASS, pid);
        default:
                if (r > 0)
                        return r; /* a WbemStatus, err already filled */
                return error_set(err, WBEM_E_PROVIDER_FAILURE, "%s: reading /proc/%" PRIu32 ": %s",
                                 PROCESS_CLASS, pid, strerror(-r));
        }
}

static int process_open_root(const ProcessProvider *pp, int *ret_fd, Error *err) {
        int fd = open(pp->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, WBEM_E_PROVIDER_FAILURE, "%s: cannot open %s: %s",
                                 PROCESS_CLASS, pp->proc_root, strerror(errno));
        *ret_fd = fd;
        return 0;
}

static int process_check_class(const CimClass *cls, Error *err) {
        if (!cls || !cls->name || !name_equal(cls->name, PROCESS_CLASS))
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "the process provider serves %s, not %s", PROCESS_CLASS,
                                 cls && cls->name ? cls->name : "(none)");
        return 0;
}

static int process_get_classes(Provider *p, CimClass ***ret, size_t *ret_count, Error *err) {
        (void)p;
        return props_one_class(PROCESS_CLASS, false, process_properties,
                               ELEMENTSOF(process_properties), ret, ret_count, err);
}

/* If e is `ProcessId = literal`: true, with the pid, or *ret_possible false
 * when the literal can be no pid (negative, too large). */
static bool process_compare_pid(const WqlExpr *e, uint32_t *ret_pid, bool *ret_possible) {
        if (e->kind != WQL_EXPR_COMPARE || e->compare.op != WQL_OP_EQ)
                return false;
        const WqlOperand *left = &e->compare.left, *right = &e->compare.right;
        if (!left->is_property || left->prop.n_parts != 1 ||
            !name_equal(left->prop.parts[0], "ProcessId") || right->is_property)
                return false;
        switch (right->lit.kind) {
        case WQL_LIT_INTEGER:
                *ret_possible = right->lit.i >= 0 && right->lit.i <= (int64_t)UINT32_MAX;
                *ret_pid = *ret_possible ? (uint32_t)right->lit.i : 0;
                return true;
        case WQL_LIT_UNSIGNED:
                *ret_possible = right->lit.u <= UINT32_MAX;
                *ret_pid = *ret_possible ? (uint32_t)right->lit.u : 0;
                return true;
        default:
                /* '42' or 42.0 would need WQL's conversion rules: scan. */
                return false;
        }
}

/* Look for `ProcessId = n` among the top-level AND conjuncts of e. A long
 * `a AND b AND c ...` nests to the left, so walk that spine in a loop;
 * parenthesised nesting on the right is bounded by the WQL depth limit. */
static bool process_where_pid(const WqlExpr *e, uint32_t *ret_pid, bool *ret_possible) {
        while (e->kind == WQL_EXPR_AND) {
                if (process_where_pid(e->binary.right, ret_pid, ret_possible))
                        return true;
                e = e->binary.left;
        }
        return process_compare_pid(e, ret_pid, ret_possible);
}

static void process_cursor_free(ProcessCursor *c) {
        if (!c)
                return;
        if (c->dir)
                closedir(c->dir);
        else if (c->root_fd >= 0)
                close(c->root_fd);
        process_context_done(&c->ctx);
        if (c->cls)
                class_unref(c->cls);
        mem_free(c->ns);
        mem_free(c);
}

static int process_enum_begin(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                              const ProviderCaller *caller, ProviderCursor **ret,
                              bool *ret_filtered, Error *err) {
        (void)caller;
        ProcessProvider *pp = p->userdata;
        int r = process_check_class(cls, err);
        if (r != 0)
                return r;

        ProcessCursor *c = mem_calloc(1, sizeof(ProcessCursor));
        if (!c)
                return -ENOMEM;
        c->root_fd = -1;
        c->ns = mem_strdup(ns ? ns : p->ns);
        if (!c->ns) {
                process_cursor_free(c);
                return -ENOMEM;
        }
        c->cls = class_ref(cls);

        bool filtered = true;
        if (query && query->where) {
                c->single = process_where_pid(query->where, &c->single_pid, &c->single_possible);
                /* Only a WHERE that is the comparison alone is fully applied. */
                filtered = c->single && query->where->kind == WQL_EXPR_COMPARE;
        }

        r = process_open_root(pp, &c->root_fd, err);
        if (r != 0) {
                process_cursor_free(c);
                return r;
        }
        if (!c->single) {
                c->dir = fdopendir(c->root_fd);
                if (!c->dir) {
                        r = errno == ENOMEM ? -ENOMEM
                                            : error_set(err, WBEM_E_PROVIDER_FAILURE,
                                                        "%s: cannot read %s: %s", PROCESS_CLASS,
                                                        pp->proc_root, strerror(errno));
                        process_cursor_free(c);
                        return r;
                }
        }
        process_context_init(&c->ctx, c->root_fd, true);

        *ret = (ProviderCursor *)c;
        *ret_filtered = filtered;
        return 0;
}

static int process_enum_next(ProviderCursor *pc, Instance **ret, Error *err) {
        ProcessCursor *c = (ProcessCursor *)pc;
        Instance *inst = NULL;

        if (c->single) {
                if (c->single_done || !c->single_possible)
                        return 0;
                c->single_done = true;
                int r = process_read(c->root_fd, c->single_pid, &c->ctx, c->cls, c->ns, &inst, err);
                if (r == 0) {
                        *ret = inst;
                        return 1;
                }
                if (process_error_is_absent(r))
                        return 0;
                return process_error(r, c->single_pid, err);
        }

        for (;;) {
                errno = 0;
                struct dirent *de = readdir(c->dir);
                if (!de) {
                        if (errno == 0)
                                return 0;
                        return error_set(err, WBEM_E_PROVIDER_FAILURE, "%s: reading /proc: %s",
                                         PROCESS_CLASS, strerror(errno));
                }
                c->entries_read++;
                uint32_t pid;
                if (!procfs_pid_from_name(de->d_name, &pid))
                        continue;
                int r = process_read(c->root_fd, pid, &c->ctx, c->cls, c->ns, &inst, err);
                if (r == 0) {
                        *ret = inst;
                        return 1;
                }
                /* Gone since readdir, or not ours to read: races are normal. */
                if (process_error_is_absent(r))
                        continue;
                return process_error(r, pid, err);
        }
}

struct ProcessReader {
        int root_fd;
        ProcessContext ctx;
        unsigned reads;
};

int process_reader_new(const ProcessProvider *pp, ProcessReader **ret, Error *err) {
        ProcessReader *r = mem_calloc(1, sizeof(ProcessReader));
        if (!r)
                return -ENOMEM;
        int k = process_open_root(pp, &r->root_fd, err);
        if (k != 0) {
                mem_free(r);
                return k;
        }
        process_context_init(&r->ctx, r->root_fd, true);
        *ret = r;
        return 0;
}

void process_reader_free(ProcessReader *r) {
        if (!r)
                return;
        process_context_done(&r->ctx);
        close(r->root_fd);
        mem_free(r);
}

int process_reader_root(const ProcessReader *r) {
        return r->root_fd;
}

int process_reader_read(ProcessReader *r, uint32_t pid, CimClass *cls, const char *ns,
                        Instance **ret, Error *err) {
        /* A long-lived reader forgets user names now and then, so that a
         * renamed user shows up within a while. */
        if (++r->reads % 4096 == 0)
                process_context_done(&r->ctx);
        return process_read(r->root_fd, pid, &r->ctx, cls, ns, ret, err);
}

int process_reader_peek(ProcessReader *r, uint32_t pid, ProcessPeek *ret) {
        char name[32];
        snprintf(name, sizeof(name), "%" PRIu32 "/stat", pid);
        char text[4096];
        size_t len;
        int k = procfs_read_small_at(r->root_fd, name, text, sizeof(text), &len);
        if (k < 0)
                return k;
        ProcStat st;
        k = procfs_stat_parse(text, len, &st);
        if (k < 0)
                return k;
        if (st.pid != pid)
                return -EBADMSG;
        *ret = (ProcessPeek){ .state = st.state, .flags = st.flags };
        return 0;
}

static void process_enum_end(ProviderCursor *pc) {
        process_cursor_free((ProcessCursor *)pc);
}

size_t process_cursor_entries_read(const ProviderCursor *pc) {
        return ((const ProcessCursor *)pc)->entries_read;
}

/* The ProcessId of a path: its one key, named ProcessId or unnamed. */
static int process_path_pid(const ObjectPath *path, uint32_t *ret_pid, bool *ret_possible,
                            Error *err) {
        if (!path || path->n_keys != 1 ||
            (path->keys[0].name && !name_equal(path->keys[0].name, "ProcessId")))
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                 "a %s path has one key, ProcessId", PROCESS_CLASS);
        const Value *v = &path->keys[0].value;
        if (v->is_array || v->is_null)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "%s.ProcessId must be a number",
                                 PROCESS_CLASS);
        if (cim_type_is_unsigned(v->type)) {
                *ret_possible = v->u <= UINT32_MAX;
                *ret_pid = *ret_possible ? (uint32_t)v->u : 0;
        } else if (cim_type_is_signed(v->type)) {
                *ret_possible = v->i >= 0 && v->i <= (int64_t)UINT32_MAX;
                *ret_pid = *ret_possible ? (uint32_t)v->i : 0;
        } else
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "%s.ProcessId must be a number",
                                 PROCESS_CLASS);
        return 0;
}

static int process_get_instance(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                                const ProviderCaller *caller, Instance **ret, Error *err) {
        (void)caller;
        ProcessProvider *pp = p->userdata;
        int r = process_check_class(cls, err);
        if (r != 0)
                return r;
        uint32_t pid = 0;
        bool possible = false;
        r = process_path_pid(path, &pid, &possible, err);
        if (r != 0)
                return r;
        if (!possible)
                return error_set(err, WBEM_E_NOT_FOUND, "%s: no such process", PROCESS_CLASS);

        _cleanup_(process_closep) int root_fd = -1;
        r = process_open_root(pp, &root_fd, err);
        if (r != 0)
                return r;
        ProcessContext ctx;
        process_context_init(&ctx, root_fd, false);
        Instance *inst = NULL;
        r = process_read(root_fd, pid, &ctx, cls, ns ? ns : p->ns, &inst, err);
        process_context_done(&ctx);
        if (r != 0)
                return process_error(r, pid, err);
        *ret = inst;
        return 0;
}

static void process_free(Provider *p) {
        if (!p)
                return;
        ProcessProvider *pp = p->userdata;
        mem_free(pp->proc_root);
        mem_free(pp);
}

static const ProviderOps process_ops = {
        .get_classes = process_get_classes,
        .enum_begin = process_enum_begin,
        .enum_next = process_enum_next,
        .enum_end = process_enum_end,
        .get_instance = process_get_instance,
        .free = process_free,
        .source_check = process_events_check,
        .source_start = process_events_start,
        .source_stop = process_events_stop,
};

int process_provider_new_with(const char *proc_root, const ProcessOptions *opts,
                              Provider **ret) {
        ProcessProvider *pp = mem_calloc(1, sizeof(ProcessProvider));
        if (!pp)
                return -ENOMEM;
        pp->opts = opts ? *opts : (ProcessOptions){ .proc_connector = true };
        if (!opts)
                pp->opts.fork_grace_ms = PROCESS_DEFAULT_FORK_GRACE_MS;
        pp->proc_root = mem_strdup(proc_root);
        if (!pp->proc_root) {
                mem_free(pp);
                return -ENOMEM;
        }
        pp->provider = (Provider){
                .name = "process",
                .ns = PROCESS_NAMESPACE,
                .ops = &process_ops,
                .userdata = pp,
        };
        *ret = &pp->provider;
        return 0;
}

int process_provider_new_at(const char *proc_root, Provider **ret) {
        return process_provider_new_with(proc_root, NULL, ret);
}

int process_provider_new(Provider **ret) {
        return process_provider_new_at("/proc", ret);
}
