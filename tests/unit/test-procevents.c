/* Unit tests of the process provider's native event source
 * (src/providers/process_events.c) through the engine, on this machine's
 * kernel: a stand-in host loop (poll() on the watched descriptor, timers
 * fired by hand) drives it. A child that execs is created and deleted with
 * ExitCode; a child that never execs is announced when its grace ends; one
 * still runnable and not exec'd then is announced at its exec; when a
 * grace ends, which processes wait for their exec (a table);
 * the source runs once for several calls and stops with the last; turned
 * off, the provider says why and WITHIN polls. Skipped where the proc
 * connector may not be used (not root in the initial namespaces). */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "events.h"
#include "instance.h"
#include "mem.h"
#include "process.h"
#include "procfs.h"
#include "providers.h"

#define NS "root/cimv2"
#define SLOTS 8

typedef struct Slot {
        bool active, is_watch;
        int fd;
        void (*fn)(void *arg);
        void *arg;
} Slot;

typedef struct Loop {
        Slot slots[SLOTS];
        unsigned started, stopped;
} Loop;

static void *loop_add(Loop *l, bool is_watch, int fd, void (*fn)(void *), void *arg) {
        for (size_t k = 0; k < SLOTS; k++)
                if (!l->slots[k].active) {
                        l->slots[k] = (Slot){ true, is_watch, fd, fn, arg };
                        l->started++;
                        return &l->slots[k];
                }
        fail_msg("out of slots");
        return NULL;
}

static void *loop_timer(void *ud, uint64_t usec, void (*fn)(void *), void *arg) {
        (void)usec;
        return loop_add(ud, false, -1, fn, arg);
}

static void *loop_watch(void *ud, int fd, void (*fn)(void *), void *arg) {
        return loop_add(ud, true, fd, fn, arg);
}

static void loop_stop(void *ud, void *h) {
        Loop *l = ud;
        Slot *s = h;
        assert_true(s->active);
        s->active = false;
        l->stopped++;
}

/* One turn: run the watches whose descriptor is readable (waiting up to
 * 5 ms), then every timer once. */
static void loop_turn(Loop *l) {
        for (size_t k = 0; k < SLOTS; k++) {
                Slot *s = &l->slots[k];
                if (!s->active || !s->is_watch)
                        continue;
                struct pollfd p = { .fd = s->fd, .events = POLLIN };
                if (poll(&p, 1, 5) > 0)
                        s->fn(s->arg);
        }
        for (size_t k = 0; k < SLOTS; k++) {
                Slot *s = &l->slots[k];
                if (s->active && !s->is_watch)
                        s->fn(s->arg);
        }
}

#define SEEN_MAX 64

typedef struct Seen {
        Instance *events[SEEN_MAX];
        uint64_t calls[SEEN_MAX];
        size_t n;
} Seen;

static void seen_indicate(Sink *sink, Call *call, Instance *event, void *ud) {
        Seen *s = ud;
        (void)sink;
        if (s->n < SEEN_MAX) {
                s->calls[s->n] = call_id(call);
                s->events[s->n++] = instance_ref(event);
        }
}

static const SinkOps seen_ops = { .indicate = seen_indicate };

static void seen_clear(Seen *s) {
        for (size_t k = 0; k < s->n; k++)
                instance_unref(s->events[k]);
        s->n = 0;
}

static const Instance *target_of(const Instance *ev) {
        return instance_get(ev, "TargetInstance")->obj;
}

/* The events of process pid seen so far by call 1, into out (up to max). */
static size_t events_of(Seen *s, uint32_t pid, Instance **out, size_t max) {
        size_t n = 0;
        for (size_t k = 0; k < s->n && n < max; k++)
                if (s->calls[k] == 1 &&
                    instance_get(target_of(s->events[k]), "ProcessId")->u == pid)
                        out[n++] = s->events[k];
        return n;
}

/* Turn the loop until pid has `want` events, for at most 5 s. */
static size_t wait_events(Loop *l, Seen *s, uint32_t pid, Instance **out, size_t want) {
        for (int k = 0; k < 1000; k++) {
                size_t n = events_of(s, pid, out, want);
                if (n >= want)
                        return n;
                loop_turn(l);
        }
        return events_of(s, pid, out, want);
}

/* Turn the loop until pid's deletion comes (at most 5 s): the number of
 * its events, the deletion last. */
static size_t wait_deletion(Loop *l, Seen *s, uint32_t pid, Instance **out, size_t max) {
        for (int k = 0; k < 1000; k++) {
                size_t n = events_of(s, pid, out, max);
                if (n > 0 && strcmp(out[n - 1]->cls->name, "__InstanceDeletionEvent") == 0)
                        return n;
                loop_turn(l);
        }
        return 0;
}

typedef struct Fixture {
        Engine *e;
        Provider *p;
        Loop loop;
        Seen seen;
        Sink *sink;
} Fixture;

static int fixture_setup(Fixture *f, bool proc_connector) {
        Error err = { 0 };
        EngineOptions opts = { .repository_path = ":memory:", .host_name = "testhost" };
        memset(f, 0, sizeof(*f));
        assert_int_equal(engine_new(&opts, &f->e, &err), 0);
        ProcessOptions po = { .proc_connector = proc_connector, .fork_grace_ms = 5 };
        assert_int_equal(process_provider_new_with("/proc", &po, &f->p), 0);
        assert_int_equal(engine_register_provider(f->e, f->p, &err), 0);
        engine_set_event_hooks(f->e,
                               &(EngineTimerOps){ .start = loop_timer,
                                                  .stop = loop_stop,
                                                  .watch = loop_watch,
                                                  .unwatch = loop_stop,
                                                  .userdata = &f->loop },
                               NULL);
        assert_int_equal(sink_new(f->e, &seen_ops, &f->seen, &f->sink), 0);
        return 0;
}

static void fixture_done(Fixture *f) {
        seen_clear(&f->seen);
        engine_free(f->e);
        assert_int_equal(f->loop.started, f->loop.stopped);
}

static Call *sub(Fixture *f, uint64_t id, const char *q) {
        Call *c = NULL;
        Error err = { 0 };
        int r = engine_subscribe(f->e, NS, q, strlen(q), f->sink, id, &c, &err);
        if (r != 0)
                fail_msg("subscribe: %s", err.message);
        return c;
}

static void test_native(void **state) {
        (void)state;
        Fixture f;
        char why[256];
        fixture_setup(&f, true);
        if (!process_provider_native_events(f.p, why, sizeof(why))) {
                fixture_done(&f);
                skip();
        }
        char q[256];
        snprintf(q, sizeof(q),
                 "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "
                 "'Linux_Process' AND TargetInstance.ParentProcessId = %d",
                 (int)getpid());
        sub(&f, 1, q);
        /* WITHIN ignored: the same source */
        snprintf(q, sizeof(q),
                 "SELECT * FROM __InstanceDeletionEvent WITHIN 3 WHERE TargetInstance ISA "
                 "'Linux_Process' AND TargetInstance.ParentProcessId = %d",
                 (int)getpid());
        sub(&f, 2, q);
        EngineEventStats st;
        engine_event_stats(f.e, &st);
        assert_int_equal(st.sources, 1);
        assert_int_equal(st.poll_tasks, 0);

        /* a child that execs and exits 4 */
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                execl("/bin/sh", "sh", "-c", "exit 4", (char *)NULL);
                _exit(127);
        }
        /* created at its exec, or (when the exec took longer than the
         * grace on a busy machine) at the grace and then modified by the
         * exec; deleted with its ExitCode */
        Instance *evs[4];
        size_t n = wait_deletion(&f.loop, &f.seen, (uint32_t)child, evs, 4);
        assert_true(n == 2 || n == 3);
        assert_string_equal(evs[0]->cls->name, "__InstanceCreationEvent");
        if (n == 3) {
                assert_string_equal(evs[1]->cls->name, "__InstanceModificationEvent");
                assert_string_equal(instance_get(target_of(evs[1]), "Name")->s, "sh");
        }
        assert_int_equal(instance_get(target_of(evs[n - 1]), "ExitCode")->u, 4);
        assert_int_equal(instance_get(target_of(evs[n - 1]), "ParentProcessId")->u, getpid());
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);

        /* a child that never execs: announced after the grace (5 ms) as it
         * is, then deleted with its exit status */
        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                char c;
                close(pipefd[1]);
                if (read(pipefd[0], &c, 1) < 0)
                        _exit(1);
                _exit(9);
        }
        close(pipefd[0]);
        n = wait_events(&f.loop, &f.seen, (uint32_t)child, evs, 1);
        assert_int_equal(n, 1);
        assert_string_equal(evs[0]->cls->name, "__InstanceCreationEvent");
        assert_true(instance_get(target_of(evs[0]), "ExitCode")->is_null);
        close(pipefd[1]); /* let it go */
        n = wait_deletion(&f.loop, &f.seen, (uint32_t)child, evs, 4);
        assert_int_equal(n, 2);
        assert_string_equal(evs[1]->cls->name, "__InstanceDeletionEvent");
        assert_int_equal(instance_get(target_of(evs[1]), "ExitCode")->u, 9);
        assert_int_equal(waitpid(child, &status, 0), child);

        /* a child that stays runnable past the grace before it execs (a
         * vfork child waiting for a CPU, here spinning for three graces):
         * created once, at its exec, with the new image */
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                struct timespec t0, t;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                do
                        clock_gettime(CLOCK_MONOTONIC, &t);
                while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
                       15000000L);
                execl("/bin/true", "true", (char *)NULL);
                _exit(127);
        }
        n = wait_deletion(&f.loop, &f.seen, (uint32_t)child, evs, 4);
        assert_int_equal(n, 2);
        assert_string_equal(evs[0]->cls->name, "__InstanceCreationEvent");
        assert_string_equal(instance_get(target_of(evs[0]), "Name")->s, "true");
        assert_int_equal(instance_get(target_of(evs[1]), "ExitCode")->u, 0);
        assert_int_equal(waitpid(child, &status, 0), child);

        /* the last call stops the source: its watch and timers go */
        sink_cancel_all(f.sink, NULL, NULL);
        engine_event_stats(f.e, &st);
        assert_int_equal(st.sources, 0);
        assert_int_equal(f.loop.started, f.loop.stopped);
        fixture_done(&f);
}

/* When a fork's grace ends: wait for its exec while it is on its way to
 * one, announce it otherwise. */
static void test_unfinished(void **state) {
        (void)state;
        static const struct {
                char state;
                uint64_t flags;
                bool wait;
        } cases[] = {
                /* not exec'd: runnable (a vfork child not yet run) or in
                 * uninterruptible sleep (reading the binary) waits */
                { 'R', PROCFS_PF_FORKNOEXEC, true },
                { 'D', PROCFS_PF_FORKNOEXEC, true },
                /* not exec'd and sleeping or stopped: a fork as it is */
                { 'S', PROCFS_PF_FORKNOEXEC, false },
                { 'T', PROCFS_PF_FORKNOEXEC, false },
                { 't', PROCFS_PF_FORKNOEXEC, false },
                { 'I', PROCFS_PF_FORKNOEXEC | PROCFS_PF_KTHREAD, false },
                /* past the exec's point of no return: the event follows,
                 * whatever it is doing */
                { 'R', 0, true },
                { 'S', 0, true },
                { 'D', PROCFS_PF_KTHREAD, true },
                /* exiting: announced now, its exit follows */
                { 'Z', 0, false },
                { 'Z', PROCFS_PF_FORKNOEXEC, false },
                { 'X', 0, false },
                { 'x', PROCFS_PF_FORKNOEXEC, false },
        };
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                ProcessPeek peek = { .state = cases[k].state, .flags = cases[k].flags };
                if (process_events_unfinished(&peek) != cases[k].wait)
                        fail_msg("state %c flags %#llx: expected %s", cases[k].state,
                                 (unsigned long long)cases[k].flags,
                                 cases[k].wait ? "wait" : "announce");
        }
}

static void test_turned_off(void **state) {
        (void)state;
        Fixture f;
        char why[256];
        fixture_setup(&f, false);
        assert_false(process_provider_native_events(f.p, why, sizeof(why)));
        assert_non_null(strstr(why, "turned off"));
        const char *q = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                        "'Linux_Process'";
        Call *c = NULL;
        Error err = { 0 };
        assert_int_equal(engine_subscribe(f.e, NS, q, strlen(q), f.sink, 1, &c, &err),
                         WBEM_E_INVALID_QUERY);
        assert_non_null(strstr(err.message, "--no-proc-connector"));
        sub(&f, 1, "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                   "'Linux_Process'");
        EngineEventStats st;
        engine_event_stats(f.e, &st);
        assert_int_equal(st.sources, 0);
        assert_int_equal(st.poll_tasks, 1);
        fixture_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_native),
                cmocka_unit_test(test_unfinished),
                cmocka_unit_test(test_turned_off),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
