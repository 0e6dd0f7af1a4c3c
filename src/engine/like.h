/* WQL LIKE patterns and the case-insensitive text comparison WQL uses for
 * strings.
 *
 * Pattern syntax (WMI's):
 *   %        any run of characters, also none
 *   _        exactly one character (a UTF-8 character, not a byte)
 *   [abc]    one character of the set;  [a-z] or [a=z] a range (WMI
 *            documents '='; '-' is accepted as well);  [^...] one
 *            character not in the set;  [%] [_] [[] the character itself
 *   other    the character itself
 * There is no escape character: a backslash in a pattern is an ordinary
 * character (the string literal's own escapes are already resolved). Inside
 * a set, a ']' right after '[' or '[^' is a member, and a '-' or '=' that
 * cannot form a range (first or last) is a member. A '[' with no closing
 * ']' is an ordinary character. A range whose ends are reversed ([z-a])
 * matches nothing.
 *
 * Matching is case-insensitive, as in WMI: characters are compared after
 * simple case folding of ASCII, Latin-1, Latin Extended-A, Greek and
 * Cyrillic letters; other characters compare exactly. A range matches a
 * character when the character or its other case lies in it.
 *
 * Text that is not valid UTF-8 is matched byte by byte for the invalid
 * bytes (each is one "character" equal only to itself), never rejected.
 *
 * The matcher is iterative, allocates nothing, and runs in O(pattern x
 * text) at worst: only the last '%' is ever backtracked to, so patterns
 * like '%a%a%a%a%b' cannot blow up. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Whether text matches pattern (both NUL-terminated UTF-8). */
bool like_match(const char *pattern, const char *text);

/* Case-insensitive comparison with the same folding: <0, 0 or >0 by folded
 * code points (a proper prefix sorts first). */
int like_text_compare(const char *a, const char *b);

/* A hash of the folded code points that agrees with like_text_compare():
 * texts that compare equal hash equally (the dispatcher's equality index
 * keys string literals with it). */
uint64_t like_text_hash(const char *s);

/* The folded (lower case) form of a code point, and the upper case one;
 * code points without case map to themselves. */
uint32_t like_fold_lower(uint32_t cp);
uint32_t like_fold_upper(uint32_t cp);
