/* Fuzz target for the inotify read-buffer parser (src/providers/
 * inotifyev.c) and the directory snapshot it drives (dirsnap.c): each
 * record's name must lie inside the input, and is applied to a snapshot as
 * the Linux_File event source would (a creation, a change or a removal
 * chosen from the mask), whose order is then checked. */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>

#include "dirsnap.h"
#include "inotifyev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Fuzz {
        const uint8_t *data;
        size_t size;
        DirSnap snap;
} Fuzz;

static int fuzz_event(void *userdata, const InotifyEvent *ev) {
        Fuzz *f = userdata;
        if (!ev->name)
                return 0;
        const uint8_t *name = (const uint8_t *)ev->name;
        assert(name >= f->data && ev->name_len < f->size &&
               (size_t)(name - f->data) <= f->size - ev->name_len);
        assert(memchr(ev->name, '\0', ev->name_len) == NULL);
        char copy[4096];
        if (ev->name_len >= sizeof(copy))
                return 0;
        memcpy(copy, ev->name, ev->name_len);
        copy[ev->name_len] = '\0';
        struct stat st = { .st_size = ev->cookie, .st_mode = ev->mask };
        DirChange ch;
        bool gone = ev->mask & (IN_DELETE | IN_MOVED_FROM);
        return dirsnap_update(&f->snap, copy, gone ? NULL : &st, &ch, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Fuzz f = { .data = data, .size = size };
        (void)inotifyev_parse(data, size, fuzz_event, &f);
        for (size_t k = 1; k < f.snap.n_entries; k++)
                assert(strcmp(f.snap.entries[k - 1].name, f.snap.entries[k].name) < 0);
        dirsnap_done(&f.snap);
        return 0;
}
