/* Walking an inotify read buffer; see inotifyev.h. */
#include "inotifyev.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>

int inotifyev_parse(const void *buf, size_t len, int (*fn)(void *userdata, const InotifyEvent *ev),
                    void *userdata) {
        const char *p = buf, *end = p + len;
        while (p < end) {
                struct inotify_event h;
                size_t left = (size_t)(end - p);
                if (left < sizeof(h))
                        return -EBADMSG;
                memcpy(&h, p, sizeof(h));
                if (h.len > left - sizeof(h))
                        return -EBADMSG;
                InotifyEvent ev = { .wd = h.wd, .mask = h.mask, .cookie = h.cookie };
                if (h.len > 0) {
                        const char *name = p + sizeof(h);
                        const char *nul = memchr(name, '\0', h.len);
                        if (!nul)
                                return -EBADMSG;
                        ev.name = name;
                        ev.name_len = (size_t)(nul - name);
                        /* an empty name is the object itself */
                        if (ev.name_len == 0)
                                ev.name = NULL;
                }
                p += sizeof(h) + h.len;
                int r = fn(userdata, &ev);
                if (r != 0)
                        return r;
        }
        return 0;
}
