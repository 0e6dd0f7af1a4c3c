/* Capability drop with raw capget/capset and prctl (no libcap: three
 * system calls do not justify a dependency); see privdrop.h.
 *
 * Order matters: the securebits and the bounding set can only be changed
 * while CAP_SETPCAP is effective, so they come first, and capset() last
 * takes CAP_SETPCAP away with everything else not kept. */
#include "privdrop.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(PRIVDROP_CAP_DAC_READ_SEARCH == CAP_DAC_READ_SEARCH, "capability numbers");
_Static_assert(PRIVDROP_CAP_SETPCAP == CAP_SETPCAP, "capability numbers");
_Static_assert(PRIVDROP_CAP_NET_ADMIN == CAP_NET_ADMIN, "capability numbers");
_Static_assert(PRIVDROP_CAP_SYS_PTRACE == CAP_SYS_PTRACE, "capability numbers");

/* The kernel's names, by number (include/uapi/linux/capability.h). */
static const char *const privdrop_names[] = {
        "cap_chown",
        "cap_dac_override",
        "cap_dac_read_search",
        "cap_fowner",
        "cap_fsetid",
        "cap_kill",
        "cap_setgid",
        "cap_setuid",
        "cap_setpcap",
        "cap_linux_immutable",
        "cap_net_bind_service",
        "cap_net_broadcast",
        "cap_net_admin",
        "cap_net_raw",
        "cap_ipc_lock",
        "cap_ipc_owner",
        "cap_sys_module",
        "cap_sys_rawio",
        "cap_sys_chroot",
        "cap_sys_ptrace",
        "cap_sys_pacct",
        "cap_sys_admin",
        "cap_sys_boot",
        "cap_sys_nice",
        "cap_sys_resource",
        "cap_sys_time",
        "cap_sys_tty_config",
        "cap_mknod",
        "cap_lease",
        "cap_audit_write",
        "cap_audit_control",
        "cap_setfcap",
        "cap_mac_override",
        "cap_mac_admin",
        "cap_syslog",
        "cap_wake_alarm",
        "cap_block_suspend",
        "cap_audit_read",
        "cap_perfmon",
        "cap_bpf",
        "cap_checkpoint_restore",
};

char *privdrop_format(uint64_t mask, char *buf, size_t size) {
        size_t used = 0;

        buf[0] = '\0';
        if (mask == 0) {
                snprintf(buf, size, "none");
                return buf;
        }
        for (unsigned cap = 0; cap < 64; cap++) {
                if (!(mask & PRIVDROP_CAP(cap)))
                        continue;
                char unknown[16];
                const char *name = unknown;
                if (cap < sizeof(privdrop_names) / sizeof(privdrop_names[0]))
                        name = privdrop_names[cap];
                else
                        snprintf(unknown, sizeof(unknown), "cap_%u", cap);
                int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", name);
                if (n < 0 || (size_t)n >= size - used) {
                        buf[used] = '\0'; /* cut: the names that fit whole stay */
                        break;
                }
                used += (size_t)n;
        }
        return buf;
}

int privdrop_get(uint64_t *ret_effective, uint64_t *ret_permitted, uint64_t *ret_inheritable) {
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

        memset(data, 0, sizeof(data));
        if (syscall(SYS_capget, &hdr, data) < 0)
                return -errno;
        *ret_effective = (uint64_t)data[1].effective << 32 | data[0].effective;
        *ret_permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
        *ret_inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
        return 0;
}

static int privdrop_set(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
                { (uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable },
                { (uint32_t)(effective >> 32), (uint32_t)(permitted >> 32),
                  (uint32_t)(inheritable >> 32) },
        };
        if (syscall(SYS_capset, &hdr, data) < 0)
                return -errno;
        return 0;
}

/* The bounding set, probed capability by capability (PR_CAPBSET_READ
 * fails with EINVAL past the kernel's last one). */
static uint64_t privdrop_bounding(void) {
        uint64_t mask = 0;
        for (unsigned cap = 0; cap < 64; cap++) {
                int r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                if (r < 0)
                        break;
                if (r == 1)
                        mask |= PRIVDROP_CAP(cap);
        }
        return mask;
}

/* Root loses its special treatment for good: an exec as uid 0 would not
 * refill the capability sets, a uid change would not be "fixed up", and
 * the ambient set can never be raised again. Bits already locked by our
 * parent (systemd's SecureBits=) are kept. */
static int privdrop_securebits(void) {
        int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (bits < 0)
                return -errno;
        unsigned long want = (unsigned long)bits | SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
                             SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                             SECBIT_KEEP_CAPS_LOCKED;
#ifdef SECBIT_NO_CAP_AMBIENT_RAISE
        want |= SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
#endif
        if ((unsigned long)bits == want)
                return 0;
        if (prctl(PR_SET_SECUREBITS, want, 0, 0, 0) < 0)
                return -errno;
        return 0;
}

int privdrop_apply(uint64_t keep, PrivdropResult *ret, Error *err) {
        uint64_t eff, prm, inh;
        PrivdropResult res = { 0 };
        int r;

        r = privdrop_get(&eff, &prm, &inh);
        if (r < 0) {
                error_set(err, WBEM_E_FAILED, "cannot read lwmid's capabilities: %s", strerror(-r));
                return r;
        }
        keep &= prm;
        /* CAP_SETPCAP must be effective for the securebits and the
         * bounding set: raise whatever is permitted (a no-op for root). */
        if (eff != prm && (r = privdrop_set(prm, prm, inh)) < 0) {
                error_set(err, WBEM_E_FAILED, "cannot raise the permitted capabilities: %s",
                          strerror(-r));
                return r;
        }
        if (prm & PRIVDROP_CAP(PRIVDROP_CAP_SETPCAP)) {
                r = privdrop_securebits();
                res.securebits_locked = r == 0;
                res.bounding_cleared = true;
                for (unsigned cap = 0; cap < 64; cap++) {
                        int in = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                        if (in < 0)
                                break; /* past the last capability */
                        if (in == 0 || (keep & PRIVDROP_CAP(cap)))
                                continue;
                        if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0) {
                                r = -errno;
                                char name[32];
                                error_set(err, WBEM_E_FAILED,
                                          "cannot drop %s from the bounding set: %s",
                                          privdrop_format(PRIVDROP_CAP(cap), name, sizeof(name)),
                                          strerror(-r));
                                return r;
                        }
                }
        }
        /* EINVAL: a kernel before 4.3 has no ambient set to clear. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
                r = -errno;
                error_set(err, WBEM_E_FAILED, "cannot clear the ambient capabilities: %s",
                          strerror(-r));
                return r;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                r = -errno;
                error_set(err, WBEM_E_FAILED, "cannot set no_new_privs: %s", strerror(-r));
                return r;
        }
        r = privdrop_set(keep, keep, 0);
        if (r < 0) {
                error_set(err, WBEM_E_FAILED, "cannot drop capabilities (capset): %s",
                          strerror(-r));
                return r;
        }
        /* Trust, but verify: what the kernel says now. */
        r = privdrop_get(&eff, &prm, &inh);
        if (r == 0 && (eff != keep || prm != keep || inh != 0))
                r = -EPERM;
        if (r < 0) {
                char have[512];
                error_set(err, WBEM_E_FAILED,
                          "capabilities not dropped as asked: still permitted %s",
                          privdrop_format(prm, have, sizeof(have)));
                return r;
        }
        res.kept = keep;
        res.bounding = privdrop_bounding();
        if (ret)
                *ret = res;
        return 0;
}
