/* Reading and parsing the kernel's text files under /proc for the providers.
 *
 * Every read is bounded (a file larger than the caller's limit is cut
 * there) and relative to an open directory descriptor, so a provider opens
 * /proc/PID once and reads its files with openat() without following any
 * symlink on the way. The parsers take text with an explicit length (it need
 * not be NUL-terminated and may hold NUL bytes), never trust its shape, and
 * answer -EBADMSG for content they do not understand. They allocate nothing,
 * which keeps them easy to fuzz (fuzz/fuzz-procfs.c).
 *
 * Errors are negative errnos as the system gave them: callers decide which
 * ones mean "the process is gone" (-ENOENT, -ESRCH) and which are failures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what is read from one file. A command line longer than
 * PROCFS_CMDLINE_MAX bytes is cut there; PROCFS_TEXT_MAX bounds the other
 * files read whole (cgroup, os-release, meminfo). */
#define PROCFS_CMDLINE_MAX (64 * 1024)
#define PROCFS_TEXT_MAX (64 * 1024)

/* Kernel task flags (include/linux/sched.h): a kernel thread; a process
 * forked and not (yet) through execve() (cleared at the exec's point of no
 * return, before the new image is set up). */
#define PROCFS_PF_KTHREAD 0x00200000u
#define PROCFS_PF_FORKNOEXEC 0x00000040u

/* The fields of /proc/PID/stat the providers use (proc(5) numbering). */
typedef struct ProcStat {
        uint32_t pid;     /* 1 */
        const char *comm; /* 2: points into the parsed text, not NUL-terminated */
        size_t comm_len;
        char state;          /* 3 */
        int64_t ppid;        /* 4 */
        int64_t session;     /* 6 */
        uint64_t flags;      /* 9 */
        uint64_t utime;      /* 14, clock ticks */
        uint64_t stime;      /* 15, clock ticks */
        int64_t priority;    /* 18 */
        int64_t num_threads; /* 20 */
        uint64_t starttime;  /* 22, clock ticks after boot */
        uint64_t vsize;      /* 23, bytes */
        int64_t rss;         /* 24, pages */
} ProcStat;

/* The fields of /proc/PID/status the providers use. */
typedef struct ProcStatus {
        uint32_t tgid; /* thread group: equals the pid for a process */
        uint32_t uid_real;
} ProcStatus;

typedef struct ProcMeminfo {
        uint64_t total_kib;     /* MemTotal */
        uint64_t available_kib; /* MemAvailable, or MemFree on kernels without it */
} ProcMeminfo;

/* Read the file `name` under dirfd into buf (size >= 1), at most size - 1
 * bytes, NUL-terminated; *ret_len gets the byte count. Does not follow a
 * symlink at `name`. Returns 0 or a negative errno. */
int procfs_read_small_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len);

/* Read the file `name` under dirfd into a new mem_malloc() buffer, at most
 * `max` bytes (the rest is not read), NUL-terminated. *ret_truncated (may be
 * NULL) tells whether the file had more. Returns 0, -ENOMEM, or the errno of
 * open/read. */
int procfs_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
                   bool *ret_truncated);

/* The same for a path that may be a symlink (configuration files such as
 * /etc/os-release, often a link into /usr/lib). */
int procfs_read_path(const char *path, size_t max, char **ret, size_t *ret_len,
                     bool *ret_truncated);

/* Parse /proc/PID/stat. The command name may hold spaces and parentheses:
 * it runs from the first '(' to the last ')'. Returns 0 or -EBADMSG. */
int procfs_stat_parse(const char *text, size_t len, ProcStat *ret);

/* Parse the Tgid and Uid lines of /proc/PID/status. 0 or -EBADMSG. */
int procfs_status_parse(const char *text, size_t len, ProcStatus *ret);

/* Find the unified (cgroup v2) hierarchy's path, the line "0::PATH", in
 * /proc/PID/cgroup. 0 with *ret and *ret_len pointing into text, or -ENOENT when
 * the process is in no unified hierarchy (a cgroup v1-only system). */
int procfs_cgroup_unified(const char *text, size_t len, const char **ret, size_t *ret_len);

/* Parse /proc/meminfo. 0 or -EBADMSG (MemTotal missing or malformed). */
int procfs_meminfo_parse(const char *text, size_t len, ProcMeminfo *ret);

/* Parse the three load averages of /proc/loadavg. 0 or -EBADMSG. */
int procfs_loadavg_parse(const char *text, size_t len, double ret[static 3]);

/* Parse the whole seconds of uptime from /proc/uptime. 0 or -EBADMSG. */
int procfs_uptime_parse(const char *text, size_t len, uint64_t *ret_sec);

/* The boot time (seconds since the epoch) from the btime line of the file
 * "stat" under proc_fd (/proc/stat). The file is scanned in a fixed buffer,
 * so its size (an "intr" line of thousands of numbers) does not matter.
 * Returns 0, -EBADMSG when there is no btime line, or an errno. */
int procfs_boot_time(int proc_fd, int64_t *ret_sec);

/* Whether a /proc directory entry names a process: decimal digits without a
 * leading zero, fitting a pid (<= UINT32_MAX). */
bool procfs_pid_from_name(const char *name, uint32_t *ret);

/* Count the process entries of the directory proc_fd (a readdir, no file
 * read). proc_fd stays open and usable. Returns 0 or a negative errno. */
int procfs_count_processes(int proc_fd, uint32_t *ret);
