/* Id to node map; see idmap.h. */
#include "idmap.h"

#include "mem.h"

/* Fibonacci hashing: ids are small consecutive numbers, and the multiply
 * spreads them over the high bits that pick the bucket. */
static size_t bucket_of(const IdMap *m, uint64_t key) {
        if (m->n_buckets <= 1)
                return 0;
        unsigned shift = 64;
        for (size_t n = m->n_buckets; n > 1; n >>= 1)
                shift--;
        return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

static IdMapNode **buckets(const IdMap *m) {
        return m->buckets ? m->buckets : (IdMapNode **)&m->fallback;
}

IdMapNode *idmap_get(const IdMap *m, uint64_t key) {
        if (m->n == 0)
                return NULL;
        for (IdMapNode *n = buckets(m)[bucket_of(m, key)]; n; n = n->next)
                if (n->key == key)
                        return n;
        return NULL;
}

/* Double the bucket array (or make the first); on failure keep the old. */
static void grow(IdMap *m) {
        size_t want = m->n_buckets >= 16 ? m->n_buckets * 2 : 16;
        if (want > SIZE_MAX / 2 / sizeof(IdMapNode *))
                return;
        IdMapNode **fresh = mem_calloc(want, sizeof(*fresh));
        if (!fresh)
                return;
        IdMap bigger = { .buckets = fresh, .n_buckets = want, .n = m->n };
        IdMapNode **old = buckets(m);
        size_t n_old = m->n_buckets ? m->n_buckets : 1;
        for (size_t i = 0; i < n_old; i++) {
                IdMapNode *next;
                for (IdMapNode *node = old[i]; node; node = next) {
                        next = node->next;
                        size_t b = bucket_of(&bigger, node->key);
                        node->next = fresh[b];
                        fresh[b] = node;
                }
        }
        if (m->buckets)
                mem_free(m->buckets);
        *m = bigger;
}

void idmap_put(IdMap *m, IdMapNode *node) {
        if (m->n >= m->n_buckets)
                grow(m);
        IdMapNode **head = &buckets(m)[bucket_of(m, node->key)];
        node->next = *head;
        *head = node;
        m->n++;
}

void idmap_remove(IdMap *m, IdMapNode *node) {
        for (IdMapNode **p = &buckets(m)[bucket_of(m, node->key)]; *p; p = &(*p)->next)
                if (*p == node) {
                        *p = node->next;
                        node->next = NULL;
                        m->n--;
                        return;
                }
}

void idmap_done(IdMap *m) {
        if (m->buckets)
                mem_free(m->buckets);
        *m = (IdMap)IDMAP_INIT;
}
