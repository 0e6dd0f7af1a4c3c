/* The built-in providers of lwmid, each behind the provider interface
 * (src/engine/provider.h); docs/providers.md documents their classes.
 *
 *   process_provider_new()  Linux_Process in root/cimv2, from /proc
 *   os_provider_new()       Linux_OperatingSystem in root/cimv2 (singleton)
 *   file_provider_new()     Linux_File in root/cimv2, one directory at a time
 *   netif_provider_new()    Linux_NetworkInterface in root/cimv2, from rtnetlink
 *
 * A new provider is handed to engine_register_provider(), which takes it
 * over; p->ops->free(p) releases it (and the Provider itself). */
#pragma once

#include <stddef.h>

#include "provider.h"

/* Return 0 or -ENOMEM. */
int process_provider_new(Provider **ret);
int os_provider_new(Provider **ret);
int file_provider_new(Provider **ret);
int netif_provider_new(Provider **ret);

/* For tests: a process provider reading a /proc-like tree at proc_root
 * (a directory of PID directories and a "stat" file with a btime line). */
int process_provider_new_at(const char *proc_root, Provider **ret);

/* For tests: how many directory entries a Linux_Process cursor has read
 * from /proc so far (0 for a cursor that looks at one ProcessId only). */
size_t process_cursor_entries_read(const ProviderCursor *c);
