/* Size-class slabs on blocks mapped for them alone; see slab.h. */
#include "slab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

#define SLAB_ALIGN 16
#define SLAB_CLASSES (SLAB_MAX_OBJECT / SLAB_ALIGN)

/* At the start of each block, which is SLAB_BLOCK_SIZE-aligned: an
 * object's block is its address rounded down. */
typedef struct SlabBlock SlabBlock;
struct SlabBlock {
        SlabBlock *next, *prev; /* the class's blocks with room */
        void *free;             /* freed objects, linked through their first word */
        char *fresh;            /* objects never handed out start here */
        uint32_t used, capacity;
        uint32_t object_size;
};

#define SLAB_HEADER (((sizeof(SlabBlock) + SLAB_ALIGN - 1) / SLAB_ALIGN) * SLAB_ALIGN)

struct SlabPool {
        SlabBlock *with_room[SLAB_CLASSES];
        /* One empty block kept mapped, so that a registration made and
         * cancelled over and over does not map and unmap a block each
         * time. */
        SlabBlock *spare;
        size_t mapped_blocks;
        /* The blocks' addresses, so that slab_free() tells a slab object
         * from one mem_malloc() made (whose rounded-down address may not
         * be mapped at all): open addressing, linear probing, at most
         * half full. */
        uintptr_t *registry;
        size_t registry_mask, registry_count;
};

static size_t registry_slot(const SlabPool *p, uintptr_t block) {
        return (size_t)(((block / SLAB_BLOCK_SIZE) * UINT64_C(0x9E3779B97F4A7C15)) >> 17) &
               p->registry_mask;
}

static bool registry_has(const SlabPool *p, uintptr_t block) {
        if (!p->registry)
                return false;
        for (size_t i = registry_slot(p, block);; i = (i + 1) & p->registry_mask) {
                if (p->registry[i] == block)
                        return true;
                if (p->registry[i] == 0)
                        return false;
        }
}

static void registry_put(SlabPool *p, uintptr_t block) {
        size_t i = registry_slot(p, block);
        while (p->registry[i] != 0)
                i = (i + 1) & p->registry_mask;
        p->registry[i] = block;
        p->registry_count++;
}

static int registry_reserve(SlabPool *p) {
        if (p->registry && (p->registry_count + 1) * 2 <= p->registry_mask + 1)
                return 0;
        size_t size = p->registry ? (p->registry_mask + 1) * 2 : 64;
        uintptr_t *old = p->registry;
        size_t old_size = old ? p->registry_mask + 1 : 0;
        uintptr_t *fresh = mem_calloc(size, sizeof(uintptr_t));
        if (!fresh)
                return -1;
        p->registry = fresh;
        p->registry_mask = size - 1;
        p->registry_count = 0;
        for (size_t i = 0; i < old_size; i++)
                if (old[i])
                        registry_put(p, old[i]);
        mem_free(old);
        return 0;
}

/* Removal with backward shift: no tombstones, so lookups stay short. */
static void registry_remove(SlabPool *p, uintptr_t block) {
        uintptr_t *r = p->registry;
        size_t mask = p->registry_mask;
        size_t i = registry_slot(p, block);
        while (r[i] != block)
                i = (i + 1) & mask;
        r[i] = 0;
        p->registry_count--;
        for (size_t j = (i + 1) & mask; r[j] != 0; j = (j + 1) & mask) {
                size_t home = registry_slot(p, r[j]);
                /* r[j] may move to the hole at i unless its home lies
                 * cyclically in (i, j] */
                bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
                if (!stays) {
                        r[i] = r[j];
                        r[j] = 0;
                        i = j;
                }
        }
}

static SlabBlock *block_map(SlabPool *p) {
        /* twice the size, then the unaligned ends unmapped */
        size_t len = 2 * (size_t)SLAB_BLOCK_SIZE;
        char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
                return NULL;
        uintptr_t at = ((uintptr_t)m + SLAB_BLOCK_SIZE - 1) & ~(uintptr_t)(SLAB_BLOCK_SIZE - 1);
        size_t head = at - (uintptr_t)m;
        size_t tail = len - head - SLAB_BLOCK_SIZE;
        if (head)
                (void)munmap(m, head);
        if (tail)
                (void)munmap((char *)at + SLAB_BLOCK_SIZE, tail);
        p->mapped_blocks++;
        return (SlabBlock *)at;
}

static void block_unmap(SlabPool *p, SlabBlock *b) {
        (void)munmap(b, SLAB_BLOCK_SIZE);
        p->mapped_blocks--;
}

static void list_add(SlabPool *p, SlabBlock *b, size_t cls) {
        b->prev = NULL;
        b->next = p->with_room[cls];
        if (b->next)
                b->next->prev = b;
        p->with_room[cls] = b;
}

static void list_remove(SlabPool *p, SlabBlock *b, size_t cls) {
        if (b->prev)
                b->prev->next = b->next;
        else
                p->with_room[cls] = b->next;
        if (b->next)
                b->next->prev = b->prev;
}

static SlabBlock *block_new(SlabPool *p, size_t cls) {
        if (registry_reserve(p) < 0)
                return NULL;
        SlabBlock *b = p->spare;
        p->spare = NULL;
        if (!b)
                b = block_map(p);
        if (!b)
                return NULL;
        b->object_size = (uint32_t)((cls + 1) * SLAB_ALIGN);
        b->free = NULL;
        b->fresh = (char *)b + SLAB_HEADER;
        b->used = 0;
        b->capacity = (uint32_t)((SLAB_BLOCK_SIZE - SLAB_HEADER) / b->object_size);
        registry_put(p, (uintptr_t)b);
        list_add(p, b, cls);
        return b;
}

int slab_pool_new(SlabPool **ret) {
        SlabPool *p = mem_calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

SlabPool *slab_pool_free(SlabPool *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; p->registry && i <= p->registry_mask; i++)
                if (p->registry[i])
                        block_unmap(p, (SlabBlock *)p->registry[i]);
        if (p->spare)
                block_unmap(p, p->spare);
        mem_free(p->registry);
        mem_free(p);
        return NULL;
}

void *slab_alloc_mapped(SlabPool *p, size_t size) {
        if (size > SLAB_MAX_OBJECT)
                return mem_malloc(size);
        if (mem_fail_next())
                return NULL;
        size_t cls = size ? (size - 1) / SLAB_ALIGN : 0;
        SlabBlock *b = p->with_room[cls];
        if (!b) {
                b = block_new(p, cls);
                if (!b) /* no mapping to be had (vm.max_map_count?): the heap, then */
                        return mem_malloc(size ? size : 1);
        }
        void *o;
        if (b->free) {
                o = b->free;
                memcpy(&b->free, o, sizeof(void *));
        } else {
                o = b->fresh;
                b->fresh += b->object_size;
        }
        if (++b->used == b->capacity)
                list_remove(p, b, cls);
        return o;
}

void slab_free_mapped(SlabPool *p, void *o) {
        if (!o)
                return;
        uintptr_t at = (uintptr_t)o & ~(uintptr_t)(SLAB_BLOCK_SIZE - 1);
        if (!registry_has(p, at)) {
                mem_free(o);
                return;
        }
        SlabBlock *b = (SlabBlock *)at;
        size_t cls = b->object_size / SLAB_ALIGN - 1;
        memcpy(o, &b->free, sizeof(void *));
        b->free = o;
        if (b->used-- == b->capacity)
                list_add(p, b, cls);
        if (b->used > 0)
                return;
        /* empty: its pages go back to the system now */
        list_remove(p, b, cls);
        registry_remove(p, at);
        if (p->spare)
                block_unmap(p, p->spare);
        p->spare = b;
        /* the spare keeps its mapping, not its pages: it holds nothing */
        (void)madvise((char *)b + 4096, SLAB_BLOCK_SIZE - 4096, MADV_DONTNEED);
}

void *slab_alloc(SlabPool *p, size_t size) {
        return SLAB_USES_MALLOC ? mem_malloc(size ? size : 1) : slab_alloc_mapped(p, size);
}

void slab_free(SlabPool *p, void *o) {
        if (SLAB_USES_MALLOC)
                mem_free(o);
        else
                slab_free_mapped(p, o);
}

size_t slab_mapped_bytes(const SlabPool *p) {
        return p->mapped_blocks * SLAB_BLOCK_SIZE;
}
