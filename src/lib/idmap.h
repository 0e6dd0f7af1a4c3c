/* A map from 64-bit ids to intrusive nodes: the connection's open calls and
 * sinks, looked up for every notification the server sends, so a lookup
 * costs O(1) however many calls a consumer registers.
 *
 * Chained hashing with a power-of-two bucket array that doubles as the map
 * fills. Inserting never fails: when the larger array cannot be allocated
 * the chains simply get longer (and a built-in single bucket serves when
 * not even the first array can be had), so a caller that preallocated its
 * node never has to undo anything. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct IdMapNode IdMapNode;
struct IdMapNode {
        uint64_t key;
        IdMapNode *next;
};

typedef struct IdMap {
        IdMapNode **buckets; /* n_buckets entries, or &fallback */
        size_t n_buckets;    /* a power of two; 0 before first use */
        size_t n;
        IdMapNode *fallback;
} IdMap;

#define IDMAP_INIT \
        { 0 }

/* The node with `key`, or NULL. */
IdMapNode *idmap_get(const IdMap *m, uint64_t key);
/* Insert node (its key set, not already in the map; keys must be unique). */
void idmap_put(IdMap *m, IdMapNode *node);
/* Remove node, which must be in the map. */
void idmap_remove(IdMap *m, IdMapNode *node);
/* Free the bucket array; the nodes belong to the caller. */
void idmap_done(IdMap *m);
