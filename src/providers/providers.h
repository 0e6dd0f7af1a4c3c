/* The built-in providers of lwmid, each behind the provider interface
 * (src/engine/provider.h); docs/providers.md documents their classes.
 *
 *   process_provider_new()  Linux_Process in root/cimv2, from /proc, with
 *                           native events from the kernel's proc connector
 *   os_provider_new()       Linux_OperatingSystem in root/cimv2 (singleton)
 *
 * A new provider is handed to engine_register_provider(), which takes it
 * over; p->ops->free(p) releases it (and the Provider itself). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "provider.h"

/* Options of the process provider. */
#define PROCESS_DEFAULT_FORK_GRACE_MS 10u
#define PROCESS_MAX_FORK_GRACE_MS 10000u

typedef struct ProcessOptions {
        /* Use the kernel's proc connector for native events when allowed
         * (false: every event query on Linux_Process polls). */
        bool proc_connector;
        /* How long a forked process that has not called exec waits before
         * it is announced as it is (an exec within it announces the new
         * program instead); 0 announces at once. */
        unsigned fork_grace_ms;
} ProcessOptions;

/* Return 0 or -ENOMEM. The defaults: proc connector on, grace 10 ms. */
int process_provider_new(Provider **ret);
/* With options (NULL: the defaults) and a /proc-like tree at proc_root. */
int process_provider_new_with(const char *proc_root, const ProcessOptions *opts, Provider **ret);
/* Whether Linux_Process events are native (the proc connector may be
 * used): false with why filled otherwise. Probes once and remembers. For
 * the daemon's log line. */
bool process_provider_native_events(Provider *p, char *why, size_t why_size);
int os_provider_new(Provider **ret);

/* For tests: a process provider reading a /proc-like tree at proc_root
 * (a directory of PID directories and a "stat" file with a btime line). */
int process_provider_new_at(const char *proc_root, Provider **ret);

/* For tests: how many directory entries a Linux_Process cursor has read
 * from /proc so far (0 for a cursor that looks at one ProcessId only). */
size_t process_cursor_entries_read(const ProviderCursor *c);
