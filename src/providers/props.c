/* Typed property setters and text conversion for providers; see props.h. */
#include "props.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "mem.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t props_utf8_seq(const unsigned char *p, size_t avail) {
        unsigned char c = p[0];
        if (c >= 0x01 && c <= 0x7f)
                return 1;
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
        if (c >= 0xc2 && c <= 0xdf)
                n = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                if (c == 0xe0)
                        lo = 0xa0; /* overlong */
                else if (c == 0xed)
                        hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                if (c == 0xf0)
                        lo = 0x90; /* overlong */
                else if (c == 0xf4)
                        hi = 0x8f; /* above U+10FFFF */
        } else
                return 0;
        if (avail < n || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t k = 2; k < n; k++)
                if (p[k] < 0x80 || p[k] > 0xbf)
                        return 0;
        return n;
}

char *props_utf8_dup(const char *bytes, size_t len) {
        static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
        const unsigned char *in = (const unsigned char *)bytes;

        size_t out_len = 0;
        for (size_t k = 0; k < len;) {
                size_t n = props_utf8_seq(in + k, len - k);
                out_len += n ? n : sizeof(replacement) - 1;
                k += n ? n : 1;
        }
        char *out = mem_malloc(out_len + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        for (size_t k = 0; k < len;) {
                size_t n = props_utf8_seq(in + k, len - k);
                if (n) {
                        memcpy(out + o, in + k, n);
                        o += n;
                        k += n;
                } else {
                        memcpy(out + o, replacement, sizeof(replacement) - 1);
                        o += sizeof(replacement) - 1;
                        k++;
                }
        }
        out[o] = '\0';
        return out;
}

/* Hand v to the instance; on failure v is released here. */
static int props_take(Instance *i, const char *name, Value *v, Error *err) {
        int r = instance_set_take(i, name, v, err);
        if (r != 0)
                value_clear(v);
        return r;
}

int props_set_bytes(Instance *i, const char *name, const char *bytes, size_t len, Error *err) {
        if (!bytes)
                return props_set_string(i, name, NULL, err);
        char *s = props_utf8_dup(bytes, len);
        if (!s)
                return -ENOMEM;
        /* Built in place to avoid a second copy; this is value_string()'s
         * result without the strdup. */
        Value v = { .type = CIM_STRING, .s = s };
        return props_take(i, name, &v, err);
}

int props_set_string(Instance *i, const char *name, const char *s, Error *err) {
        if (!s) {
                Value v = value_null(CIM_STRING, false);
                return props_take(i, name, &v, err);
        }
        return props_set_bytes(i, name, s, strlen(s), err);
}

int props_set_uint(Instance *i, const char *name, CimType t, uint64_t v, Error *err) {
        Value val = value_uint(t, v);
        return props_take(i, name, &val, err);
}

int props_set_sint(Instance *i, const char *name, CimType t, int64_t v, Error *err) {
        Value val = value_sint(t, v);
        return props_take(i, name, &val, err);
}

int props_set_real64(Instance *i, const char *name, double v, Error *err) {
        Value val = value_real(CIM_REAL64, v);
        return props_take(i, name, &val, err);
}

int16_t props_utc_offset_min(int64_t sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        if (!localtime_r(&t, &tm))
                return 0;
        long min = tm.tm_gmtoff / 60;
        /* DMTF offsets have three digits and a sign. */
        if (min > 999 || min < -999)
                return 0;
        return (int16_t)min;
}

int props_set_local_datetime(Instance *i, const char *name, int64_t usec, Error *err) {
        int64_t sec = usec / 1000000;
        CimDatetime dt = cim_datetime_from_unix_usec(usec, props_utc_offset_min(sec));
        Value v = value_datetime(dt);
        return props_take(i, name, &v, err);
}

int props_one_class(const char *name, bool is_singleton, const CimPropertySpec *specs, size_t n,
                    CimClass ***ret, size_t *ret_count, Error *err) {
        CimClass *cls = NULL;
        int r = class_new_from_specs(name, NULL, is_singleton, specs, n, &cls, err);
        if (r != 0)
                return r;
        CimClass **classes = mem_malloc(sizeof(CimClass *));
        if (!classes) {
                class_unref(cls);
                return -ENOMEM;
        }
        classes[0] = cls;
        *ret = classes;
        *ret_count = 1;
        return 0;
}
