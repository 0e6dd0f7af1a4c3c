/* Logging for lwmid: one line per event on stderr, "<level> lwmid: message".
 *
 * When stderr is connected to the journal (systemd sets JOURNAL_STREAM to
 * the device:inode of that stream) each line starts with a syslog priority
 * prefix "<3>".."<7>" so journald records the level; otherwise it starts with
 * an ISO 8601 timestamp. Control characters in a message (a client's name, a
 * path) are escaped so an event can never span two lines.
 *
 * The maximum level is process-wide state (STYLE.md allows the log level as
 * a global): SIGHUP may change it. */
#pragma once

#include <stdbool.h>

typedef enum LogLevel {
        LOG_LEVEL_ERROR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
} LogLevel;

/* Decide the line prefix from the environment (JOURNAL_STREAM against
 * stderr); call once at startup. */
void log_open(void);

void log_set_max_level(LogLevel level);
LogLevel log_get_max_level(void);
static inline bool log_enabled(LogLevel level) {
        return level <= log_get_max_level();
}

/* "error", "warning", "info", "debug". */
const char *log_level_name(LogLevel level);
/* Parse a level name (case-insensitive); -1 when unknown. */
int log_level_from_name(const char *name);

void log_emit(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_emit(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                          \
        do {                                                    \
                if (log_enabled(LOG_LEVEL_DEBUG))               \
                        log_emit(LOG_LEVEL_DEBUG, __VA_ARGS__); \
        } while (0)
