/* The Linux_Process provider's internals shared by process.c (the
 * provider: enumeration, GetObject) and process_events.c (its native
 * event source on the kernel's proc connector). Not for use elsewhere. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers.h"

#define PROCESS_CLASS "Linux_Process"
#define PROCESS_NAMESPACE "root/cimv2"

typedef struct ProcessProvider {
        Provider provider; /* handed out; userdata points back here */
        char *proc_root;
        ProcessOptions opts;
        /* Whether the proc connector may be used: probed once, on the
         * first event subscription (0: not yet, 1: yes, -1: no, why). */
        int native;
        char why_not[256];
} ProcessProvider;

/* Reads processes from /proc one at a time, with the state every read
 * needs (the open /proc, boot time, clock ticks, a small user-name cache). */
typedef struct ProcessReader ProcessReader;

/* Open pp->proc_root: 0, or WBEM_E_PROVIDER_FAILURE with err. */
int process_reader_new(const ProcessProvider *pp, ProcessReader **ret, Error *err);
void process_reader_free(ProcessReader *r);
/* The descriptor of the open /proc (for a scan with readdir). */
int process_reader_root(const ProcessReader *r);
/* Read process pid into a new instance of cls in ns. 0; an error for
 * which process_error_is_absent() is true when there is no such process
 * (any more) or it may not be read; -ENOMEM; a WbemStatus. */
int process_reader_read(ProcessReader *r, uint32_t pid, CimClass *cls, const char *ns,
                        Instance **ret, Error *err);
bool process_error_is_absent(int r);

/* What the fork grace needs to know of a process: its stat's state letter
 * and task flags (PROCFS_PF_*), read from /proc/PID/stat alone. */
typedef struct ProcessPeek {
        char state;
        uint64_t flags;
} ProcessPeek;

/* Read pid's ProcessPeek: 0; an error for which process_error_is_absent()
 * is true when it is gone or may not be read; another negative errno. */
int process_reader_peek(ProcessReader *r, uint32_t pid, ProcessPeek *ret);

/* Whether a forked process whose grace ended, seen as peek, is still on
 * its way to an exec, so its creation should wait for the exec event
 * rather than be announced with the parent's image: it has passed the
 * exec's point of no return (PF_FORKNOEXEC clear: the exec event follows),
 * or it has not exec'd and is runnable or in uninterruptible sleep (a
 * vfork or posix_spawn child that has not had a CPU yet on a busy machine,
 * or is reading the binary). false for a zombie or a dead process, and
 * for a fork that sleeps or is stopped as it is: those are announced. */
bool process_events_unfinished(const ProcessPeek *peek);

/* process_events.c: ProviderOps.source_* for Linux_Process. */
int process_events_check(Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                         const ProviderCaller *caller, char **ret_key, char *why, size_t why_size,
                         Error *err);
int process_events_start(Provider *p, const char *ns, const char *key, EventSource *src,
                         ProviderSource **ret, Error *err);
void process_events_stop(ProviderSource *s);
