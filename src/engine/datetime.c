/* CIM datetimes in DMTF text form.
 *
 * A timestamp "yyyymmddHHMMSS.mmmmmmsUUU" is a local time and its offset from
 * UTC in minutes (s is '+' or '-'); lwmi keeps it as microseconds since the
 * Unix epoch in UTC so comparisons need no time-zone rules, plus the offset
 * for display. An interval "ddddddddHHMMSS.mmmmmm:000" is a duration.
 *
 * Every field is checked against its range (month 01-12, the day against the
 * month's length in the proleptic Gregorian calendar with leap years, hours
 * 00-23, minutes and seconds 00-59, no leap second, year 0001-9999, offset at
 * most 840 minutes either way, as no time zone is further than UTC+14). The
 * DMTF wildcard '*' for unknown fields is not supported. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "value.h"

#define USEC_PER_SEC INT64_C(1000000)
#define USEC_PER_DAY (INT64_C(86400) * USEC_PER_SEC)
#define DMTF_LEN 25
#define MAX_OFFSET_MIN 840
#define MAX_INTERVAL_DAYS INT64_C(99999999)

static bool is_leap_year(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date: count in 400-year
 * eras of a calendar that starts on March 1, so the leap day is the last day
 * of its year and month lengths follow a fixed pattern. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        if (m <= 2)
                y--;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;                          /* 0..399 */
        int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9; /* March = 0 */
        int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;    /* 0..365 */
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1;
        int64_t m = mp < 10 ? mp + 3 : mp - 9;
        *ret_y = yoe + era * 400 + (m <= 2);
        *ret_m = (unsigned)m;
        *ret_d = (unsigned)d;
}

/* Read `len` decimal digits at text+off. */
static bool read_digits(const char *text, size_t off, size_t len, int64_t *ret) {
        int64_t v = 0;
        for (size_t i = off; i < off + len; i++) {
                if (text[i] < '0' || text[i] > '9')
                        return false;
                v = v * 10 + (text[i] - '0');
        }
        *ret = v;
        return true;
}

typedef struct Field {
        const char *name;
        size_t off, len;
        int64_t min, max;
        const char *range;
} Field;

static int read_field(const char *text, const Field *f, int64_t *ret, Error *err) {
        int64_t v;
        if (!read_digits(text, f->off, f->len, &v))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "invalid datetime '%.40s': %s must be %zu digits", text, f->name,
                                 f->len);
        if (v < f->min || v > f->max)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "invalid datetime '%.40s': %s %0*" PRId64 " out of range %s", text,
                                 f->name, (int)f->len, v, f->range);
        *ret = v;
        return 0;
}

int cim_datetime_parse(const char *text, CimDatetime *ret, Error *err) {
        static const Field f_hour = { "hours", 8, 2, 0, 23, "00-23" };
        static const Field f_min = { "minutes", 10, 2, 0, 59, "00-59" };
        static const Field f_sec = { "seconds", 12, 2, 0, 59, "00-59" };
        static const Field f_usec = { "microseconds", 15, 6, 0, 999999, "000000-999999" };
        static const Field f_days = { "days", 0, 8, 0, MAX_INTERVAL_DAYS, "00000000-99999999" };
        static const Field f_year = { "year", 0, 4, 1, 9999, "0001-9999" };
        static const Field f_month = { "month", 4, 2, 1, 12, "01-12" };
        static const Field f_offset = { "UTC offset", 22, 3, 0, MAX_OFFSET_MIN, "000-840" };
        int64_t hour, min, sec, usec;
        int r;

        size_t len = strlen(text);
        if (len != DMTF_LEN)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "invalid datetime '%.40s': expected 25 characters, got %zu", text,
                                 len);
        if (strchr(text, '*'))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "invalid datetime '%.40s': wildcards ('*') are not supported",
                                 text);
        if (text[14] != '.')
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "invalid datetime '%.40s': expected '.' at position 15", text);
        if ((r = read_field(text, &f_hour, &hour, err)) ||
            (r = read_field(text, &f_min, &min, err)) ||
            (r = read_field(text, &f_sec, &sec, err)) ||
            (r = read_field(text, &f_usec, &usec, err)))
                return r;
        int64_t time_usec = ((hour * 60 + min) * 60 + sec) * USEC_PER_SEC + usec;

        if (text[21] == ':') {
                int64_t days;
                if ((r = read_field(text, &f_days, &days, err)))
                        return r;
                if (memcmp(text + 22, "000", 3) != 0)
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "invalid datetime '%.40s': an interval must end in ':000'",
                                         text);
                *ret = (CimDatetime){ .is_interval = true,
                                      .usec = days * USEC_PER_DAY + time_usec };
                return 0;
        }
        if (text[21] != '+' && text[21] != '-')
                return error_set(
                        err, WBEM_E_INVALID_PARAMETER,
                        "invalid datetime '%.40s': expected '+', '-' or ':' at position 22", text);

        int64_t year, month, day, offset;
        if ((r = read_field(text, &f_year, &year, err)) ||
            (r = read_field(text, &f_month, &month, err)))
                return r;
        if (!read_digits(text, 6, 2, &day))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "invalid datetime '%.40s': day must be 2 digits", text);
        unsigned mdays = days_in_month(year, (unsigned)month);
        if (day < 1 || day > mdays)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "invalid datetime '%.40s': day %02d out of range 01-%02u for "
                                 "%04d-%02d",
                                 text, (int)day, mdays, (int)year, (int)month);
        if ((r = read_field(text, &f_offset, &offset, err)))
                return r;
        if (text[21] == '-')
                offset = -offset;

        int64_t local =
                days_from_civil(year, (unsigned)month, (unsigned)day) * USEC_PER_DAY + time_usec;
        *ret = (CimDatetime){
                .is_interval = false,
                .utc_offset_min = (int16_t)offset,
                .usec = local - offset * 60 * USEC_PER_SEC,
        };
        return 0;
}

static void put_digits(char *p, int64_t v, size_t width) {
        for (size_t i = width; i > 0; i--) {
                p[i - 1] = (char)('0' + v % 10);
                v /= 10;
        }
}

static int64_t floor_div(int64_t a, int64_t b, int64_t *ret_rem) {
        int64_t q = a / b, r = a % b;
        if (r < 0) {
                q--;
                r += b;
        }
        *ret_rem = r;
        return q;
}

/* Values outside what the text can show (years 0001-9999, intervals of up to
 * 99999999 days, offsets of up to 999 minutes) are clamped to the nearest
 * representable one, so the output is always 25 valid characters. */
void cim_datetime_format(const CimDatetime *dt, char buf[static 26]) {
        int64_t usec = dt->usec;

        if (dt->is_interval) {
                int64_t max = (MAX_INTERVAL_DAYS + 1) * USEC_PER_DAY - 1;
                if (usec < 0)
                        usec = 0;
                if (usec > max)
                        usec = max;
                int64_t rem;
                int64_t days = floor_div(usec, USEC_PER_DAY, &rem);
                put_digits(buf, days, 8);
                put_digits(buf + 8, rem / (3600 * USEC_PER_SEC), 2);
                put_digits(buf + 10, rem / (60 * USEC_PER_SEC) % 60, 2);
                put_digits(buf + 12, rem / USEC_PER_SEC % 60, 2);
                buf[14] = '.';
                put_digits(buf + 15, rem % USEC_PER_SEC, 6);
                memcpy(buf + 21, ":000", 5);
                return;
        }

        int64_t offset = dt->utc_offset_min;
        if (offset > 999)
                offset = 999;
        if (offset < -999)
                offset = -999;
        int64_t lo = days_from_civil(1, 1, 1) * USEC_PER_DAY;
        int64_t hi = days_from_civil(10000, 1, 1) * USEC_PER_DAY - 1;
        int64_t slack = 1000 * 60 * USEC_PER_SEC;
        if (usec < lo - slack)
                usec = lo - slack;
        if (usec > hi + slack)
                usec = hi + slack;
        int64_t local = usec + offset * 60 * USEC_PER_SEC;
        if (local < lo)
                local = lo;
        if (local > hi)
                local = hi;

        int64_t rem, year;
        unsigned month, day;
        civil_from_days(floor_div(local, USEC_PER_DAY, &rem), &year, &month, &day);
        put_digits(buf, year, 4);
        put_digits(buf + 4, month, 2);
        put_digits(buf + 6, day, 2);
        put_digits(buf + 8, rem / (3600 * USEC_PER_SEC), 2);
        put_digits(buf + 10, rem / (60 * USEC_PER_SEC) % 60, 2);
        put_digits(buf + 12, rem / USEC_PER_SEC % 60, 2);
        buf[14] = '.';
        put_digits(buf + 15, rem % USEC_PER_SEC, 6);
        buf[21] = offset < 0 ? '-' : '+';
        put_digits(buf + 22, offset < 0 ? -offset : offset, 3);
        buf[25] = '\0';
}

CimDatetime cim_datetime_from_unix_usec(int64_t usec, int16_t utc_offset_min) {
        return (CimDatetime){ .is_interval = false,
                              .utc_offset_min = utc_offset_min,
                              .usec = usec };
}
