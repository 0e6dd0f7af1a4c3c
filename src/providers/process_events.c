/* Native Linux_Process events from the kernel's proc connector: the
 * process provider's event source (ProviderOps.source_*, provider.h).
 *
 * One source serves every process event query (key ""). It listens on a
 * netlink connector socket (proc_connector.h) and keeps a table of the
 * processes it knows, by pid, each with its last known instance, so that
 * an exit can be announced with what the process was:
 *
 *   fork (a new thread group)  the child is *pending*: it is announced
 *                              (creation, read from /proc) if no exec comes
 *                              within the grace (ProcessOptions), by a timer
 *                              that runs while forks are pending; one still
 *                              on its way to an exec then (inside execve(),
 *                              or runnable and not yet exec'd: a vfork child
 *                              waiting for a CPU) gets more graces, at most
 *                              PROCESS_EVENTS_MAX_DEFERRALS;
 *   exec                       pending or unknown: creation, read at once;
 *                              announced: modification (PreviousInstance:
 *                              the last known instance);
 *   comm, uid change           announced: modification (re-read);
 *   exit                       pending: creation with what can still be
 *                              read, then deletion; announced: deletion with
 *                              the last known instance and ExitCode.
 *
 * Thread events (pid != tgid) are ignored. Every event carries the kernel's
 * CLOCK_MONOTONIC time; an entry remembers when it was read, so an event
 * older than the read that an entry already reflects (a scan that raced
 * with it) changes nothing. A process that exec'd and exited before it
 * could be read is announced with what the connector told (ProcessId,
 * ParentProcessId): never a stale instance, never a crash.
 *
 * Lost messages (recv ENOBUFS, an NLMSG_OVERRUN) are counted
 * (event_source_overflowed) and followed by a resynchronising scan of
 * /proc: processes seen only now are created, those gone deleted (without
 * ExitCode: it is lost), a pid reused meanwhile both.
 *
 * The socket is read in bounded batches from the loop's watch; before the
 * grace timer announces forks it drains the socket, so an exec already
 * queued is never beaten by its fork's timeout. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "proc_connector.h"
#include "process.h"
#include "procfs.h"
#include "props.h"

/* The socket's receive buffer: room for a burst of some thousands of
 * processes (each fork, exec, exit is a message of ~1 KiB of kernel
 * memory) while the daemon is busy. */
#define PROCESS_EVENTS_RCVBUF (16u << 20)
/* A fork still on its way to an exec when its grace ends (inside execve(),
 * or not yet run) waits for the exec at most this many graces more. */
#define PROCESS_EVENTS_MAX_DEFERRALS 20
/* Datagrams read per wakeup: the loop gets its turn between batches. */
#define PROCESS_EVENTS_BATCH 256
/* How long start() waits for the kernel's answer to LISTEN. */
#define PROCESS_EVENTS_ACK_MS 200

typedef struct ProcEntry {
        uint32_t pid;      /* 0: a free slot */
        uint32_t ppid;     /* from the fork, for an instance never read */
        bool announced;    /* a creation was raised */
        bool seen;         /* marked by the running scan */
        uint8_t deferrals; /* graces added while it was on its way to an exec */
        uint64_t read_ns;  /* CLOCK_MONOTONIC of the fork or of the last read */
        Instance *inst;    /* last known, NULL until read */
} ProcEntry;

typedef struct ProcPending {
        uint32_t pid;
        uint64_t deadline_ns;
} ProcPending;

#ifdef PROCESS_EVENTS_TRACE
/* A benchmark build's record of each exec (meson -Dprocevents_trace=true,
 * bench/procevents --breakdown): CLOCK_MONOTONIC ns of the kernel's exec,
 * of the recv() that brought it, of the start of its handling, of the end
 * of the /proc read (the raise's start) and of the raise's end (the event
 * filtered, encoded and queued for its sessions). Kept in memory, written
 * to stderr when the source stops, so the tracing costs no I/O meanwhile. */
typedef struct ProcTrace {
        uint32_t pid;
        bool creation; /* else a modification, or nothing raised */
        uint64_t exec_ns, recv_ns, handle_ns, read_ns, raised_ns;
} ProcTrace;
#define PROCESS_EVENTS_TRACE_MAX 100000
#endif

typedef struct ProcessSource {
        ProcessProvider *pp;
        EventSource *src;
        CimClass *cls;
        char *ns;
        ProcessReader *reader;
        int fd;
        void *watch;
        void *timer; /* the grace timer, while forks are pending */
        uint64_t grace_ns;

        ProcEntry *table; /* open addressing, linear probing, by pid */
        size_t mask, n;

        ProcPending *pending; /* a FIFO: deadlines grow */
        size_t head, tail, cap;

        uint64_t overflows, resyncs, messages, skipped;
#ifdef PROCESS_EVENTS_TRACE
        uint64_t trace_recv_ns, trace_read_ns;
        ProcTrace *trace;
        size_t n_trace;
#endif
        unsigned char buf[16384];
} ProcessSource;

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

static uint64_t process_events_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the table --------------------------------------------------------------- */

static size_t process_events_slot(uint32_t pid, size_t mask) {
        uint64_t h = (uint64_t)pid * 0x9e3779b97f4a7c15u;
        return (size_t)(h >> 32) & mask;
}

static ProcEntry *process_events_find(ProcessSource *s, uint32_t pid) {
        if (!s->table || pid == 0)
                return NULL;
        for (size_t k = process_events_slot(pid, s->mask);; k = (k + 1) & s->mask) {
                if (s->table[k].pid == pid)
                        return &s->table[k];
                if (s->table[k].pid == 0)
                        return NULL;
        }
}

static void process_events_place(ProcEntry *table, size_t mask, const ProcEntry *e) {
        size_t k = process_events_slot(e->pid, mask);
        while (table[k].pid != 0)
                k = (k + 1) & mask;
        table[k] = *e;
}

/* A new entry for pid (not in the table), or NULL for lack of memory. */
static ProcEntry *process_events_insert(ProcessSource *s, uint32_t pid) {
        size_t size = s->table ? s->mask + 1 : 0;
        if ((s->n + 1) * 2 > size) {
                size_t nsize = size ? size * 2 : 256;
                ProcEntry *t = mem_calloc(nsize, sizeof(ProcEntry));
                if (!t)
                        return NULL;
                for (size_t k = 0; k < size; k++)
                        if (s->table[k].pid != 0)
                                process_events_place(t, nsize - 1, &s->table[k]);
                mem_free(s->table);
                s->table = t;
                s->mask = nsize - 1;
        }
        size_t k = process_events_slot(pid, s->mask);
        while (s->table[k].pid != 0)
                k = (k + 1) & s->mask;
        s->table[k] = (ProcEntry){ .pid = pid };
        s->n++;
        return &s->table[k];
}

/* Remove e, shifting back the entries after it so probing stays right. */
static void process_events_remove(ProcessSource *s, ProcEntry *e) {
        size_t i = (size_t)(e - s->table);
        instance_unref(e->inst);
        s->table[i] = (ProcEntry){ 0 };
        s->n--;
        for (size_t j = (i + 1) & s->mask; s->table[j].pid != 0; j = (j + 1) & s->mask) {
                size_t want = process_events_slot(s->table[j].pid, s->mask);
                /* j's entry may move to i when i lies cyclically in [want, j) */
                bool movable = i <= j ? (want <= i || want > j) : (want <= i && want > j);
                if (movable) {
                        s->table[i] = s->table[j];
                        s->table[j] = (ProcEntry){ 0 };
                        i = j;
                }
        }
}

/* ---- raising ------------------------------------------------------------------ */

/* An instance with what the connector told, for a process that could not
 * be read at all. */
static int process_events_bare(ProcessSource *s, uint32_t pid, uint32_t ppid, Instance **ret) {
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        int r = instance_new(s->cls, &inst);
        if (r != 0)
                return r;
        if ((r = instance_set_namespace(inst, s->ns)) != 0 ||
            (r = props_set_uint(inst, "ProcessId", CIM_UINT32, pid, NULL)) != 0)
                return r;
        if (ppid && (r = props_set_uint(inst, "ParentProcessId", CIM_UINT32, ppid, NULL)) != 0)
                return r;
        *ret = TAKE_PTR(inst);
        return 0;
}

/* Read pid now: 0 with *ret, 1 when it cannot be read (gone, or not
 * ours), -ENOMEM or another failure. */
static int process_events_read(ProcessSource *s, uint32_t pid, Instance **ret) {
        Error err = { 0 };
        int r = process_reader_read(s->reader, pid, s->cls, s->ns, ret, &err);
        if (r == 0)
                return 0;
        if (r < 0 && process_error_is_absent(r))
                return 1;
        return r < 0 ? r : 1; /* a property the class refused: treat as unreadable */
}

static void process_events_raise(ProcessSource *s, ProviderEvent kind, Instance *target,
                                 Instance *previous) {
#ifdef PROCESS_EVENTS_TRACE
        s->trace_read_ns = process_events_now();
#endif
        event_source_raise(s->src, kind, target, previous);
}

/* The creation of e, read now (or with what is known). */
static void process_events_announce(ProcessSource *s, ProcEntry *e) {
        Instance *inst = NULL;
        uint64_t now = process_events_now();
        int r = process_events_read(s, e->pid, &inst);
        if (r == 1)
                r = process_events_bare(s, e->pid, e->ppid, &inst);
        if (r == 0) {
                instance_unref(e->inst);
                e->inst = inst;
                e->read_ns = now;
        }
        e->announced = true;
        if (e->inst)
                process_events_raise(s, PROVIDER_EVENT_CREATION, e->inst, NULL);
}

/* ExitCode from the wait status the kernel gives: the exit status, or
 * 128 + the signal that killed it (as shells report it). */
static uint32_t process_events_exit_code(uint32_t status) {
        int st = (int)status;
        if (WIFEXITED(st))
                return (uint32_t)WEXITSTATUS(st);
        if (WIFSIGNALED(st))
                return 128u + (uint32_t)WTERMSIG(st);
        return status;
}

/* The deletion of e, with exit status when known; removes e. */
static void process_events_gone(ProcessSource *s, ProcEntry *e, bool have_status,
                                uint32_t status) {
        if (e->inst && event_source_wants(s->src, PROVIDER_EVENT_DELETION)) {
                Instance *last = e->inst;
                Instance *copy = NULL;
                if (have_status && instance_clone(last, &copy) == 0) {
                        if (props_set_uint(copy, "ExitCode", CIM_UINT32,
                                           process_events_exit_code(status), NULL) == 0)
                                last = copy;
                }
                /* without memory for the copy, the deletion goes without ExitCode */
                process_events_raise(s, PROVIDER_EVENT_DELETION, last, NULL);
                instance_unref(copy);
        }
        process_events_remove(s, e);
}

/* Re-read an announced process after ev_ns and raise a modification. */
static void process_events_changed(ProcessSource *s, ProcEntry *e, uint64_t ev_ns) {
        Instance *fresh = NULL;
        if (!e->announced || e->read_ns > ev_ns)
                return; /* not announced yet, or already read after the change */
        uint64_t now = process_events_now();
        if (process_events_read(s, e->pid, &fresh) != 0)
                return; /* gone: its exit follows */
        Instance *previous = e->inst;
        e->inst = fresh;
        e->read_ns = now;
        if (previous)
                process_events_raise(s, PROVIDER_EVENT_MODIFICATION, fresh, previous);
        else
                process_events_raise(s, PROVIDER_EVENT_CREATION, fresh, NULL);
        instance_unref(previous);
}

/* ---- the grace timer ---------------------------------------------------------------- */

static bool process_events_drain(ProcessSource *s, size_t max_batches);
static void process_events_tick(void *arg);

static void process_events_pend(ProcessSource *s, uint32_t pid, uint64_t deadline) {
        if (s->tail == s->cap) {
                if (s->head > 0) {
                        memmove(s->pending, s->pending + s->head,
                                (s->tail - s->head) * sizeof(ProcPending));
                        s->tail -= s->head;
                        s->head = 0;
                } else {
                        size_t cap = s->cap ? s->cap * 2 : 64;
                        ProcPending *p = mem_reallocarray(s->pending, cap, sizeof(ProcPending));
                        if (!p)
                                return; /* announced at its exec or exit, or by a resync */
                        s->pending = p;
                        s->cap = cap;
                }
        }
        s->pending[s->tail++] = (ProcPending){ pid, deadline };
        if (!s->timer) {
                uint64_t usec = s->grace_ns / 2000u;
                s->timer = event_source_timer_start(s->src, usec < 1000 ? 1000 : usec,
                                                    process_events_tick, s);
        }
}

bool process_events_unfinished(const ProcessPeek *peek) {
        if (peek->state == 'Z' || peek->state == 'X' || peek->state == 'x')
                return false; /* exiting: announced with what is known */
        if (!(peek->flags & PROCFS_PF_FORKNOEXEC))
                return true; /* inside its exec, or through it: the event follows */
        return peek->state == 'R' || peek->state == 'D';
}

/* Whether e's grace ended while it is still on its way to an exec
 * (process_events_unfinished: inside execve(), or a vfork child not yet
 * run on a busy machine). Then it waits one more grace, a bounded number
 * of times, for the exec event, rather than being announced with its
 * parent's image; a look at its stat alone decides. */
static bool process_events_wait_exec(ProcessSource *s, ProcEntry *e, uint64_t now) {
        if (e->deferrals >= PROCESS_EVENTS_MAX_DEFERRALS)
                return false;
        ProcessPeek peek;
        if (process_reader_peek(s->reader, e->pid, &peek) != 0 ||
            !process_events_unfinished(&peek))
                return false; /* gone or not ours (announced with what is known), or settled */
        e->deferrals++;
        e->read_ns = now; /* the new deadline is this look + grace */
        process_events_pend(s, e->pid, now + s->grace_ns);
        return true;
}

static void process_events_tick(void *arg) {
        ProcessSource *s = arg;
        /* an exec already queued must win over its fork's deadline */
        if (!process_events_drain(s, 16))
                return; /* the source failed and is gone */
        uint64_t now = process_events_now();
        while (s->head < s->tail && s->pending[s->head].deadline_ns <= now) {
                ProcPending p = s->pending[s->head++];
                ProcEntry *e = process_events_find(s, p.pid);
                /* still pending, and this is its own deadline (not an older
                 * fork's of a reused pid) */
                if (e && !e->announced && e->read_ns + s->grace_ns == p.deadline_ns &&
                    !process_events_wait_exec(s, e, now))
                        process_events_announce(s, e);
        }
        if (s->head == s->tail) {
                s->head = s->tail = 0;
                event_source_timer_stop(s->src, s->timer);
                s->timer = NULL;
        }
}

/* ---- events --------------------------------------------------------------------- */

static void process_events_fork(ProcessSource *s, const ProcCnEvent *ev) {
        ProcEntry *e = process_events_find(s, ev->pid);
        if (e) {
                if (e->read_ns > ev->timestamp_ns)
                        return; /* a scan read it after this fork */
                /* its exit was lost: a reused pid */
                process_events_gone(s, e, false, 0);
        }
        e = process_events_insert(s, ev->pid);
        if (!e)
                return; /* without memory: a resync scan will find it */
        e->ppid = ev->parent_tgid;
        e->read_ns = ev->timestamp_ns;
        if (s->grace_ns == 0)
                process_events_announce(s, e);
        else
                process_events_pend(s, ev->pid, ev->timestamp_ns + s->grace_ns);
}

#ifdef PROCESS_EVENTS_TRACE
static void process_events_trace(ProcessSource *s, const ProcCnEvent *ev, bool creation,
                                 uint64_t handle_ns) {
        if (!s->trace)
                s->trace = mem_calloc(PROCESS_EVENTS_TRACE_MAX, sizeof(ProcTrace));
        if (!s->trace || s->n_trace == PROCESS_EVENTS_TRACE_MAX)
                return;
        s->trace[s->n_trace++] = (ProcTrace){
                .pid = ev->pid,
                .creation = creation,
                .exec_ns = ev->timestamp_ns,
                .recv_ns = s->trace_recv_ns,
                .handle_ns = handle_ns,
                .read_ns = s->trace_read_ns,
                .raised_ns = process_events_now(),
        };
}

static void process_events_trace_write(ProcessSource *s) {
        for (size_t k = 0; k < s->n_trace; k++) {
                const ProcTrace *t = &s->trace[k];
                fprintf(stderr,
                        "procevents-trace pid=%" PRIu32 " creation=%d exec=%" PRIu64
                        " recv=%" PRIu64 " handle=%" PRIu64 " read=%" PRIu64 " raised=%" PRIu64
                        "\n",
                        t->pid, t->creation, t->exec_ns, t->recv_ns, t->handle_ns, t->read_ns,
                        t->raised_ns);
        }
        mem_free(s->trace);
}
#endif

static void process_events_exec(ProcessSource *s, const ProcCnEvent *ev) {
#ifdef PROCESS_EVENTS_TRACE
        uint64_t handle_ns = process_events_now();
        s->trace_read_ns = 0;
#endif
        ProcEntry *e = process_events_find(s, ev->pid);
        if (!e) {
                /* its fork predates us or was lost */
                e = process_events_insert(s, ev->pid);
                if (!e)
                        return;
                e->read_ns = ev->timestamp_ns;
        }
        bool creation = !e->announced;
        if (creation)
                process_events_announce(s, e);
        else
                process_events_changed(s, e, ev->timestamp_ns);
#ifdef PROCESS_EVENTS_TRACE
        process_events_trace(s, ev, creation, handle_ns);
#else
        (void)creation;
#endif
}

static void process_events_exit(ProcessSource *s, const ProcCnEvent *ev) {
        ProcEntry *e = process_events_find(s, ev->pid);
        if (!e) {
                /* unknown (its fork was lost): what can still be read */
                e = process_events_insert(s, ev->pid);
                if (!e)
                        return;
                e->ppid = ev->parent_tgid;
                e->read_ns = ev->timestamp_ns;
        }
        if (!e->announced)
                process_events_announce(s, e); /* a zombie, or the bare facts */
        process_events_gone(s, e, true, ev->exit_code);
}

static void process_events_handle(ProcessSource *s, const ProcCnEvent *ev) {
        if (ev->kind == PROC_CN_OVERRUN || ev->kind == PROC_CN_ACK)
                return;
        if (ev->pid == 0 || ev->pid != ev->tgid)
                return; /* a thread (or the idle task) */
        switch (ev->kind) {
        case PROC_CN_FORK:
                process_events_fork(s, ev);
                break;
        case PROC_CN_EXEC:
                process_events_exec(s, ev);
                break;
        case PROC_CN_EXIT:
                process_events_exit(s, ev);
                break;
        case PROC_CN_COMM:
        case PROC_CN_UID:
                if (event_source_wants(s->src, PROVIDER_EVENT_MODIFICATION)) {
                        ProcEntry *e = process_events_find(s, ev->pid);
                        if (e)
                                process_events_changed(s, e, ev->timestamp_ns);
                }
                break;
        default:
                break;
        }
}

/* ---- scanning /proc ------------------------------------------------------------------ */

static bool process_events_same(Instance *a, Instance *b) {
        const Value *x = instance_get(a, "CreationDate"), *y = instance_get(b, "CreationDate");
        if (!x || !y || x->is_null || y->is_null)
                return true; /* cannot tell: assume the same process */
        return value_equal(x, y);
}

/* Scan /proc: with raise, announce what changed since the table was right
 * (a resync); without, fill the table silently (the baseline). Returns 0
 * or -ENOMEM / -errno of the directory. */
static int process_events_scan(ProcessSource *s, bool raise) {
        int fd = dup(process_reader_root(s->reader));
        if (fd < 0)
                return -errno;
        if (lseek(fd, 0, SEEK_SET) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        DIR *dir = fdopendir(fd);
        if (!dir) {
                int r = -errno;
                close(fd);
                return r;
        }
        for (size_t k = 0; s->table && k <= s->mask; k++)
                s->table[k].seen = false;
        int r = 0;
        struct dirent *de;
        while (r == 0 && (errno = 0, de = readdir(dir))) {
                uint32_t pid;
                if (!procfs_pid_from_name(de->d_name, &pid))
                        continue;
                uint64_t now = process_events_now();
                Instance *inst = NULL;
                int k = process_events_read(s, pid, &inst);
                if (k == 1)
                        continue;
                if (k < 0) {
                        r = k;
                        break;
                }
                ProcEntry *e = process_events_find(s, pid);
                if (e && e->announced && e->inst && !process_events_same(e->inst, inst)) {
                        /* the pid was reused while we were not listening */
                        process_events_gone(s, e, false, 0);
                        e = NULL;
                }
                if (!e) {
                        e = process_events_insert(s, pid);
                        if (!e) {
                                instance_unref(inst);
                                r = -ENOMEM;
                                break;
                        }
                        e->announced = true;
                        e->inst = inst;
                        e->read_ns = now;
                        if (raise)
                                process_events_raise(s, PROVIDER_EVENT_CREATION, inst, NULL);
                } else if (e->announced) {
                        instance_unref(e->inst);
                        e->inst = inst;
                        e->read_ns = now;
                } else
                        instance_unref(inst); /* pending: its grace runs on */
                e->seen = true;
        }
        closedir(dir);
        if (r != 0)
                return r;
        /* what the scan did not see is gone (the table was filled before
         * the scan began: nothing in it is younger than the scan) */
        for (size_t k = 0; s->table && k <= s->mask;) {
                ProcEntry *e = &s->table[k];
                if (e->pid == 0 || e->seen) {
                        k++;
                        continue;
                }
                if (raise && !e->announced)
                        process_events_announce(s, e);
                if (raise)
                        process_events_gone(s, e, false, 0);
                else
                        process_events_remove(s, e);
                /* removal shifted a later entry into slot k: look again */
        }
        return 0;
}

static void process_events_resync(ProcessSource *s) {
        s->resyncs++;
        event_source_overflowed(s->src);
        /* a failure (out of memory) leaves the table as far as it got; the
         * next overflow or the events themselves set it right */
        (void)process_events_scan(s, true);
}

/* ---- the socket ------------------------------------------------------------------------ */

/* Read up to max_batches batches of datagrams and act on them. false when
 * the source failed for good (and so is gone). */
static bool process_events_drain(ProcessSource *s, size_t max_batches) {
        ProcCnEvent events[64];
        for (size_t b = 0; b < max_batches * PROCESS_EVENTS_BATCH; b++) {
                long len = proc_connector_recv(s->fd, s->buf, sizeof(s->buf));
#ifdef PROCESS_EVENTS_TRACE
                s->trace_recv_ns = process_events_now();
#endif
                if (len == 0)
                        return true;
                if (len == -ENOBUFS) {
                        s->overflows++;
                        process_events_resync(s);
                        continue;
                }
                if (len < 0) {
                        char message[256];
                        snprintf(message, sizeof(message),
                                 "%s events: reading the proc connector failed: %s", PROCESS_CLASS,
                                 strerror((int)-len));
                        /* stops this source: nothing of s may be used after */
                        event_source_fail(s->src, WBEM_E_PROVIDER_FAILURE, message);
                        return false;
                }
                size_t n = 0, skipped = 0;
                if (proc_connector_parse(s->buf, (size_t)len, events, ELEMENTSOF(events), &n,
                                         &skipped) < 0) {
                        s->skipped++;
                        continue;
                }
                s->skipped += skipped;
                for (size_t k = 0; k < n; k++) {
                        s->messages++;
                        if (events[k].kind == PROC_CN_OVERRUN) {
                                s->overflows++;
                                process_events_resync(s);
                        } else
                                process_events_handle(s, &events[k]);
                }
        }
        return true;
}

static void process_events_readable(void *arg) {
        (void)process_events_drain(arg, 1);
}

/* Wait for the kernel's answer to LISTEN: 0, or an error with err. Other
 * events that come first predate the baseline scan and are dropped. */
static int process_events_await_ack(ProcessSource *s, Error *err) {
        uint64_t deadline = process_events_now() + PROCESS_EVENTS_ACK_MS * 1000000ull;
        ProcCnEvent events[64];
        for (;;) {
                long len = proc_connector_recv(s->fd, s->buf, sizeof(s->buf));
                if (len < 0 && len != -ENOBUFS)
                        return error_set(err, WBEM_E_PROVIDER_FAILURE,
                                         "%s events: reading the proc connector: %s", PROCESS_CLASS,
                                         strerror((int)-len));
                size_t n = 0;
                if (len > 0 && proc_connector_parse(s->buf, (size_t)len, events, ELEMENTSOF(events),
                                                    &n, NULL) == 0)
                        for (size_t k = 0; k < n; k++) {
                                if (events[k].kind != PROC_CN_ACK)
                                        continue;
                                if (events[k].err == 0)
                                        return 0;
                                return error_set(err,
                                                 events[k].err == EPERM ? WBEM_E_ACCESS_DENIED
                                                                        : WBEM_E_PROVIDER_FAILURE,
                                                 "%s events: the kernel refused to report process "
                                                 "events: %s",
                                                 PROCESS_CLASS, strerror((int)events[k].err));
                        }
                if (len != 0)
                        continue;
                uint64_t now = process_events_now();
                if (now >= deadline)
                        return error_set(err, WBEM_E_PROVIDER_FAILURE,
                                         "%s events: the kernel did not answer the proc "
                                         "connector's LISTEN (is lwmid in another pid "
                                         "namespace?)",
                                         PROCESS_CLASS);
                struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
                (void)poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
        }
}

/* ---- the source ------------------------------------------------------------------------ */

static void process_events_free(ProcessSource *s) {
        if (!s)
                return;
#ifdef PROCESS_EVENTS_TRACE
        process_events_trace_write(s);
#endif
        if (s->timer)
                event_source_timer_stop(s->src, s->timer);
        if (s->watch)
                event_source_unwatch(s->src, s->watch);
        if (s->fd >= 0) {
                /* the kernel counts listeners: say goodbye before closing */
                (void)proc_connector_send(s->fd, false);
                close(s->fd);
        }
        for (size_t k = 0; s->table && k <= s->mask; k++)
                instance_unref(s->table[k].inst);
        mem_free(s->table);
        mem_free(s->pending);
        process_reader_free(s->reader);
        if (s->cls)
                class_unref(s->cls);
        mem_free(s->ns);
        mem_free(s);
}

bool process_provider_native_events(Provider *p, char *why, size_t why_size) {
        ProcessProvider *pp = p->userdata;
        if (pp->native == 0) {
                if (!pp->opts.proc_connector) {
                        snprintf(pp->why_not, sizeof(pp->why_not),
                                 "the process event source (the kernel's proc connector) is "
                                 "turned off (lwmid --no-proc-connector, or proc_connector = "
                                 "false)");
                        pp->native = -1;
                } else
                        pp->native = proc_connector_allowed(pp->why_not, sizeof(pp->why_not))
                                             ? 1
                                             : -1;
        }
        if (pp->native < 0)
                snprintf(why, why_size, "%s", pp->why_not);
        return pp->native > 0;
}

int process_events_check(Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                         const ProviderCaller *caller, char **ret_key, char *why, size_t why_size,
                         Error *err) {
        (void)ns;
        (void)caller; /* every process is announced, as /proc shows them */
        (void)cls;
        (void)q;
        (void)err;
        if (!process_provider_native_events(p, why, why_size))
                return 0;
        *ret_key = NULL; /* one source for every query */
        return 1;
}

int process_events_start(Provider *p, const char *ns, const char *key, EventSource *src,
                         ProviderSource **ret, Error *err) {
        ProcessProvider *pp = p->userdata;
        (void)key;
        ProcessSource *s = mem_calloc(1, sizeof(ProcessSource));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->pp = pp;
        s->src = src;
        s->grace_ns = (uint64_t)pp->opts.fork_grace_ms * 1000000u;
        int r;
        s->ns = mem_strdup(ns);
        if (!s->ns) {
                r = -ENOMEM;
                goto fail;
        }
        r = event_source_class(src, PROCESS_CLASS, &s->cls, err);
        if (r != 0)
                goto fail;
        r = process_reader_new(pp, &s->reader, err);
        if (r != 0)
                goto fail;
        r = proc_connector_open(PROCESS_EVENTS_RCVBUF, &s->fd);
        if (r == 0)
                r = proc_connector_send(s->fd, true);
        if (r < 0) {
                r = r == -ENOMEM ? r
                                 : error_set(err, r == -EPERM ? WBEM_E_ACCESS_DENIED
                                                              : WBEM_E_PROVIDER_FAILURE,
                                             "%s events: cannot open the proc connector: %s",
                                             PROCESS_CLASS, strerror(-r));
                goto fail;
        }
        r = process_events_await_ack(s, err);
        if (r != 0)
                goto fail;
        /* the baseline, after LISTEN: what changes during it is queued */
        r = process_events_scan(s, false);
        if (r < 0) {
                r = r == -ENOMEM ? r
                                 : error_set(err, WBEM_E_PROVIDER_FAILURE,
                                             "%s events: cannot scan /proc: %s", PROCESS_CLASS,
                                             strerror(-r));
                goto fail;
        }
        s->watch = event_source_watch(src, s->fd, process_events_readable, s);
        if (!s->watch) {
                r = -ENOMEM;
                goto fail;
        }
        *ret = (ProviderSource *)s;
        return 0;
fail:
        process_events_free(s);
        return r;
}

void process_events_stop(ProviderSource *ps) {
        process_events_free((ProcessSource *)ps);
}
