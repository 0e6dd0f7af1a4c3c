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

/* process_events.c: ProviderOps.source_* for Linux_Process. */
int process_events_check(Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                         char **ret_key, char *why, size_t why_size, Error *err);
int process_events_start(Provider *p, const char *ns, const char *key, EventSource *src,
                         ProviderSource **ret, Error *err);
void process_events_stop(ProviderSource *s);
