/* Names in CIM are case-insensitive for lookup and keep their spelling for
 * display, as in WMI. Comparison folds ASCII letters only: WMI's folding of
 * non-ASCII identifiers is not reproduced, so "Ä" and "ä" are different
 * names (documented in docs/wql.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

bool name_equal(const char *a, const char *b);
int name_compare(const char *a, const char *b);
/* Identifier rule for class and property names: a letter (ASCII or any
 * non-ASCII UTF-8 byte) or '_', then letters, digits, '_'. */
bool name_is_valid(const char *s);
/* Hash that agrees with name_equal (FNV-1a over folded bytes). */
size_t name_hash(const char *s);
