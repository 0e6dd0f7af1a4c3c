/* The dispatcher: routes each event to the calls whose filter matches it,
 * touching only filters that can match (events_internal.h draws the data).
 *
 * An event of class C in namespace N visits the native buckets (N, D, X)
 * for D in C and its ancestors (so __InstanceOperationEvent filters see all
 * three intrinsic kinds, __ExtrinsicEvent filters every extrinsic event) and,
 * for intrinsic events, X in the class of TargetInstance and its ancestors
 * (an instance of a subclass of X matches `TargetInstance ISA 'X'`). Each
 * visit is one probe of the bucket table. In a bucket, the scan list is
 * evaluated, then for every indexed property path the event's value is
 * normalized into a key and the equality table probed once: the cost of an
 * event grows with the buckets and paths it meets and the filters it
 * matches, not with the number of registrations.
 *
 * The tables are chained hash tables with the links inside the objects
 * (filters, buckets), so an entry costs one pointer of table plus its
 * links; they grow at load 1 and shrink at 1/4 so that memory goes back
 * when registrations go. Insertion never fails: callers reserve room first.
 *
 * Delivery runs SinkOps callbacks inline; they must not cancel calls or
 * raise events (events.h), so the walks below need no protection against
 * the lists changing under them. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "events_internal.h"
#include "like.h"
#include "mem.h"
#include "names.h"

#define TABLE_MIN 16

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

static uint64_t mix64(uint64_t x) {
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9u;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebu;
        x ^= x >> 31;
        return x;
}

/* ---- equality keys ---------------------------------------------------------- */

static bool key_from_real(double r, EqKey *ret) {
        if (isnan(r))
                return false;
        if (r == trunc(r) && r >= 0 && r < 18446744073709551616.0) {
                ret->domain = EQ_UINT;
                ret->v.u = (uint64_t)r;
        } else if (r == trunc(r) && r < 0 && r >= -9223372036854775808.0) {
                ret->domain = EQ_SINT;
                ret->v.i = (int64_t)r;
        } else {
                ret->domain = EQ_REAL;
                ret->v.r = r;
        }
        return true;
}

static void key_from_sint(int64_t i, EqKey *ret) {
        if (i >= 0) {
                ret->domain = EQ_UINT;
                ret->v.u = (uint64_t)i;
        } else {
                ret->domain = EQ_SINT;
                ret->v.i = i;
        }
}

static void key_hash(EqKey *k) {
        uint64_t bits;
        switch (k->domain) {
        case EQ_STRING:
                k->hash = like_text_hash(k->v.s);
                return;
        case EQ_BOOL:
                bits = k->v.b;
                break;
        case EQ_REAL:
                memcpy(&bits, &k->v.r, sizeof(bits));
                break;
        default:
                bits = k->v.u;
                break;
        }
        k->hash = mix64(bits ^ ((uint64_t)k->domain << 56));
}

bool eq_key_from_value(const Value *v, EqKey *ret) {
        EqKey k = { .domain = EQ_NONE };
        if (v->is_null || v->is_array)
                return false;
        switch (v->type) {
        case CIM_STRING:
        case CIM_REFERENCE:
                k.domain = EQ_STRING;
                k.v.s = v->s;
                break;
        case CIM_BOOLEAN:
                k.domain = EQ_BOOL;
                k.v.b = v->b;
                break;
        case CIM_REAL32:
        case CIM_REAL64:
                if (!key_from_real(v->r, &k))
                        return false;
                break;
        case CIM_DATETIME:
                k.domain = v->dt.is_interval ? EQ_INTERVAL : EQ_POINT;
                k.v.i = v->dt.usec;
                break;
        default:
                if (cim_type_is_signed(v->type))
                        key_from_sint(v->i, &k);
                else if (cim_type_is_unsigned(v->type)) {
                        k.domain = EQ_UINT;
                        k.v.u = v->u;
                } else
                        return false;
                break;
        }
        key_hash(&k);
        *ret = k;
        return true;
}

/* ASCII case-insensitive equality with a NUL-terminated word, as the
 * evaluator reads 'TRUE' and 'FALSE' in strings. */
static bool ascii_word_equal(const char *s, const char *word) {
        for (; *s && *word; s++, word++) {
                char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 32) : *s;
                if (c != *word)
                        return false;
        }
        return *s == '\0' && *word == '\0';
}

bool eq_key_from_literal(const WqlLiteral *l, CimType t, EqKey *ret) {
        EqKey k = { .domain = EQ_NONE };
        if (cim_type_is_numeric(t)) {
                switch (l->kind) {
                case WQL_LIT_INTEGER:
                        key_from_sint(l->i, &k);
                        break;
                case WQL_LIT_UNSIGNED:
                        k.domain = EQ_UINT;
                        k.v.u = l->u;
                        break;
                case WQL_LIT_REAL:
                        if (!key_from_real(l->r, &k))
                                return false;
                        break;
                default:
                        /* a string is converted per event by the evaluator;
                         * a boolean never equals a number */
                        return false;
                }
        } else if (t == CIM_STRING || t == CIM_REFERENCE) {
                if (l->kind != WQL_LIT_STRING)
                        return false;
                k.domain = EQ_STRING;
                k.v.s = l->s;
        } else if (t == CIM_BOOLEAN) {
                if (l->kind == WQL_LIT_BOOLEAN)
                        k.v.b = l->b;
                else if (l->kind == WQL_LIT_STRING && ascii_word_equal(l->s, "TRUE"))
                        k.v.b = true;
                else if (l->kind == WQL_LIT_STRING && ascii_word_equal(l->s, "FALSE"))
                        k.v.b = false;
                else
                        return false;
                k.domain = EQ_BOOL;
        } else if (t == CIM_DATETIME) {
                CimDatetime dt;
                if (l->kind != WQL_LIT_STRING || cim_datetime_parse(l->s, &dt, NULL) != 0)
                        return false;
                k.domain = dt.is_interval ? EQ_INTERVAL : EQ_POINT;
                k.v.i = dt.usec;
        } else
                return false;
        key_hash(&k);
        *ret = k;
        return true;
}

EqCategory eq_category(CimType t) {
        if (cim_type_is_numeric(t))
                return EQ_CAT_NUMBER;
        switch (t) {
        case CIM_STRING:
        case CIM_REFERENCE:
                return EQ_CAT_TEXT;
        case CIM_BOOLEAN:
                return EQ_CAT_BOOL;
        case CIM_DATETIME:
                return EQ_CAT_DATETIME;
        default:
                return EQ_CAT_NONE;
        }
}

bool eq_key_equal(const EqKey *a, EqDomain domain, const EqValue *v) {
        if (a->domain != domain)
                return false;
        switch (domain) {
        case EQ_STRING:
                return like_text_compare(a->v.s, v->s) == 0;
        case EQ_BOOL:
                return a->v.b == v->b;
        case EQ_REAL:
                return a->v.r == v->r;
        default:
                return a->v.u == v->u;
        }
}

/* ---- namespaces ------------------------------------------------------------- */

static unsigned char ns_fold(unsigned char c) {
        if (c >= 'A' && c <= 'Z')
                return (unsigned char)(c + 32);
        return c == '\\' ? '/' : c;
}

bool ns_equal(const char *a, const char *b) {
        const unsigned char *s = (const unsigned char *)a, *t = (const unsigned char *)b;
        for (; *s && *t; s++, t++)
                if (ns_fold(*s) != ns_fold(*t))
                        return false;
        return *s == *t;
}

static uint64_t ns_hash(const char *s) {
        uint64_t h = 0xcbf29ce484222325u;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                h ^= ns_fold(*p);
                h *= 0x100000001b3u;
        }
        return h;
}

EventNs *dispatcher_ns_find(Dispatcher *d, const char *ns) {
        for (EventNs *n = d->namespaces; n; n = n->next)
                if (ns_equal(n->name, ns))
                        return n;
        return NULL;
}

/* ---- tables ----------------------------------------------------------------- */

/* Resize a chained table of `n` objects to new_size slots, relinking each
 * object with relink (which knows its link fields and hash). */
typedef void (*RelinkFn)(void **slots, size_t mask, void *obj);

static int table_resize(void ***slots, size_t *mask, size_t new_size, void *(*next_of)(void *),
                        RelinkFn relink) {
        void **fresh = mem_calloc(new_size, sizeof(void *));
        if (!fresh)
                return -ENOMEM;
        size_t old_size = *slots ? *mask + 1 : 0;
        for (size_t k = 0; k < old_size; k++) {
                void *obj = (*slots)[k];
                while (obj) {
                        void *next = next_of(obj);
                        relink(fresh, new_size - 1, obj);
                        obj = next;
                }
        }
        mem_free(*slots);
        *slots = fresh;
        *mask = new_size - 1;
        return 0;
}

static int table_reserve(void ***slots, size_t *mask, size_t n, void *(*next_of)(void *),
                         RelinkFn relink) {
        size_t size = *slots ? *mask + 1 : 0;
        if (n + 1 <= size)
                return 0;
        return table_resize(slots, mask, size ? size * 2 : TABLE_MIN, next_of, relink);
}

/* Shrink after a removal when the table is mostly empty; a failure only
 * leaves it larger. */
static void table_maybe_shrink(Dispatcher *d, void ***slots, size_t *mask, size_t n,
                               void *(*next_of)(void *), RelinkFn relink) {
        size_t size = *slots ? *mask + 1 : 0;
        if (d->no_shrink || size == 0)
                return;
        if (n == 0) {
                mem_free(*slots);
                *slots = NULL;
                *mask = 0;
                return;
        }
        if (size > TABLE_MIN && n < size / 4)
                (void)table_resize(slots, mask, size / 2, next_of, relink);
}

/* buckets */

static void *bucket_next_of(void *obj) {
        return ((Bucket *)obj)->next;
}

static void bucket_relink(void **slots, size_t mask, void *obj) {
        Bucket *b = obj;
        size_t k = b->hash & mask;
        b->next = slots[k];
        slots[k] = b;
}

/* filters in a bucket's scan list */

static void filter_link(Filter **head, Filter *f) {
        f->next = *head;
        if (f->next)
                f->next->pprev = &f->next;
        *head = f;
        f->pprev = head;
}

/* filters in the share table */

static void *share_next_of(void *obj) {
        return ((Filter *)obj)->query->share_next;
}

static void share_relink(void **slots, size_t mask, void *obj) {
        Filter *f = obj;
        size_t k = f->query->share_hash & mask;
        f->query->share_next = slots[k];
        slots[k] = f;
}

static uint64_t bucket_hash(const EventNs *n, uint64_t class_hash, uint64_t isa_hash,
                            const PollTask *task) {
        return mix64((uint64_t)(uintptr_t)n * 0x9e3779b97f4a7c15u ^ class_hash ^
                     mix64(isa_hash + 1) ^ (uint64_t)(uintptr_t)task);
}

static Bucket *bucket_lookup(Dispatcher *d, const EventNs *n, uint64_t h, const char *class_name,
                             const char *isa_name) {
        if (!d->buckets)
                return NULL;
        for (Bucket *b = d->buckets[h & d->buckets_mask]; b; b = b->next)
                if (b->hash == h && b->ns == n && name_equal(b->class_name, class_name) &&
                    (b->isa_name ? isa_name && name_equal(b->isa_name, isa_name) : !isa_name))
                        return b;
        return NULL;
}

static uint64_t opt_name_hash(const char *name) {
        return name ? name_hash(name) : 0;
}

Bucket *dispatcher_bucket_find(Dispatcher *d, const char *ns, const char *class_name,
                               const char *isa_name, PollTask *task) {
        if (task) {
                for (Bucket *b = task->buckets; b; b = b->next)
                        if (name_equal(b->class_name, class_name) &&
                            (b->isa_name ? isa_name && name_equal(b->isa_name, isa_name)
                                         : !isa_name))
                                return b;
                return NULL;
        }
        EventNs *n = dispatcher_ns_find(d, ns);
        if (!n)
                return NULL;
        return bucket_lookup(d, n,
                             bucket_hash(n, name_hash(class_name), opt_name_hash(isa_name), NULL),
                             class_name, isa_name);
}

static bool is_intrinsic_class_name(const char *name) {
        return name_equal(name, "__InstanceOperationEvent") ||
               name_equal(name, "__InstanceCreationEvent") ||
               name_equal(name, "__InstanceDeletionEvent") ||
               name_equal(name, "__InstanceModificationEvent");
}

int dispatcher_bucket_get(Dispatcher *d, const char *ns, const char *class_name,
                          const char *isa_name, PollTask *task, Bucket **ret) {
        Bucket *b = dispatcher_bucket_find(d, ns, class_name, isa_name, task);
        if (b) {
                b->n_filters++;
                *ret = b;
                return 0;
        }

        EventNs *n = dispatcher_ns_find(d, ns);
        _cleanup_free_ EventNs *new_ns = NULL;
        if (!n) {
                new_ns = mem_calloc(1, sizeof(EventNs));
                if (!new_ns)
                        return -ENOMEM;
                new_ns->name = mem_strdup(ns);
                if (!new_ns->name)
                        return -ENOMEM;
                n = new_ns;
        }
        b = mem_calloc(1, sizeof(Bucket));
        if (!b)
                goto fail;
        b->class_name = mem_strdup(class_name);
        b->isa_name = isa_name ? mem_strdup(isa_name) : NULL;
        if (!b->class_name || (isa_name && !b->isa_name))
                goto fail;
        if (!task && table_reserve((void ***)&d->buckets, &d->buckets_mask, d->n_buckets,
                                   bucket_next_of, bucket_relink) < 0)
                goto fail;

        /* nothing can fail from here */
        if (new_ns) {
                new_ns->next = d->namespaces;
                d->namespaces = TAKE_PTR(new_ns);
        }
        b->ns = n;
        b->task = task;
        b->n_filters = 1;
        n->n_buckets++;
        if (task) {
                b->next = task->buckets;
                task->buckets = b;
                task->refs++;
        } else {
                b->hash = bucket_hash(n, name_hash(class_name), opt_name_hash(isa_name), NULL);
                bucket_relink((void **)d->buckets, d->buckets_mask, b);
                d->n_buckets++;
                d->generation++;
                if (is_intrinsic_class_name(class_name))
                        n->n_intrinsic++;
        }
        *ret = b;
        return 0;
fail:
        if (new_ns)
                mem_free(new_ns->name);
        if (b) {
                mem_free(b->class_name);
                mem_free(b->isa_name);
                mem_free(b);
        }
        return -ENOMEM;
}

static void ns_unref(Dispatcher *d, EventNs *n) {
        if (--n->n_buckets > 0)
                return;
        for (EventNs **p = &d->namespaces; *p; p = &(*p)->next)
                if (*p == n) {
                        *p = n->next;
                        break;
                }
        mem_free(n->name);
        mem_free(n);
        d->generation++;
}

void dispatcher_bucket_unref(Dispatcher *d, Bucket *b) {
        if (--b->n_filters > 0)
                return;
        Bucket **p;
        if (b->task)
                p = &b->task->buckets;
        else
                p = &d->buckets[b->hash & d->buckets_mask];
        for (; *p; p = &(*p)->next)
                if (*p == b) {
                        *p = b->next;
                        break;
                }
        if (!b->task) {
                d->n_buckets--;
                d->generation++;
                if (is_intrinsic_class_name(b->class_name))
                        b->ns->n_intrinsic--;
                table_maybe_shrink(d, (void ***)&d->buckets, &d->buckets_mask, d->n_buckets,
                                   bucket_next_of, bucket_relink);
        }
        ns_unref(d, b->ns);
        for (uint32_t k = 0; k < b->n_paths; k++)
                for (uint32_t j = 0; j < b->paths[k].n_parts; j++)
                        mem_free(b->paths[k].parts[j]);
        mem_free(b->paths);
        mem_free(b->class_name);
        mem_free(b->isa_name);
        PollTask *task = b->task;
        mem_free(b);
        if (task)
                poll_task_unref(task);
}

/* ---- indexed paths of a bucket -------------------------------------------------- */

static bool path_equal(const EqPath *p, const WqlPropertyRef *ref, EqCategory cat) {
        if (p->n_parts != ref->n_parts || p->category != cat)
                return false;
        for (size_t k = 0; k < ref->n_parts; k++)
                if (!name_equal(p->parts[k], ref->parts[k]))
                        return false;
        return true;
}

long bucket_path_find(const Bucket *b, const WqlPropertyRef *path, EqCategory cat) {
        for (uint32_t k = 0; b && k < b->n_paths; k++)
                if (b->paths[k].n_filters > 0 && path_equal(&b->paths[k], path, cat))
                        return (long)k;
        return -1;
}

/* A uid for a new indexed path. There is always room to give it back. */
static int uid_get(Dispatcher *d, uint32_t *ret) {
        if (d->n_free_uids > 0) {
                *ret = d->free_uids[--d->n_free_uids];
                return 0;
        }
        if (d->next_uid >= EQ_UID_MAX)
                return -ENOMEM;
        uint32_t uid = d->next_uid + 1;
        /* the free list must hold every uid given so far */
        if ((uid & (uid - 1)) == 0) {
                uint32_t *grown = mem_reallocarray(d->free_uids, (size_t)uid * 2, sizeof(uint32_t));
                if (!grown)
                        return -ENOMEM;
                d->free_uids = grown;
        }
        d->next_uid = uid;
        *ret = uid;
        return 0;
}

static void uid_put(Dispatcher *d, uint32_t uid) {
        d->free_uids[d->n_free_uids++] = uid;
}

int bucket_path_get(Dispatcher *d, Bucket *b, const WqlPropertyRef *path, EqCategory cat,
                    uint16_t *ret_id) {
        uint32_t free_slot = UINT32_MAX;
        if (path->n_parts < 1 || path->n_parts > 2)
                return -EINVAL;
        for (uint32_t k = 0; k < b->n_paths; k++) {
                if (b->paths[k].n_filters == 0) {
                        if (free_slot == UINT32_MAX)
                                free_slot = k;
                } else if (path_equal(&b->paths[k], path, cat)) {
                        b->paths[k].n_filters++;
                        *ret_id = (uint16_t)k;
                        return 0;
                }
        }
        EqPath fresh = { .n_parts = (uint32_t)path->n_parts,
                         .n_filters = 1,
                         .category = (uint8_t)cat };
        for (size_t k = 0; k < path->n_parts; k++) {
                fresh.parts[k] = mem_strdup(path->parts[k]);
                fresh.hints[k] = UINT32_MAX;
                if (!fresh.parts[k]) {
                        for (size_t j = 0; j < k; j++)
                                mem_free(fresh.parts[j]);
                        return -ENOMEM;
                }
        }
        if (uid_get(d, &fresh.uid) < 0) {
                for (size_t j = 0; j < path->n_parts; j++)
                        mem_free(fresh.parts[j]);
                return -ENOMEM;
        }
        if (free_slot == UINT32_MAX) {
                /* paths are few per bucket; the id must fit path_id */
                EqPath *grown =
                        b->n_paths + 1 >= EQ_PATH_NONE
                                ? NULL
                                : mem_reallocarray(b->paths, b->n_paths + 1, sizeof(EqPath));
                if (!grown) {
                        for (size_t j = 0; j < path->n_parts; j++)
                                mem_free(fresh.parts[j]);
                        uid_put(d, fresh.uid);
                        return -ENOMEM;
                }
                b->paths = grown;
                free_slot = b->n_paths++;
        } else {
                for (uint32_t j = 0; j < b->paths[free_slot].n_parts; j++)
                        mem_free(b->paths[free_slot].parts[j]);
        }
        b->paths[free_slot] = fresh;
        *ret_id = (uint16_t)free_slot;
        return 0;
}

void bucket_path_unref(Dispatcher *d, Bucket *b, uint16_t id) {
        EqPath *p = &b->paths[id];
        if (--p->n_filters > 0)
                return;
        uid_put(d, p->uid);
        p->uid = 0;
        mem_free(p->tmpl);
        p->tmpl = NULL;
        p->tmpl_len = 0;
        for (uint32_t j = 0; j < p->n_parts; j++) {
                mem_free(p->parts[j]);
                p->parts[j] = NULL;
        }
        p->n_parts = 0;
        /* trailing free slots go */
        while (b->n_paths > 0 && b->paths[b->n_paths - 1].n_filters == 0)
                b->n_paths--;
        if (b->n_paths == 0) {
                mem_free(b->paths);
                b->paths = NULL;
        }
}

/* ---- the equality and share tables ---------------------------------------------- */

/* The bits of a key as an EqSlot keeps them. */
static uint64_t eq_slot_bits(const EqKey *k) {
        switch (k->domain) {
        case EQ_STRING:
                return k->hash;
        case EQ_BOOL:
                return k->v.b;
        case EQ_REAL: {
                uint64_t bits;
                memcpy(&bits, &k->v.r, sizeof(bits));
                return bits;
        }
        default:
                return k->v.u;
        }
}

static uint32_t eq_tag(const Bucket *b, uint16_t path_id, EqDomain domain) {
        return b->paths[path_id].uid << 3 | (uint32_t)domain;
}

/* Every key is hashed on its own. (Giving consecutive ids consecutive
 * homes, placed as blocks of 64, made runs of ids touch adjacent slots but
 * clustered the table like linear probing of 64-slot keys: at 100,000
 * keys a probe walked dozens of slots, and an event matching one and the
 * same registration cost 4-5x more than at N = 1.) */
static size_t eq_home(uint32_t tag, uint64_t bits) {
        return (size_t)mix64(bits ^ (uint64_t)tag * 0x9e3779b97f4a7c15u);
}

static Filter *eq_slot_filter(const EqSlot *s) {
        return (s->ref & EQ_REF_CALL) ? call_filter((const Call *)(s->ref & ~EQ_REF_CALL))
                                      : (Filter *)s->ref;
}

/* The key of an indexed filter. */
static EqKey filter_key(const Filter *f) {
        EqKey k = { .domain = f->domain, .v = f->key };
        key_hash(&k);
        return k;
}

/* Whether a string key of the slot (its filter's) is s. */
static bool eq_slot_string_equal(const EqSlot *slot, const char *s) {
        return like_text_compare(eq_slot_filter(slot)->key.s, s) == 0;
}

/* Robin Hood: an entry is never further from its home slot than the
 * entries it passed, so entries of one home are adjacent and a probe stops
 * at the first entry nearer its own home than the probe is to its (most
 * misses stop at once, however full the table). */
static size_t eq_dist(const EqSlot *s, size_t at, size_t mask) {
        return (at - eq_home(s->tag, s->key)) & mask;
}

static void eq_place(EqSlot *slots, size_t mask, const EqSlot *e) {
        EqSlot cur = *e;
        size_t at = eq_home(cur.tag, cur.key) & mask, dist = 0;
        while (slots[at].tag) {
                size_t d = eq_dist(&slots[at], at, mask);
                if (d < dist) {
                        EqSlot t = slots[at];
                        slots[at] = cur;
                        cur = t;
                        dist = d;
                }
                at = (at + 1) & mask;
                dist++;
        }
        slots[at] = cur;
}

static int eq_resize(Dispatcher *d, size_t new_size) {
        EqSlot *fresh = mem_calloc(new_size, sizeof(EqSlot));
        if (!fresh)
                return -ENOMEM;
        for (size_t k = 0; d->eq && k <= d->eq_mask; k++)
                if (d->eq[k].tag)
                        eq_place(fresh, new_size - 1, &d->eq[k]);
        mem_free(d->eq);
        d->eq = fresh;
        d->eq_mask = new_size - 1;
        return 0;
}

/* At most 80% full: 100,000 entries fit 131,072 slots. */
static bool eq_fits(size_t n, size_t size) {
        return n * 5 <= size * 4;
}

int dispatcher_eq_reserve(Dispatcher *d) {
        size_t size = d->eq ? d->eq_mask + 1 : 0;
        if (size && eq_fits(d->n_eq + 1, size))
                return 0;
        return eq_resize(d, size ? size * 2 : TABLE_MIN);
}

/* How a slot delivers to f's calls: from the slot when f is captured and
 * has exactly one call, else through f. */
static void eq_slot_set_ref(EqSlot *slot, Filter *f) {
        const Call *c = f->calls;
        if ((f->flags & FILTER_CAPTURED) && c && !c->filter_next) {
                slot->ref = (uintptr_t)c | EQ_REF_CALL;
                slot->sink = c->sink->idx;
        } else {
                slot->ref = (uintptr_t)f;
                slot->sink = 0;
        }
}

void dispatcher_eq_insert(Dispatcher *d, Filter *f) {
        EqKey k = filter_key(f);
        EqSlot e = { .tag = eq_tag(f->bucket, f->path_id, k.domain), .key = eq_slot_bits(&k) };
        eq_slot_set_ref(&e, f);
        eq_place(d->eq, d->eq_mask, &e);
        f->flags |= FILTER_INDEXED;
        d->n_eq++;
}

/* The slot of indexed filter f. */
static EqSlot *eq_find(Dispatcher *d, Filter *f) {
        EqKey k = filter_key(f);
        uint32_t tag = eq_tag(f->bucket, f->path_id, k.domain);
        uint64_t bits = eq_slot_bits(&k);
        for (size_t at = eq_home(tag, bits) & d->eq_mask;; at = (at + 1) & d->eq_mask) {
                EqSlot *s = &d->eq[at];
                assert(s->tag);
                if (s->tag == tag && s->key == bits && eq_slot_filter(s) == f)
                        return s;
        }
}

void dispatcher_eq_refresh(Dispatcher *d, Filter *f) {
        if (f->flags & FILTER_INDEXED)
                eq_slot_set_ref(eq_find(d, f), f);
}

/* Remove a slot, moving the entries after it back by one until one is at
 * home (Robin Hood's deletion: no tombstones). */
static void eq_remove(Dispatcher *d, EqSlot *slot) {
        size_t mask = d->eq_mask, at = (size_t)(slot - d->eq);
        for (;;) {
                size_t next = (at + 1) & mask;
                if (!d->eq[next].tag || eq_dist(&d->eq[next], next, mask) == 0)
                        break;
                d->eq[at] = d->eq[next];
                at = next;
        }
        d->eq[at] = (EqSlot){ 0 };
        d->n_eq--;
}

void dispatcher_eq_sweep(Dispatcher *d) {
        /* Removing a slot shifts the entries after it back by one, into
         * the slot just looked at: look at it again. An entry shifted
         * from slot 0 to the last slot was looked at already. */
        for (size_t at = 0; d->eq && at <= d->eq_mask && d->n_doomed > 0; at++)
                while (d->eq[at].tag && (eq_slot_filter(&d->eq[at])->flags & FILTER_DOOMED)) {
                        eq_remove(d, &d->eq[at]);
                        d->n_doomed--;
                }
        d->n_doomed = 0;
}

void dispatcher_eq_compact(Dispatcher *d) {
        size_t size = d->eq ? d->eq_mask + 1 : 0, target = size;
        if (d->no_shrink || size == 0)
                return;
        if (d->n_eq == 0) {
                mem_free(d->eq);
                d->eq = NULL;
                d->eq_mask = 0;
                return;
        }
        while (target > TABLE_MIN && d->n_eq < target / 4)
                target /= 2;
        if (target != size)
                (void)eq_resize(d, target); /* a failure only leaves it larger */
}

void dispatcher_scan_insert(Bucket *b, Filter *f) {
        filter_link(&b->scan, f);
        f->flags &= (uint8_t)~FILTER_INDEXED;
}

void dispatcher_filter_unlink(Dispatcher *d, Filter *f) {
        if (!(f->flags & FILTER_INDEXED)) {
                *f->pprev = f->next;
                if (f->next)
                        f->next->pprev = f->pprev;
                f->next = NULL;
                f->pprev = NULL;
                return;
        }
        eq_remove(d, eq_find(d, f));
        f->flags &= (uint8_t)~FILTER_INDEXED;
        size_t size = d->eq_mask + 1;
        if (d->no_shrink)
                return;
        if (d->n_eq == 0) {
                mem_free(d->eq);
                d->eq = NULL;
                d->eq_mask = 0;
        } else if (size > TABLE_MIN && d->n_eq < size / 4)
                (void)eq_resize(d, size / 2); /* a failure only leaves it larger */
}

void dispatcher_eq_probe_init(Dispatcher *d, const Bucket *b, uint16_t path_id, const EqKey *key,
                              EqProbe *p) {
        *p = (EqProbe){ .tag = eq_tag(b, path_id, key->domain),
                        .bits = eq_slot_bits(key),
                        .s = key->domain == EQ_STRING ? key->v.s : NULL,
                        .done = !d->eq };
        if (!p->done)
                p->at = eq_home(p->tag, p->bits) & d->eq_mask;
}

Filter *dispatcher_eq_probe_next(Dispatcher *d, EqProbe *p) {
        while (!p->done) {
                const EqSlot *s = &d->eq[p->at];
                size_t at = p->at;
                p->at = (p->at + 1) & d->eq_mask;
                if (!s->tag || eq_dist(s, at, d->eq_mask) < p->dist) {
                        p->done = true;
                        break;
                }
                p->dist++;
                if (s->tag == p->tag && s->key == p->bits &&
                    (!p->s || eq_slot_string_equal(s, p->s)))
                        return eq_slot_filter(s);
        }
        return NULL;
}

uint64_t dispatcher_share_hash(const char *ns, const char *canonical) {
        uint64_t h = ns_hash(ns);
        for (const unsigned char *p = (const unsigned char *)canonical; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3u;
        }
        return mix64(h);
}

int dispatcher_share_reserve(Dispatcher *d) {
        return table_reserve((void ***)&d->shared, &d->shared_mask, d->n_shared, share_next_of,
                             share_relink);
}

void dispatcher_share_insert(Dispatcher *d, Filter *f) {
        share_relink((void **)d->shared, d->shared_mask, f);
        d->n_shared++;
}

void dispatcher_share_remove(Dispatcher *d, Filter *f) {
        Filter **p = &d->shared[f->query->share_hash & d->shared_mask];
        for (; *p; p = &(*p)->query->share_next)
                if (*p == f) {
                        *p = f->query->share_next;
                        break;
                }
        d->n_shared--;
        table_maybe_shrink(d, (void ***)&d->shared, &d->shared_mask, d->n_shared, share_next_of,
                           share_relink);
}

Filter *dispatcher_share_find(Dispatcher *d, const char *ns, const char *canonical, uint64_t hash) {
        if (!d->shared)
                return NULL;
        for (Filter *f = d->shared[hash & d->shared_mask]; f; f = f->query->share_next)
                if (f->query->share_hash == hash && strcmp(f->query->canonical, canonical) == 0 &&
                    ns_equal(f->bucket->ns->name, ns))
                        return f;
        return NULL;
}

/* ---- raising events ------------------------------------------------------------- */

/* The value at an indexed path of the event, or NULL. */
static const Value *path_value(EqPath *p, const Instance *event) {
        const Instance *cur = event;
        for (uint32_t k = 0;; k++) {
                const CimClass *cls = cur->cls;
                uint32_t h = p->hints[k];
                long idx;
                if (h < cls->n_props && name_equal(cls->props[h].name, p->parts[k]))
                        idx = (long)h;
                else {
                        idx = class_find_property(cls, p->parts[k]);
                        if (idx < 0)
                                return NULL;
                        p->hints[k] = (uint32_t)idx;
                }
                const Value *v = &cur->values[idx];
                if (k + 1 == p->n_parts)
                        return v;
                if (v->type != CIM_OBJECT || v->is_array || v->is_null || !v->obj)
                        return NULL;
                cur = v->obj;
        }
}

static void bucket_deliver(Dispatcher *d, Bucket *b, Instance *event, size_t *delivered,
                           int *error) {
        for (Filter *f = b->scan; f; f = f->next)
                filter_offer(d, f, event, delivered, error);
        for (uint32_t p = 0; p < b->n_paths; p++) {
                if (b->paths[p].n_filters == 0)
                        continue;
                const Value *v = path_value(&b->paths[p], event);
                EqKey k;
                if (!v || !eq_key_from_value(v, &k) || !d->eq)
                        continue;
                uint32_t tag = b->paths[p].uid << 3 | (uint32_t)k.domain;
                uint64_t bits = eq_slot_bits(&k);
                size_t mask = d->eq_mask;
                for (size_t at = eq_home(tag, bits) & mask, dist = 0;; at = (at + 1) & mask, dist++) {
                        const EqSlot *s = &d->eq[at];
                        if (!s->tag || eq_dist(s, at, mask) < dist)
                                break;
                        if (s->tag != tag || s->key != bits ||
                            (k.domain == EQ_STRING && !eq_slot_string_equal(s, k.v.s)))
                                continue;
                        if (s->ref & EQ_REF_CALL) {
                                /* the common case: one call, no evaluation,
                                 * nothing read but this slot */
                                Sink *sink = d->sink_at[s->sink];
                                sink->ops->indicate(sink, (Call *)(s->ref & ~EQ_REF_CALL), event,
                                                    sink->userdata);
                                (*delivered)++;
                                d->events_delivered++;
                        } else
                                filter_offer(d, (Filter *)s->ref, event, delivered, error);
                }
        }
}

/* The class names of c and its ancestors, nearest first. */
static const char *closure_name(const CimClass *c, size_t k) {
        return k == 0 ? c->name : c->derivation[k - 1];
}

#define HASH_CACHE 16

/* Visit the native buckets of namespace n for events of class ec (and a
 * TargetInstance of class tc, or NULL): D in the closure of ec, times X in
 * the closure of tc. Each is handed to visit(). */
static void walk(Dispatcher *d, EventNs *n, const CimClass *ec, const CimClass *tc,
                 void (*visit)(Bucket *b, void *ud), void *ud) {
        uint64_t isa_hashes[HASH_CACHE];
        size_t n_isa = tc ? tc->n_derivation + 1 : 0;
        for (size_t x = 0; x < n_isa && x < HASH_CACHE; x++)
                isa_hashes[x] = name_hash(closure_name(tc, x));
        for (size_t k = 0; k <= ec->n_derivation; k++) {
                const char *cname = closure_name(ec, k);
                uint64_t ch = name_hash(cname);
                if (!tc) {
                        Bucket *b = bucket_lookup(d, n, bucket_hash(n, ch, 0, NULL), cname, NULL);
                        if (b)
                                visit(b, ud);
                        continue;
                }
                for (size_t x = 0; x < n_isa; x++) {
                        const char *iname = closure_name(tc, x);
                        uint64_t ih = x < HASH_CACHE ? isa_hashes[x] : name_hash(iname);
                        Bucket *b = bucket_lookup(d, n, bucket_hash(n, ch, ih, NULL), cname, iname);
                        if (b)
                                visit(b, ud);
                }
        }
}

static void route_collect(Bucket *b, void *ud) {
        Route *r = ud;
        if (r->n < ROUTE_MAX)
                r->buckets[r->n] = b;
        if (r->n <= ROUTE_MAX)
                r->n++;
}

static void route_clear(Route *r) {
        class_unref(r->event_class);
        class_unref(r->target_class);
        *r = (Route){ 0 };
}

/* The route of (n, ec, tc), computed when not remembered. */
static Route *route_get(Dispatcher *d, EventNs *n, const CimClass *ec, const CimClass *tc) {
        uint64_t h = mix64((uint64_t)(uintptr_t)ec * 31 ^ (uint64_t)(uintptr_t)tc ^
                           (uint64_t)(uintptr_t)n << 7);
        Route *r = &d->routes[h & (ROUTE_CACHE - 1)];
        if (r->event_class == ec && r->target_class == tc && r->ns == n &&
            r->generation == d->generation)
                return r;
        route_clear(r);
        r->event_class = class_ref((CimClass *)ec);
        r->target_class = tc ? class_ref((CimClass *)tc) : NULL;
        r->ns = n;
        r->generation = d->generation;
        walk(d, n, ec, tc, route_collect, r);
        return r;
}

typedef struct Delivery {
        Dispatcher *d;
        Instance *event;
        size_t delivered;
        int error;
} Delivery;

static void deliver_visit(Bucket *b, void *ud) {
        Delivery *dl = ud;
        bucket_deliver(dl->d, b, dl->event, &dl->delivered, &dl->error);
}

static bool is_sys_event_class(const Dispatcher *d, const CimClass *c) {
        return c == d->sys[SYS_CREATION] || c == d->sys[SYS_DELETION] ||
               c == d->sys[SYS_MODIFICATION];
}

/* TargetInstance of an intrinsic event, or NULL. */
static const Instance *event_target(const Dispatcher *d, const Instance *event) {
        const Value *v;
        if (is_sys_event_class(d, event->cls))
                v = &event->values[d->prop_target];
        else {
                long idx = class_find_property(event->cls, "TargetInstance");
                if (idx < 0)
                        return NULL;
                v = &event->values[idx];
        }
        if (v->type != CIM_OBJECT || v->is_array || v->is_null)
                return NULL;
        return v->obj;
}

int dispatcher_raise(Dispatcher *d, const char *ns, Instance *event, size_t *ret_delivered) {
        Delivery dl = { .d = d, .event = event };

        d->events_raised++;
        EventNs *n = d->n_buckets ? dispatcher_ns_find(d, ns) : NULL;
        if (n) {
                const CimClass *ec = event->cls, *tc = NULL;
                /* intrinsic events: those of the dispatcher's own classes,
                 * or of copies of them (a class derived from
                 * __InstanceOperationEvent) */
                if (is_sys_event_class(d, ec) ||
                    (ec->n_derivation >= 2 && class_isa(ec, "__InstanceOperationEvent"))) {
                        const Instance *target = event_target(d, event);
                        if (!target || n->n_intrinsic == 0)
                                goto done; /* intrinsic buckets all have an ISA class */
                        tc = target->cls;
                }
                Route *r = route_get(d, n, ec, tc);
                if (r->n <= ROUTE_MAX)
                        for (uint32_t k = 0; k < r->n; k++)
                                bucket_deliver(d, r->buckets[k], event, &dl.delivered, &dl.error);
                else
                        walk(d, n, ec, tc, deliver_visit, &dl);
        }
done:
        if (dl.error)
                d->events_failed++;
        if (ret_delivered)
                *ret_delivered = dl.delivered;
        return dl.error;
}

int dispatcher_raise_buckets(Dispatcher *d, Bucket *list, Instance *event, size_t *ret_delivered) {
        size_t delivered = 0;
        int error = 0;

        d->events_raised++;
        for (Bucket *b = list; b; b = b->next)
                if (class_isa(event->cls, b->class_name))
                        bucket_deliver(d, b, event, &delivered, &error);
        if (error)
                d->events_failed++;
        if (ret_delivered)
                *ret_delivered = delivered;
        return error;
}

bool dispatcher_wants_intrinsic(Dispatcher *d, const char *ns) {
        EventNs *n = d->n_buckets ? dispatcher_ns_find(d, ns) : NULL;
        return n && n->n_intrinsic > 0;
}

uint64_t event_time_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        /* 11644473600 s from 1601-01-01 to 1970-01-01 */
        return ((uint64_t)ts.tv_sec + 11644473600u) * 10000000u + (uint64_t)ts.tv_nsec / 100u;
}

int dispatcher_intrinsic_event(Dispatcher *d, int sys, const char *ns, Instance *target,
                               Instance *previous, Instance **ret) {
        _cleanup_(instance_unrefp) Instance *ev = NULL;
        int r = instance_new(d->sys[sys], &ev);
        if (r < 0)
                return r;
        r = instance_set_namespace(ev, ns);
        if (r < 0)
                return r;
        ev->values[d->prop_time] = value_uint(CIM_UINT64, event_time_now());
        ev->values[d->prop_target] = value_object(target);
        if (sys == SYS_MODIFICATION && previous)
                ev->values[d->prop_previous] = value_object(previous);
        *ret = TAKE_PTR(ev);
        return 0;
}

/* ---- ending calls ----------------------------------------------------------------- */

/* End every call of f; f is freed with its last call. */
static size_t filter_end_all(Filter *f, int status, const char *message) {
        size_t n = f->n_calls;
        for (size_t k = 0; k < n; k++)
                call_end(f->calls, status, message);
        return n;
}

static size_t end_doomed(Dispatcher *d, int status, const char *message) {
        size_t ended = 0;
        /* Ending a filter removes its slot and may move a later entry into
         * it (never an earlier one that was not seen): look again. */
        for (size_t slot = 0; d->eq && slot <= d->eq_mask; slot++) {
                while (d->eq[slot].tag) {
                        Filter *f = eq_slot_filter(&d->eq[slot]);
                        if (!f->bucket->doomed && !f->bucket->paths[f->path_id].doomed)
                                break;
                        ended += filter_end_all(f, status, message);
                        if (!d->eq)
                                return ended;
                }
        }
        return ended;
}

static size_t end_bucket_scan(Bucket *b, int status, const char *message) {
        size_t ended = 0;
        while (b->scan)
                ended += filter_end_all(b->scan, status, message);
        return ended;
}

size_t dispatcher_end_buckets(Dispatcher *d, const char *ns, bool (*doomed)(Bucket *b, void *ud),
                              void *ud, int status, const char *message) {
        EventNs *n = dispatcher_ns_find(d, ns);
        size_t marked = 0, ended = 0;
        if (!n)
                return 0;
        /* Mark, holding a reference on each marked bucket so it outlives the
         * filters ended below. */
        for (size_t slot = 0; d->buckets && slot <= d->buckets_mask; slot++)
                for (Bucket *b = d->buckets[slot]; b; b = b->next)
                        if (b->ns == n && doomed(b, ud)) {
                                b->doomed = true;
                                b->n_filters++;
                                marked++;
                        }
        for (PollTask *t = d->tasks; t; t = t->next)
                for (Bucket *b = t->buckets; b; b = b->next)
                        if (b->ns == n && doomed(b, ud)) {
                                b->doomed = true;
                                b->n_filters++;
                                t->refs++; /* keeps the task list intact */
                                marked++;
                        }
        if (marked == 0)
                return 0;

        d->no_shrink++;
        ended += end_doomed(d, status, message);
        for (size_t slot = 0; d->buckets && slot <= d->buckets_mask; slot++)
                for (Bucket *b = d->buckets[slot]; b; b = b->next)
                        if (b->doomed)
                                ended += end_bucket_scan(b, status, message);
        for (PollTask *t = d->tasks; t; t = t->next)
                for (Bucket *b = t->buckets; b; b = b->next)
                        if (b->doomed)
                                ended += end_bucket_scan(b, status, message);
        d->no_shrink--;

        /* Release the marks: each doomed bucket now holds only our reference. */
        for (;;) {
                Bucket *found = NULL;
                for (size_t slot = 0; !found && d->buckets && slot <= d->buckets_mask; slot++)
                        for (Bucket *b = d->buckets[slot]; b && !found; b = b->next)
                                if (b->doomed)
                                        found = b;
                if (!found)
                        break;
                found->doomed = false;
                dispatcher_bucket_unref(d, found);
        }
        for (;;) {
                Bucket *found = NULL;
                PollTask *task = NULL;
                for (PollTask *t = d->tasks; t && !found; t = t->next)
                        for (Bucket *b = t->buckets; b && !found; b = b->next)
                                if (b->doomed) {
                                        found = b;
                                        task = t;
                                }
                if (!found)
                        break;
                found->doomed = false;
                dispatcher_bucket_unref(d, found);
                poll_task_unref(task);
        }
        return ended;
}

/* Every bucket of namespace n, native and polled, with visit(b, ud). */
static void for_each_bucket(Dispatcher *d, EventNs *n, void (*visit)(Bucket *b, void *ud),
                            void *ud) {
        for (size_t slot = 0; d->buckets && slot <= d->buckets_mask; slot++)
                for (Bucket *b = d->buckets[slot]; b; b = b->next)
                        if (b->ns == n)
                                visit(b, ud);
        for (PollTask *t = d->tasks; t; t = t->next)
                for (Bucket *b = t->buckets; b; b = b->next)
                        if (b->ns == n)
                                visit(b, ud);
}

static void hold_bucket(Bucket *b, void *ud) {
        (void)ud;
        b->held = true;
        b->n_filters++;
        if (b->task)
                b->task->refs++;
}

static void clear_path_marks(Bucket *b, void *ud) {
        (void)ud;
        for (uint32_t k = 0; k < b->n_paths; k++)
                b->paths[k].doomed = false;
}

/* A bucket of n that hold_bucket() holds, or NULL. */
static Bucket *held_bucket(Dispatcher *d, EventNs *n) {
        for (size_t slot = 0; d->buckets && slot <= d->buckets_mask; slot++)
                for (Bucket *b = d->buckets[slot]; b; b = b->next)
                        if (b->ns == n && b->held)
                                return b;
        for (PollTask *t = d->tasks; t; t = t->next)
                for (Bucket *b = t->buckets; b; b = b->next)
                        if (b->ns == n && b->held)
                                return b;
        return NULL;
}

size_t dispatcher_end_paths(Dispatcher *d, const char *ns, void (*mark)(Bucket *b, void *ud),
                            void *ud, int status, const char *message) {
        EventNs *n = dispatcher_ns_find(d, ns);
        if (!n)
                return 0;
        for_each_bucket(d, n, mark, ud);
        /* Hold every bucket of the namespace (and so the namespace and the
         * poll tasks) while filters go, then let go of them one by one. */
        for_each_bucket(d, n, hold_bucket, NULL);
        d->no_shrink++;
        size_t ended = end_doomed(d, status, message);
        d->no_shrink--;
        for_each_bucket(d, n, clear_path_marks, NULL);
        for (Bucket *b; (b = held_bucket(d, n));) {
                PollTask *task = b->task;
                b->held = false;
                dispatcher_bucket_unref(d, b); /* may free n when it was the last */
                if (task)
                        poll_task_unref(task);
        }
        return ended;
}

size_t dispatcher_end_bucket_list(Dispatcher *d, Bucket *list, int status, const char *message) {
        size_t ended = 0;
        /* Only the buckets of one task: mark them all, end, release. */
        size_t marked = 0;
        for (Bucket *b = list; b; b = b->next) {
                b->doomed = true;
                b->n_filters++;
                marked++;
        }
        if (marked == 0)
                return 0;
        d->no_shrink++;
        ended += end_doomed(d, status, message);
        for (Bucket *b = list; b; b = b->next)
                ended += end_bucket_scan(b, status, message);
        d->no_shrink--;
        /* dispatcher_bucket_unref unlinks from the list: take the head each time */
        while (list && list->doomed) {
                Bucket *b = list;
                list = b->next;
                b->doomed = false;
                dispatcher_bucket_unref(d, b);
        }
        return ended;
}

/* ---- life cycle --------------------------------------------------------------------- */

int dispatcher_new(const char *host, Dispatcher **ret) {
        _cleanup_free_ Dispatcher *d = mem_calloc(1, sizeof(Dispatcher));
        CimClass **sys = NULL;
        size_t n_sys = 0;
        int r;

        if (!d)
                return -ENOMEM;
        if (slab_pool_new(&d->slabs) < 0)
                return -ENOMEM;
        if (host) {
                d->host = mem_strdup(host);
                if (!d->host) {
                        slab_pool_free(d->slabs);
                        return -ENOMEM;
                }
        }
        r = class_system_classes(&sys, &n_sys);
        if (r < 0) {
                mem_free(d->host);
                slab_pool_free(d->slabs);
                return r;
        }
        for (size_t k = 0; k < n_sys; k++) {
                int which = name_equal(sys[k]->name, "__InstanceCreationEvent")   ? SYS_CREATION
                            : name_equal(sys[k]->name, "__InstanceDeletionEvent") ? SYS_DELETION
                            : name_equal(sys[k]->name, "__InstanceModificationEvent")
                                    ? SYS_MODIFICATION
                                    : -1;
                if (which >= 0)
                        d->sys[which] = class_ref(sys[k]);
                class_unref(sys[k]);
        }
        mem_free(sys);
        d->prop_time = (size_t)class_find_property(d->sys[SYS_CREATION], "TIME_CREATED");
        d->prop_target = (size_t)class_find_property(d->sys[SYS_CREATION], "TargetInstance");
        d->prop_previous =
                (size_t)class_find_property(d->sys[SYS_MODIFICATION], "PreviousInstance");
        d->ctx.host = d->host;
        d->min_within_usec = 500000;
        *ret = TAKE_PTR(d);
        return 0;
}

Dispatcher *dispatcher_free(Dispatcher *d) {
        if (!d)
                return NULL;
        while (d->sinks)
                sink_free(d->sinks);
        (void)dispatcher_reclaim(d, SIZE_MAX);
        /* every filter, bucket and task went with the calls */
        for (size_t k = 0; k < ROUTE_CACHE; k++)
                route_clear(&d->routes[k]);
        mem_free(d->buckets);
        mem_free(d->eq);
        mem_free(d->free_uids);
        mem_free(d->text_buf);
        mem_free(d->sink_at);
        mem_free(d->shared);
        for (int k = 0; k < _SYS_EVENT_MAX; k++)
                class_unref(d->sys[k]);
        mem_free(d->host);
        slab_pool_free(d->slabs);
        mem_free(d);
        return NULL;
}

void dispatcher_set_hooks(Dispatcher *d, const EngineTimerOps *timers,
                          const EngineEventOptions *opts) {
        d->have_timers = timers && timers->start && timers->stop;
        if (d->have_timers)
                d->timers = *timers;
        else
                d->timers = (EngineTimerOps){ 0 };
        /* a source needs timers too (e.g. a grace period) */
        d->have_watch = d->have_timers && timers->watch && timers->unwatch;
        d->min_within_usec = opts ? opts->min_within_usec : 500000;
        d->memo_epoch++;
}

void dispatcher_set_poll_ops(Dispatcher *d, const PollOps *ops) {
        d->poll_ops = ops ? *ops : (PollOps){ 0 };
}

void dispatcher_stats(const Dispatcher *d, EngineEventStats *ret) {
        *ret = (EngineEventStats){
                .sinks = d->n_sinks,
                .registrations = d->n_calls,
                .filters = d->n_filters,
                .poll_tasks = d->n_tasks,
                .sources = d->n_sources,
                .watches = 0,
                .events_raised = d->events_raised,
                .events_delivered = d->events_delivered,
                .events_failed = d->events_failed,
                .source_overflows = d->source_overflows,
        };
}
