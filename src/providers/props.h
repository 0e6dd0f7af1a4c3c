/* Filling provider instances: typed setters that build the Value, hand it to
 * instance_set_take(), and release it on failure, plus the conversions the
 * providers share (system bytes to valid UTF-8, a Unix time to a CIM
 * datetime with the local UTC offset).
 *
 * Text from the system (command names, command lines, paths, user names) is
 * bytes, not UTF-8; Value strings must be UTF-8 (the JSON encoder refuses
 * anything else), so every string goes through props_utf8_dup(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "value.h"

/* A NUL-terminated copy of [bytes, bytes + len) in which every byte sequence
 * that is not valid UTF-8 (and every NUL) is replaced by U+FFFD. NULL on
 * out-of-memory. */
char *props_utf8_dup(const char *bytes, size_t len);

/* Setters. They return 0, -ENOMEM, or the WbemStatus of instance_set_take()
 * (a property the class lacks, a value out of the property's range). */
int props_set_bytes(Instance *i, const char *name, const char *bytes, size_t len, Error *err);
int props_set_string(Instance *i, const char *name, const char *s, Error *err); /* NULL: NULL */
int props_set_uint(Instance *i, const char *name, CimType t, uint64_t v, Error *err);
int props_set_sint(Instance *i, const char *name, CimType t, int64_t v, Error *err);
int props_set_real64(Instance *i, const char *name, double v, Error *err);
/* usec since the epoch, written with the local UTC offset in force then. */
int props_set_local_datetime(Instance *i, const char *name, int64_t usec, Error *err);

/* A provider's get_classes answer for a provider of one class: the
 * definition built from specs, in a one-element array (see ProviderOps). */
int props_one_class(const char *name, bool is_singleton, const CimPropertySpec *specs, size_t n,
                    CimClass ***ret, size_t *ret_count, Error *err);

/* The local time zone's offset from UTC, in minutes, at time `sec`. */
int16_t props_utc_offset_min(int64_t sec);
