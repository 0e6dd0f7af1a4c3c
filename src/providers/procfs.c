/* Bounded reads and defensive parsers for /proc text; see procfs.h.
 *
 * The parsers walk [text, text + len) with explicit bounds and treat any
 * surprise (a missing field, a number too large, a stray byte) as -EBADMSG:
 * /proc's formats are stable, but a provider must not crash on a kernel that
 * adds or changes something, nor on a fake tree in a test. */
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"

static void procfs_closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(procfs_closep)

static int procfs_open_at(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

/* Read up to size bytes; stops early only at end of file. */
static ssize_t procfs_read_full(int fd, char *buf, size_t size) {
        size_t done = 0;
        while (done < size) {
                ssize_t n = read(fd, buf + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

int procfs_read_small_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len) {
        if (size == 0)
                return -EINVAL;
        _cleanup_close_ int fd = procfs_open_at(dirfd, name);
        if (fd < 0)
                return fd;
        ssize_t n = procfs_read_full(fd, buf, size - 1);
        if (n < 0)
                return (int)n;
        buf[n] = '\0';
        *ret_len = (size_t)n;
        return 0;
}

/* Read an open file whole into a new buffer, at most max bytes. */
static int procfs_read_fd(int fd, size_t max, char **ret, size_t *ret_len, bool *ret_truncated) {
        if (max == 0 || max > SIZE_MAX / 4)
                return -EINVAL;

        /* cap counts the terminating NUL: at most max bytes of data. */
        size_t cap = max < 1024 ? max + 1 : 1024, len = 0;
        _cleanup_free_ char *buf = mem_malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap - 1) {
                        if (len == max)
                                break;
                        size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
                        char *nbuf = mem_realloc(buf, ncap);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                        cap = ncap;
                }
                ssize_t n = read(fd, buf + len, cap - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }

        bool truncated = false;
        if (len == max) {
                char probe;
                ssize_t n = procfs_read_full(fd, &probe, 1);
                if (n < 0)
                        return (int)n;
                truncated = n > 0;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        if (ret_truncated)
                *ret_truncated = truncated;
        return 0;
}

int procfs_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
                   bool *ret_truncated) {
        _cleanup_close_ int fd = procfs_open_at(dirfd, name);
        if (fd < 0)
                return fd;
        return procfs_read_fd(fd, max, ret, ret_len, ret_truncated);
}

int procfs_read_path(const char *path, size_t max, char **ret, size_t *ret_len,
                     bool *ret_truncated) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return procfs_read_fd(fd, max, ret, ret_len, ret_truncated);
}

/* A bounded scanner over text. */
typedef struct ProcfsScan {
        const char *p, *end;
} ProcfsScan;

static bool procfs_scan_digit(const ProcfsScan *s) {
        return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* Decimal digits into an unsigned 64-bit number, overflow-checked. */
static bool procfs_scan_u64(ProcfsScan *s, uint64_t *ret) {
        if (!procfs_scan_digit(s))
                return false;
        uint64_t v = 0;
        while (procfs_scan_digit(s)) {
                unsigned d = (unsigned)(*s->p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
                s->p++;
        }
        *ret = v;
        return true;
}

/* Optional '-' then digits; the magnitude must fit int64_t. */
static bool procfs_scan_i64(ProcfsScan *s, int64_t *ret) {
        bool negative = s->p < s->end && *s->p == '-';
        if (negative)
                s->p++;
        uint64_t mag;
        if (!procfs_scan_u64(s, &mag) || mag > (uint64_t)INT64_MAX)
                return false;
        *ret = negative ? -(int64_t)mag : (int64_t)mag;
        return true;
}

static bool procfs_scan_char(ProcfsScan *s, char c) {
        if (s->p >= s->end || *s->p != c)
                return false;
        s->p++;
        return true;
}

static void procfs_scan_blanks(ProcfsScan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
                s->p++;
}

/* Advance past the next '\n' (or to the end); false at the end. */
static bool procfs_scan_next_line(ProcfsScan *s) {
        const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
        if (!nl) {
                s->p = s->end;
                return false;
        }
        s->p = nl + 1;
        return s->p < s->end;
}

/* Whether the text at s starts with prefix. */
static bool procfs_scan_at(const ProcfsScan *s, const char *prefix) {
        size_t n = strlen(prefix);
        return (size_t)(s->end - s->p) >= n && memcmp(s->p, prefix, n) == 0;
}

/* Whether the text at s starts with prefix; if so, step over it. */
static bool procfs_scan_prefix(ProcfsScan *s, const char *prefix) {
        if (!procfs_scan_at(s, prefix))
                return false;
        s->p += strlen(prefix);
        return true;
}

/* Fields 4..24 of /proc/PID/stat are all read as signed numbers (tty_nr,
 * tpgid, cutime, priority may be negative); those the kernel prints
 * unsigned and we keep must not carry a sign. Fields after 24 are ignored:
 * later kernels add more, and a bounded read may cut them. */
int procfs_stat_parse(const char *text, size_t len, ProcStat *ret) {
        ProcfsScan s = { text, text + len };
        uint64_t pid;
        if (!procfs_scan_u64(&s, &pid) || pid > UINT32_MAX || !procfs_scan_char(&s, ' '))
                return -EBADMSG;
        if (!procfs_scan_char(&s, '('))
                return -EBADMSG;
        const char *comm = s.p;
        const char *rparen = memrchr(comm, ')', (size_t)(s.end - comm));
        if (!rparen)
                return -EBADMSG;
        s.p = rparen + 1;
        if (!procfs_scan_char(&s, ' ') || s.p >= s.end || *s.p == ' ' || *s.p == '\n')
                return -EBADMSG;
        ProcStat st = {
                .pid = (uint32_t)pid,
                .comm = comm,
                .comm_len = (size_t)(rparen - comm),
                .state = *s.p++,
        };

        for (unsigned field = 4; field <= 24; field++) {
                if (!procfs_scan_char(&s, ' '))
                        return -EBADMSG;
                int64_t v;
                if (!procfs_scan_i64(&s, &v))
                        return -EBADMSG;
                switch (field) {
                case 4:
                        st.ppid = v;
                        break;
                case 6:
                        st.session = v;
                        break;
                case 9:
                        st.flags = (uint64_t)v;
                        break;
                case 14:
                        st.utime = (uint64_t)v;
                        break;
                case 15:
                        st.stime = (uint64_t)v;
                        break;
                case 18:
                        st.priority = v;
                        break;
                case 20:
                        st.num_threads = v;
                        break;
                case 22:
                        st.starttime = (uint64_t)v;
                        break;
                case 23:
                        st.vsize = (uint64_t)v;
                        break;
                case 24:
                        st.rss = v;
                        break;
                default:
                        break;
                }
                /* Unsigned kernel fields never print a sign. */
                if (v < 0 &&
                    (field == 9 || field == 14 || field == 15 || field == 22 || field == 23))
                        return -EBADMSG;
        }
        /* Field 24 must end there: a space, a newline or the end. */
        if (s.p < s.end && *s.p != ' ' && *s.p != '\n')
                return -EBADMSG;
        *ret = st;
        return 0;
}

/* "Key:<blanks>number" at the start of the line at s. */
static bool procfs_scan_keyed_u64(ProcfsScan *s, const char *key, uint64_t *ret) {
        ProcfsScan t = *s;
        if (!procfs_scan_prefix(&t, key) || !procfs_scan_char(&t, ':'))
                return false;
        procfs_scan_blanks(&t);
        if (!procfs_scan_u64(&t, ret))
                return false;
        s->p = t.p;
        return true;
}

int procfs_status_parse(const char *text, size_t len, ProcStatus *ret) {
        ProcfsScan s = { text, text + len };
        bool have_tgid = false, have_uid = false;
        ProcStatus st = { 0 };
        do {
                uint64_t v;
                if (!have_tgid && procfs_scan_at(&s, "Tgid:")) {
                        if (!procfs_scan_keyed_u64(&s, "Tgid", &v) || v > UINT32_MAX)
                                return -EBADMSG;
                        st.tgid = (uint32_t)v;
                        have_tgid = true;
                } else if (!have_uid && procfs_scan_at(&s, "Uid:")) {
                        /* Real, effective, saved, filesystem: the first. */
                        if (!procfs_scan_keyed_u64(&s, "Uid", &v) || v > UINT32_MAX)
                                return -EBADMSG;
                        st.uid_real = (uint32_t)v;
                        have_uid = true;
                }
                if (have_tgid && have_uid) {
                        *ret = st;
                        return 0;
                }
        } while (procfs_scan_next_line(&s));
        return -EBADMSG;
}

int procfs_cgroup_unified(const char *text, size_t len, const char **ret, size_t *ret_len) {
        ProcfsScan s = { text, text + len };
        if (len == 0)
                return -ENOENT;
        do {
                if (procfs_scan_prefix(&s, "0::")) {
                        const char *nl = memchr(s.p, '\n', (size_t)(s.end - s.p));
                        *ret = s.p;
                        *ret_len = (size_t)((nl ? nl : s.end) - s.p);
                        return 0;
                }
        } while (procfs_scan_next_line(&s));
        return -ENOENT;
}

int procfs_meminfo_parse(const char *text, size_t len, ProcMeminfo *ret) {
        ProcfsScan s = { text, text + len };
        bool have_total = false, have_available = false, have_free = false;
        uint64_t total = 0, available = 0, free_kib = 0;
        if (len == 0)
                return -EBADMSG;
        do {
                uint64_t v;
                if (procfs_scan_keyed_u64(&s, "MemTotal", &v)) {
                        total = v;
                        have_total = true;
                } else if (procfs_scan_keyed_u64(&s, "MemAvailable", &v)) {
                        available = v;
                        have_available = true;
                } else if (procfs_scan_keyed_u64(&s, "MemFree", &v)) {
                        free_kib = v;
                        have_free = true;
                }
        } while (procfs_scan_next_line(&s));
        if (!have_total || !(have_available || have_free))
                return -EBADMSG;
        *ret = (ProcMeminfo){
                .total_kib = total,
                .available_kib = have_available ? available : free_kib,
        };
        return 0;
}

/* A non-negative decimal with an optional fraction, without strtod(): its
 * result would depend on the process's locale. */
static bool procfs_scan_decimal(ProcfsScan *s, double *ret) {
        uint64_t whole;
        if (!procfs_scan_u64(s, &whole))
                return false;
        double v = (double)whole;
        if (procfs_scan_char(s, '.')) {
                double scale = 0.1;
                if (!procfs_scan_digit(s))
                        return false;
                while (procfs_scan_digit(s)) {
                        v += (*s->p - '0') * scale;
                        scale /= 10;
                        s->p++;
                }
        }
        *ret = v;
        return true;
}

int procfs_loadavg_parse(const char *text, size_t len, double ret[static 3]) {
        ProcfsScan s = { text, text + len };
        double v[3];
        for (size_t k = 0; k < 3; k++) {
                if (k > 0 && !procfs_scan_char(&s, ' '))
                        return -EBADMSG;
                if (!procfs_scan_decimal(&s, &v[k]))
                        return -EBADMSG;
        }
        if (s.p < s.end && *s.p != ' ' && *s.p != '\n')
                return -EBADMSG;
        memcpy(ret, v, sizeof(v));
        return 0;
}

int procfs_uptime_parse(const char *text, size_t len, uint64_t *ret_sec) {
        ProcfsScan s = { text, text + len };
        uint64_t sec;
        if (!procfs_scan_u64(&s, &sec))
                return -EBADMSG;
        if (s.p < s.end && *s.p != '.' && *s.p != ' ' && *s.p != '\n')
                return -EBADMSG;
        *ret_sec = sec;
        return 0;
}

/* Look for "btime N" at the start of one complete line. */
static bool procfs_btime_line(const char *line, size_t len, int64_t *ret) {
        ProcfsScan s = { line, line + len };
        int64_t v;
        if (!procfs_scan_prefix(&s, "btime ") || !procfs_scan_i64(&s, &v) || v < 0)
                return false;
        if (s.p != s.end)
                return false;
        *ret = v;
        return true;
}

int procfs_boot_time(int proc_fd, int64_t *ret_sec) {
        _cleanup_close_ int fd = procfs_open_at(proc_fd, "stat");
        if (fd < 0)
                return fd;

        /* Lines are handled whole; one longer than the buffer (the "intr"
         * line on a big machine) is skipped up to its newline. */
        char buf[4096];
        size_t have = 0;
        bool skipping = false;
        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                bool eof = n == 0;
                have += (size_t)n;

                size_t start = 0;
                for (;;) {
                        char *nl = memchr(buf + start, '\n', have - start);
                        size_t end = nl ? (size_t)(nl - buf) : have;
                        if (!nl && !eof)
                                break;
                        if (!skipping && procfs_btime_line(buf + start, end - start, ret_sec))
                                return 0;
                        skipping = false;
                        if (!nl) {
                                start = have;
                                break;
                        }
                        start = end + 1;
                }
                if (eof)
                        return -EBADMSG;
                memmove(buf, buf + start, have - start);
                have -= start;
                if (have == sizeof(buf)) {
                        skipping = true;
                        have = 0;
                }
        }
}

bool procfs_pid_from_name(const char *name, uint32_t *ret) {
        if (name[0] < '1' || name[0] > '9')
                return false;
        uint64_t v = 0;
        for (const char *p = name; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (uint64_t)(*p - '0');
                if (v > UINT32_MAX)
                        return false;
        }
        *ret = (uint32_t)v;
        return true;
}

int procfs_count_processes(int proc_fd, uint32_t *ret) {
        /* A fresh open file description: its own position, closed with the DIR. */
        int fd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *dir = fdopendir(fd);
        if (!dir) {
                int r = -errno;
                close(fd);
                return r;
        }
        uint32_t count = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(dir);
                if (!de) {
                        int r = -errno;
                        closedir(dir);
                        if (r < 0)
                                return r;
                        break;
                }
                uint32_t pid;
                if (procfs_pid_from_name(de->d_name, &pid) && count < UINT32_MAX)
                        count++;
        }
        *ret = count;
        return 0;
}
