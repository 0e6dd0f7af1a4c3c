/* Size-class slabs on blocks mapped for them alone; see slab.h. */
#include "slab.h"

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
        char *end;
        uint32_t used, capacity;
        uint32_t object_size;
        bool has_room; /* on the class's list */
};

#define SLAB_HEADER (((sizeof(SlabBlock) + SLAB_ALIGN - 1) / SLAB_ALIGN) * SLAB_ALIGN)

static SlabBlock *with_room[SLAB_CLASSES];
/* One empty block kept mapped, so that a registration made and cancelled
 * over and over does not map and unmap a block each time. */
static SlabBlock *spare;
static size_t mapped_blocks;

/* The blocks' addresses, so that slab_free() tells a slab object from one
 * mem_malloc() made (whose rounded-down address may not be mapped at all):
 * open addressing, linear probing, at most half full. */
static uintptr_t *registry;
static size_t registry_mask, registry_count;

static size_t registry_slot(uintptr_t block) {
        return (size_t)(((block / SLAB_BLOCK_SIZE) * UINT64_C(0x9E3779B97F4A7C15)) >> 17) &
               registry_mask;
}

static bool registry_has(uintptr_t block) {
        if (!registry)
                return false;
        for (size_t i = registry_slot(block);; i = (i + 1) & registry_mask) {
                if (registry[i] == block)
                        return true;
                if (registry[i] == 0)
                        return false;
        }
}

static void registry_put(uintptr_t block) {
        size_t i = registry_slot(block);
        while (registry[i] != 0)
                i = (i + 1) & registry_mask;
        registry[i] = block;
        registry_count++;
}

static int registry_reserve(void) {
        if (registry && (registry_count + 1) * 2 <= registry_mask + 1)
                return 0;
        size_t size = registry ? (registry_mask + 1) * 2 : 64;
        uintptr_t *old = registry;
        size_t old_size = old ? registry_mask + 1 : 0;
        uintptr_t *fresh = mem_calloc(size, sizeof(uintptr_t));
        if (!fresh)
                return -1;
        registry = fresh;
        registry_mask = size - 1;
        registry_count = 0;
        for (size_t i = 0; i < old_size; i++)
                if (old[i])
                        registry_put(old[i]);
        mem_free(old);
        return 0;
}

/* Removal with backward shift: no tombstones, so lookups stay short. */
static void registry_remove(uintptr_t block) {
        size_t i = registry_slot(block);
        while (registry[i] != block)
                i = (i + 1) & registry_mask;
        registry[i] = 0;
        registry_count--;
        for (size_t j = (i + 1) & registry_mask; registry[j] != 0; j = (j + 1) & registry_mask) {
                size_t home = registry_slot(registry[j]);
                /* registry[j] may move to the hole at i unless its home
                 * lies cyclically in (i, j] */
                bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
                if (!stays) {
                        registry[i] = registry[j];
                        registry[j] = 0;
                        i = j;
                }
        }
}

static SlabBlock *block_map(void) {
        /* twice the size, then the unaligned ends unmapped */
        size_t len = 2 * (size_t)SLAB_BLOCK_SIZE;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        uintptr_t at = ((uintptr_t)p + SLAB_BLOCK_SIZE - 1) & ~(uintptr_t)(SLAB_BLOCK_SIZE - 1);
        size_t head = at - (uintptr_t)p;
        size_t tail = len - head - SLAB_BLOCK_SIZE;
        if (head)
                (void)munmap(p, head);
        if (tail)
                (void)munmap((char *)at + SLAB_BLOCK_SIZE, tail);
        mapped_blocks++;
        return (SlabBlock *)at;
}

static void block_unmap(SlabBlock *b) {
        (void)munmap(b, SLAB_BLOCK_SIZE);
        mapped_blocks--;
}

static void list_add(SlabBlock *b, size_t cls) {
        b->prev = NULL;
        b->next = with_room[cls];
        if (b->next)
                b->next->prev = b;
        with_room[cls] = b;
        b->has_room = true;
}

static void list_remove(SlabBlock *b, size_t cls) {
        if (b->prev)
                b->prev->next = b->next;
        else
                with_room[cls] = b->next;
        if (b->next)
                b->next->prev = b->prev;
        b->has_room = false;
}

static SlabBlock *block_new(size_t cls) {
        if (registry_reserve() < 0)
                return NULL;
        SlabBlock *b = spare;
        spare = NULL;
        if (!b)
                b = block_map();
        if (!b)
                return NULL;
        b->object_size = (uint32_t)((cls + 1) * SLAB_ALIGN);
        b->free = NULL;
        b->fresh = (char *)b + SLAB_HEADER;
        b->end = (char *)b + SLAB_BLOCK_SIZE;
        b->used = 0;
        b->capacity = (uint32_t)((SLAB_BLOCK_SIZE - SLAB_HEADER) / b->object_size);
        registry_put((uintptr_t)b);
        list_add(b, cls);
        return b;
}

void *slab_alloc_mapped(size_t size) {
        if (size > SLAB_MAX_OBJECT)
                return mem_malloc(size);
        if (mem_fail_next())
                return NULL;
        size_t cls = size ? (size - 1) / SLAB_ALIGN : 0;
        SlabBlock *b = with_room[cls];
        if (!b) {
                b = block_new(cls);
                if (!b) /* no mapping to be had (vm.max_map_count?): the heap, then */
                        return mem_malloc(size ? size : 1);
        }
        void *p;
        if (b->free) {
                p = b->free;
                memcpy(&b->free, p, sizeof(void *));
        } else {
                p = b->fresh;
                b->fresh += b->object_size;
        }
        if (++b->used == b->capacity)
                list_remove(b, cls);
        return p;
}

void slab_free_mapped(void *p) {
        if (!p)
                return;
        uintptr_t at = (uintptr_t)p & ~(uintptr_t)(SLAB_BLOCK_SIZE - 1);
        if (!registry_has(at)) {
                mem_free(p);
                return;
        }
        SlabBlock *b = (SlabBlock *)at;
        size_t cls = b->object_size / SLAB_ALIGN - 1;
        memcpy(p, &b->free, sizeof(void *));
        b->free = p;
        if (b->used-- == b->capacity)
                list_add(b, cls);
        if (b->used > 0)
                return;
        /* empty: its pages go back to the system now */
        list_remove(b, cls);
        registry_remove(at);
        if (spare)
                block_unmap(spare);
        spare = b;
        /* the spare keeps its mapping, not its pages: it holds nothing */
        (void)madvise((char *)b + 4096, SLAB_BLOCK_SIZE - 4096, MADV_DONTNEED);
}

void *slab_alloc(size_t size) {
        return SLAB_USES_MALLOC ? mem_malloc(size ? size : 1) : slab_alloc_mapped(size);
}

void slab_free(void *p) {
        if (SLAB_USES_MALLOC)
                mem_free(p);
        else
                slab_free_mapped(p);
}

size_t slab_mapped_bytes(void) {
        return mapped_blocks * SLAB_BLOCK_SIZE;
}
