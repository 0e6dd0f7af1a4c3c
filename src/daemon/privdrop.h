/* Dropping the privileges lwmid does not need once it has started.
 *
 * lwmid starts as root (or with whatever capabilities its service manager
 * gives it), binds its sockets and opens its repository, then keeps only
 * the capabilities its providers use at run time (PRIVDROP_KEEP):
 *
 *   CAP_NET_ADMIN        the kernel's proc connector (native Linux_Process
 *                        events), opened at the first registration and again
 *                        whenever the last one went away; SO_RCVBUFFORCE
 *   CAP_SYS_PTRACE       /proc/PID/exe of other users' processes
 *                        (ExecutablePath; the kernel asks for ptrace read
 *                        access), and every /proc/PID under hidepid=
 *   CAP_DAC_READ_SEARCH  directories a peer may list or watch but root's
 *                        mode bits alone would not open (Linux_File, inotify
 *                        watches): the peer's own access is checked by the
 *                        provider (fsaccess.h), the daemon only needs to see
 *
 * Everything else goes from the effective, permitted and inheritable sets,
 * the bounding set and the ambient set; PR_SET_NO_NEW_PRIVS is set and the
 * securebits lock root's special treatment away, so nothing lwmid could
 * ever exec regains a capability. lwmid stays uid 0 (docs/security.md
 * "Hardening" says why). A capability lwmid did not have to begin with is
 * not kept either: the result says which were. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Capability numbers (linux/capability.h), as bits of a mask. */
#define PRIVDROP_CAP(n) ((uint64_t)1 << (n))
#define PRIVDROP_CAP_DAC_READ_SEARCH 2
#define PRIVDROP_CAP_SETPCAP 8
#define PRIVDROP_CAP_NET_ADMIN 12
#define PRIVDROP_CAP_SYS_PTRACE 19

#define PRIVDROP_KEEP                                                                   \
        (PRIVDROP_CAP(PRIVDROP_CAP_NET_ADMIN) | PRIVDROP_CAP(PRIVDROP_CAP_SYS_PTRACE) | \
         PRIVDROP_CAP(PRIVDROP_CAP_DAC_READ_SEARCH))

typedef struct PrivdropResult {
        uint64_t kept;          /* effective = permitted now: wanted ∩ what we had */
        uint64_t bounding;      /* the bounding set now */
        bool bounding_cleared;  /* false: no CAP_SETPCAP to shrink it (then
                                 * NoNewPrivs alone keeps it unusable) */
        bool securebits_locked; /* SECBIT_NOROOT etc. set and locked */
} PrivdropResult;

/* Drop every capability not in `keep` from all five sets, set
 * PR_SET_NO_NEW_PRIVS and (with CAP_SETPCAP) the securebits. Must run
 * while the process has a single thread (capabilities are per thread).
 * Returns 0 with *ret filled (may be NULL), or a negative errno with a
 * message naming the step that failed; the process is then in an unknown
 * state between the two and should exit. */
int privdrop_apply(uint64_t keep, PrivdropResult *ret, Error *err);

/* The capability sets of the calling thread, from capget(2). */
int privdrop_get(uint64_t *ret_effective, uint64_t *ret_permitted, uint64_t *ret_inheritable);

/* The names of the capabilities in mask, lower case and comma-separated
 * ("cap_dac_read_search,cap_net_admin"; "none" for an empty mask), cut to
 * fit size (>= 1). Returns buf. */
char *privdrop_format(uint64_t mask, char *buf, size_t size);
