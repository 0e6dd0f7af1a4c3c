/* Slabs: memory for the small objects event registrations are made of
 * (the engine's filters and calls), in size classes on 64 KiB blocks
 * mapped for them alone.
 *
 * Why not malloc: a consumer's hundred thousand registrations would raise
 * the heap by megabytes, and once a lost consumer's are freed the heap
 * cannot give those pages back wherever one small live object sits on
 * one: anything allocated meanwhile (a response, a chunk glibc's
 * per-thread cache keeps where it was freed) ends up spread through the
 * freed space, and malloc_trim leaves every such page resident. On slabs
 * the registrations never touch the heap, and a block is unmapped as soon
 * as its last object is freed, so memory returns to where it was before
 * the consumer came (docs/liveness.md).
 *
 * A pool belongs to one owner (the engine's dispatcher, the server) and
 * is not thread-safe: the engine is single-threaded. Builds with
 * AddressSanitizer allocate with mem_malloc() instead, so that its
 * use-after-free and leak checks reach these objects too; the slab path
 * itself stays callable there (slab_alloc_mapped()) for its tests. */
#pragma once

#include <stddef.h>

/* 1 in builds with AddressSanitizer: slab_alloc() is mem_malloc(). */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_USES_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_USES_MALLOC 1
#endif
#endif
#ifndef SLAB_USES_MALLOC
#define SLAB_USES_MALLOC 0
#endif

/* Larger objects come from mem_malloc() (and go back through slab_free()). */
#define SLAB_MAX_OBJECT 512
#define SLAB_BLOCK_SIZE (64u * 1024)

typedef struct SlabPool SlabPool;

/* An empty pool; 0 or -ENOMEM. */
int slab_pool_new(SlabPool **ret);
/* Unmaps every block; returns NULL. Free the objects first: builds with
 * AddressSanitizer report those that are not as leaks. */
SlabPool *slab_pool_free(SlabPool *p);

/* size bytes aligned to 16, not zeroed; NULL when out of memory (or when
 * mem_fail_at() says so). */
void *slab_alloc(SlabPool *p, size_t size);
/* Accepts NULL; o from slab_alloc() on the same pool. */
void slab_free(SlabPool *p, void *o);

/* The slab path in every build (slab_alloc() takes it unless built with
 * AddressSanitizer): for tests. slab_free_mapped() also takes what
 * slab_alloc_mapped() handed on to mem_malloc(). */
void *slab_alloc_mapped(SlabPool *p, size_t size);
void slab_free_mapped(SlabPool *p, void *o);

/* Bytes mapped for the pool's blocks now, the one empty block kept for
 * reuse included. */
size_t slab_mapped_bytes(const SlabPool *p);
