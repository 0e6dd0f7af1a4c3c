/* One-line-per-event logging to stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Process-wide by design: the level is one of the globals STYLE.md allows,
 * and the prefix choice is fixed at startup. */
static LogLevel max_level = LOG_LEVEL_INFO;
static bool to_journal;

void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;

        to_journal = false;
        /* Only trust JOURNAL_STREAM when it names our actual stderr: a child
         * started from a journal-connected shell inherits the variable but
         * may have stderr redirected to a file. */
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return;
        if (fstat(STDERR_FILENO, &st) < 0)
                return;
        to_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_max_level(LogLevel level) {
        max_level = level;
}

LogLevel log_get_max_level(void) {
        return max_level;
}

const char *log_level_name(LogLevel level) {
        switch (level) {
        case LOG_LEVEL_ERROR:
                return "error";
        case LOG_LEVEL_WARNING:
                return "warning";
        case LOG_LEVEL_INFO:
                return "info";
        case LOG_LEVEL_DEBUG:
                return "debug";
        }
        return "unknown";
}

int log_level_from_name(const char *name) {
        static const LogLevel all[] = { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO,
                                        LOG_LEVEL_DEBUG };
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
                if (strcasecmp(name, log_level_name(all[i])) == 0)
                        return (int)all[i];
        return -1;
}

/* Copy src to dst escaping control bytes as \xNN, always NUL-terminating;
 * an event stays one line whatever a peer put in its name. */
static void escape_into(char *dst, size_t size, const char *src) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
                if (*p < 0x20 || *p == 0x7f) {
                        if (o + 4 >= size)
                                break;
                        dst[o++] = '\\';
                        dst[o++] = 'x';
                        dst[o++] = hex[*p >> 4];
                        dst[o++] = hex[*p & 0xf];
                } else {
                        if (o + 1 >= size)
                                break;
                        dst[o++] = (char)*p;
                }
        }
        dst[o] = '\0';
}

void log_emit(LogLevel level, const char *fmt, ...) {
        char raw[2048], msg[4096], prefix[64];
        va_list ap;

        if (!log_enabled(level))
                return;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        escape_into(msg, sizeof(msg), raw);

        if (to_journal) {
                snprintf(prefix, sizeof(prefix), "<%d>", (int)level);
        } else {
                struct timeval tv;
                struct tm tm;
                char date[32], zone[8];

                gettimeofday(&tv, NULL);
                localtime_r(&tv.tv_sec, &tm);
                strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
                strftime(zone, sizeof(zone), "%z", &tm);
                snprintf(prefix, sizeof(prefix), "%s.%03ld%s ", date, (long)(tv.tv_usec / 1000),
                         zone);
        }
        /* One fprintf per line: stderr is unbuffered, so a single call keeps
         * concurrent writers (none today) from interleaving within a line. */
        fprintf(stderr, "%s%s lwmid: %s\n", prefix, log_level_name(level), msg);
}
