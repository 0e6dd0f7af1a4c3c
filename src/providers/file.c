/* Linux_File: the entries of one directory, or one file, as the peer may
 * see them.
 *
 * A query must name what to read with a top-level AND term of its WHERE:
 * `Directory = '/var/log'` (the entries of that directory) or
 * `Path = '/etc/hosts'` (that one entry); anything else would walk the
 * whole filesystem and is refused (WBEM_E_NOT_SUPPORTED), as is
 * EnumInstances. GetObject takes the Path key.
 *
 * The directory is opened for the peer by fsaccess_open_dir(): a listing
 * needs read and search permission on it and search on every directory
 * above, checked against the peer's ids (the daemon's privileges lend no
 * sight; WBEM_E_ACCESS_DENIED). One entry needs search permission on the
 * directories down to it. A directory that does not exist (or is no
 * directory) has no entries: an empty result.
 *
 * An enumeration is a cursor over the open directory: each enum_next()
 * reads entries until one can be lstat()ed, so a directory of a million
 * entries is answered a piece at a time. Entries that vanish meanwhile are
 * skipped. Links are not followed: a symbolic link is an instance of Type
 * "SymbolicLink" with its own size and times.
 *
 * Paths are bytes; the properties are UTF-8, so a name that is not valid
 * UTF-8 shows U+FFFD in its place (and its Path then names no file).
 * Directory and Path are written as the query wrote them: a normal
 * absolute path, through symbolic links if it goes through them.
 *
 * Events are native (inotify, filewatch.h): a subscription must name the
 * directory with a top-level `TargetInstance.Directory = '/some/dir'`,
 * and the subscriber must be allowed to list it, as for a query. The
 * engine runs one source per directory (the key: the path as written),
 * shared by the subscriptions that name it; all sources share the
 * provider's one inotify descriptor, watched on the daemon's loop through
 * one of them (another takes it over when that one stops). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "filewatch.h"
#include "fsaccess.h"
#include "mem.h"
#include "names.h"
#include "props.h"
#include "providers.h"

/* name, type, is_array, is_key */
static const CimPropertySpec file_properties[] = {
        /* clang-format off */
        { "Path", CIM_STRING, false, true },
        { "Directory", CIM_STRING, false, false },
        { "Name", CIM_STRING, false, false },
        { "Extension", CIM_STRING, false, false },
        { "Size", CIM_UINT64, false, false },
        { "Mode", CIM_UINT32, false, false },
        { "UserId", CIM_UINT32, false, false },
        { "GroupId", CIM_UINT32, false, false },
        { "ModifiedTime", CIM_DATETIME, false, false },
        { "ChangedTime", CIM_DATETIME, false, false },
        { "Type", CIM_STRING, false, false },
        /* clang-format on */
};

typedef struct FileSource FileSource;

/* The provider's state: the inotify watcher and the sources using it. */
typedef struct FileProvider {
        Provider provider; /* handed out; userdata points back here */
        FileWatch *fw;     /* while a source runs */
        FileSource *sources;
        FileSource *host; /* the source whose loop watch reads fw's descriptor */
        void *fd_watch;
} FileProvider;

struct FileSource {
        FileSource *next;
        FileProvider *fp;
        EventSource *src;
        CimClass *cls;
        char *ns;
        FileWatchDir *dir;
        bool gone; /* the directory went: end the source after this dispatch */
};

typedef struct FileCursor {
        CimClass *cls;
        char *ns;
        char *directory; /* as the query wrote it */
        DIR *dir;        /* listing mode */
        int dir_fd;      /* single mode: the parent, O_PATH */
        char *name;      /* single mode: the entry */
        bool single_done;
} FileCursor;

const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFREG:
                return "File";
        case S_IFDIR:
                return "Directory";
        case S_IFLNK:
                return "SymbolicLink";
        case S_IFCHR:
                return "CharacterDevice";
        case S_IFBLK:
                return "BlockDevice";
        case S_IFIFO:
                return "FIFO";
        case S_IFSOCK:
                return "Socket";
        default:
                return "Unknown";
        }
}

const char *file_extension(const char *name) {
        const char *dot = strrchr(name, '.');
        if (!dot || dot == name || dot[1] == '\0')
                return "";
        return dot + 1;
}

static int64_t file_usec(const struct timespec *ts) {
        return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

static int file_set_properties(Instance *inst, const char *directory, const char *name,
                               const char *path, const struct stat *st, Error *err) {
        int r;
        if ((r = props_set_string(inst, "Path", path, err)) != 0 ||
            (r = props_set_string(inst, "Directory", directory, err)) != 0 ||
            (r = props_set_string(inst, "Name", name, err)) != 0 ||
            (r = props_set_string(inst, "Extension", file_extension(name), err)) != 0 ||
            (r = props_set_uint(inst, "Size", CIM_UINT64,
                                st->st_size > 0 ? (uint64_t)st->st_size : 0, err)) != 0 ||
            (r = props_set_uint(inst, "Mode", CIM_UINT32, st->st_mode & 07777, err)) != 0 ||
            (r = props_set_uint(inst, "UserId", CIM_UINT32, st->st_uid, err)) != 0 ||
            (r = props_set_uint(inst, "GroupId", CIM_UINT32, st->st_gid, err)) != 0 ||
            (r = props_set_local_datetime(inst, "ModifiedTime", file_usec(&st->st_mtim), err)) !=
                    0 ||
            (r = props_set_local_datetime(inst, "ChangedTime", file_usec(&st->st_ctim), err)) != 0)
                return r;
        return props_set_string(inst, "Type", file_type_name(st->st_mode), err);
}

int file_instance_new(CimClass *cls, const char *ns, const char *directory, const char *name,
                      const struct stat *st, Instance **ret, Error *err) {
        _cleanup_free_ char *path =
                mem_printf("%s/%s", strcmp(directory, "/") == 0 ? "" : directory, name);
        if (!path)
                return -ENOMEM;
        Instance *inst = NULL;
        int r = instance_new(cls, &inst);
        if (r != 0)
                return r;
        r = instance_set_namespace(inst, ns);
        if (r == 0)
                r = file_set_properties(inst, directory, name, path, st, err);
        if (r != 0) {
                instance_unref(inst);
                return r;
        }
        *ret = inst;
        return 0;
}
/* An instance of an entry known by name only (created and gone before it
 * could be looked at): Path, Directory, Name and Extension. */
static int file_instance_names(CimClass *cls, const char *ns, const char *directory,
                               const char *name, Instance **ret, Error *err) {
        _cleanup_free_ char *path =
                mem_printf("%s/%s", strcmp(directory, "/") == 0 ? "" : directory, name);
        if (!path)
                return -ENOMEM;
        Instance *inst = NULL;
        int r = instance_new(cls, &inst);
        if (r != 0)
                return r;
        if ((r = instance_set_namespace(inst, ns)) != 0 ||
            (r = props_set_string(inst, "Path", path, err)) != 0 ||
            (r = props_set_string(inst, "Directory", directory, err)) != 0 ||
            (r = props_set_string(inst, "Name", name, err)) != 0 ||
            (r = props_set_string(inst, "Extension", file_extension(name), err)) != 0) {
                instance_unref(inst);
                return r;
        }
        *ret = inst;
        return 0;
}

static int file_check_class(const CimClass *cls, Error *err) {
        if (!cls || !cls->name || !name_equal(cls->name, FILE_CLASS))
                return error_set(err, WBEM_E_INVALID_CLASS, "the file provider serves %s, not %s",
                                 FILE_CLASS, cls && cls->name ? cls->name : "(none)");
        return 0;
}

static int file_get_classes(Provider *p, CimClass ***ret, size_t *ret_count, Error *err) {
        (void)p;
        return props_one_class(FILE_CLASS, false, file_properties, ELEMENTSOF(file_properties), ret,
                               ret_count, err);
}

/* The string literal a top-level AND term `prop = 'literal'` of e gives. */
static const char *file_where_string(const WqlExpr *e, const char *prop) {
        while (e && e->kind == WQL_EXPR_AND) {
                const char *s = file_where_string(e->binary.right, prop);
                if (s)
                        return s;
                e = e->binary.left;
        }
        if (!e || e->kind != WQL_EXPR_COMPARE || e->compare.op != WQL_OP_EQ)
                return NULL;
        const WqlOperand *l = &e->compare.left, *r = &e->compare.right;
        if (!l->is_property || l->prop.n_parts != 1 || !name_equal(l->prop.parts[0], prop) ||
            r->is_property || r->lit.kind != WQL_LIT_STRING)
                return NULL;
        return r->lit.s;
}

/* Split normal path "/a/b/c" into a new directory "/a/b" and name "c". */
static int file_split(const char *path, char **ret_dir, char **ret_name) {
        const char *slash = strrchr(path, '/');
        char *dir = slash == path ? mem_strdup("/") : mem_strndup(path, (size_t)(slash - path));
        char *name = mem_strdup(slash + 1);
        if (!dir || !name) {
                mem_free(dir);
                mem_free(name);
                return -ENOMEM;
        }
        *ret_dir = dir;
        *ret_name = name;
        return 0;
}

static int file_not_normal(int status, const char *what, const char *path, Error *err) {
        return error_set(err, status,
                         "%s: %s must be an absolute path without empty, '.' or '..' components "
                         "and without a trailing '/': '%s'",
                         FILE_CLASS, what, path);
}

static void file_cursor_free(FileCursor *c) {
        if (!c)
                return;
        if (c->dir)
                closedir(c->dir);
        if (c->dir_fd >= 0)
                close(c->dir_fd);
        if (c->cls)
                class_unref(c->cls);
        mem_free(c->ns);
        mem_free(c->directory);
        mem_free(c->name);
        mem_free(c);
}

/* An error of fsaccess_open_dir() as the provider's answer; -ENOENT and
 * -ENOTDIR (nothing there) come back as they are. */
static void file_cursor_freep(FileCursor **c) {
        file_cursor_free(*c);
}

static int file_open_error(int r, const char *path, Error *err) {
        if (r > 0 || r == -ENOMEM || r == -ENOENT || r == -ENOTDIR)
                return r;
        return error_set(err, WBEM_E_PROVIDER_FAILURE, "%s: cannot open %s: %s", FILE_CLASS, path,
                         strerror(-r));
}

static int file_enum_begin(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                           const ProviderCaller *caller, ProviderCursor **ret, bool *ret_filtered,
                           Error *err) {
        int r = file_check_class(cls, err);
        if (r != 0)
                return r;
        const WqlExpr *where = query ? query->where : NULL;
        const char *path = file_where_string(where, "Path");
        const char *directory = path ? NULL : file_where_string(where, "Directory");
        if (!path && !directory)
                return error_set(err, WBEM_E_NOT_SUPPORTED,
                                 "%s: a query must name a directory, with WHERE Directory = "
                                 "'/some/dir' (or one file, with Path = '/some/dir/file') as a "
                                 "top-level AND term; reading every file of the filesystem is "
                                 "not supported",
                                 FILE_CLASS);
        if (!fsaccess_path_is_normal(path ? path : directory))
                return file_not_normal(WBEM_E_INVALID_QUERY, path ? "Path" : "Directory",
                                       path ? path : directory, err);

        _cleanup_(file_cursor_freep) FileCursor *c = mem_calloc(1, sizeof(FileCursor));
        if (!c)
                return -ENOMEM;
        c->dir_fd = -1;
        c->ns = mem_strdup(ns ? ns : p->ns);
        if (!c->ns)
                return -ENOMEM;
        c->cls = class_ref(cls);
        if (path) {
                if (strcmp(path, "/") == 0) {
                        c->single_done = true; /* "/" is in no directory */
                } else {
                        r = file_split(path, &c->directory, &c->name);
                        if (r < 0)
                                return r;
                        r = fsaccess_open_dir(c->directory, caller, false, &c->dir_fd, err);
                        if (r == -ENOENT || r == -ENOTDIR)
                                c->single_done = true;
                        else if (r != 0)
                                return file_open_error(r, c->directory, err);
                }
        } else {
                c->directory = mem_strdup(directory);
                if (!c->directory)
                        return -ENOMEM;
                int fd = -1;
                r = fsaccess_open_dir(directory, caller, true, &fd, err);
                if (r == -ENOENT || r == -ENOTDIR)
                        c->single_done = true; /* no entries */
                else if (r != 0)
                        return file_open_error(r, directory, err);
                else {
                        c->dir = fdopendir(fd);
                        if (!c->dir) {
                                r = -errno;
                                close(fd);
                                return file_open_error(r, directory, err);
                        }
                }
        }
        /* Every instance matches the term; the rest of WHERE is the engine's. */
        *ret_filtered = where->kind == WQL_EXPR_COMPARE;
        *ret = (ProviderCursor *)TAKE_PTR(c);
        return 0;
}

static int file_enum_next(ProviderCursor *pc, Instance **ret, Error *err) {
        FileCursor *c = (FileCursor *)pc;
        struct stat st;
        int r;

        if (!c->dir) {
                if (c->single_done)
                        return 0;
                c->single_done = true;
                if (fstatat(c->dir_fd, c->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return errno == ENOMEM ? -ENOMEM : 0;
                r = file_instance_new(c->cls, c->ns, c->directory, c->name, &st, ret, err);
                return r == 0 ? 1 : r;
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(c->dir);
                if (!de) {
                        if (errno == 0)
                                return 0;
                        return error_set(err, WBEM_E_PROVIDER_FAILURE, "%s: reading %s: %s",
                                         FILE_CLASS, c->directory, strerror(errno));
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(c->dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOMEM)
                                return -ENOMEM;
                        continue; /* gone since readdir */
                }
                r = file_instance_new(c->cls, c->ns, c->directory, de->d_name, &st, ret, err);
                return r == 0 ? 1 : r;
        }
}

static void file_enum_end(ProviderCursor *pc) {
        file_cursor_free((FileCursor *)pc);
}

static int file_get_instance(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                             const ProviderCaller *caller, Instance **ret, Error *err) {
        int r = file_check_class(cls, err);
        if (r != 0)
                return r;
        if (!path || path->n_keys != 1 ||
            (path->keys[0].name && !name_equal(path->keys[0].name, "Path")))
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "a %s path has one key, Path",
                                 FILE_CLASS);
        const Value *v = &path->keys[0].value;
        if (v->is_array || v->is_null || v->type != CIM_STRING)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "%s.Path must be a string",
                                 FILE_CLASS);
        if (!fsaccess_path_is_normal(v->s))
                return file_not_normal(WBEM_E_INVALID_OBJECT_PATH, "Path", v->s, err);
        if (strcmp(v->s, "/") == 0)
                return error_set(err, WBEM_E_NOT_FOUND, "%s: / is in no directory", FILE_CLASS);

        _cleanup_free_ char *dir = NULL, *name = NULL;
        r = file_split(v->s, &dir, &name);
        if (r < 0)
                return r;
        int fd = -1;
        r = fsaccess_open_dir(dir, caller, false, &fd, err);
        if (r == -ENOENT || r == -ENOTDIR)
                return error_set(err, WBEM_E_NOT_FOUND, "%s: no such file %s", FILE_CLASS, v->s);
        if (r != 0)
                return file_open_error(r, dir, err);
        struct stat st;
        int s = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW);
        int saved = errno;
        close(fd);
        if (s < 0) {
                if (saved == ENOMEM)
                        return -ENOMEM;
                return error_set(err, WBEM_E_NOT_FOUND, "%s: no such file %s", FILE_CLASS, v->s);
        }
        return file_instance_new(cls, ns ? ns : p->ns, dir, name, &st, ret, err);
}

/* ---- events ------------------------------------------------------------------ */

static void file_instance_unrefp(Instance **i) {
        if (*i)
                instance_unref(*i);
}

static int file_event_instance(FileSource *fs, const char *directory, const char *name,
                               const struct stat *st, Instance **ret) {
        if (!st)
                return file_instance_names(fs->cls, fs->ns, directory, name, ret, NULL);
        return file_instance_new(fs->cls, fs->ns, directory, name, st, ret, NULL);
}

/* filewatch's report of a change in fs's directory: the event, if any
 * registration of fs wants its kind. An instance that cannot be built
 * for lack of memory is dropped (as the engine counts its own). */
static void file_source_change(void *userdata, const char *directory, const char *name,
                               DirChange change, const struct stat *before,
                               const struct stat *after) {
        FileSource *fs = userdata;
        ProviderEvent kind = change == DIR_CREATED   ? PROVIDER_EVENT_CREATION
                             : change == DIR_DELETED ? PROVIDER_EVENT_DELETION
                                                     : PROVIDER_EVENT_MODIFICATION;
        if (!event_source_wants(fs->src, kind))
                return;
        _cleanup_(file_instance_unrefp) Instance *target = NULL;
        _cleanup_(file_instance_unrefp) Instance *previous = NULL;
        if (file_event_instance(fs, directory, name, change == DIR_DELETED ? before : after,
                                &target) != 0)
                return;
        if (change == DIR_MODIFIED &&
            file_event_instance(fs, directory, name, before, &previous) != 0)
                return;
        event_source_raise(fs->src, kind, target, previous);
}

static void file_source_gone(void *userdata, const char *directory) {
        FileSource *fs = userdata;
        (void)directory;
        fs->gone = true;
}

static const FileWatchOps file_watch_ops = {
        .change = file_source_change,
        .gone = file_source_gone,
};

/* The inotify descriptor is readable. */
static void file_watch_ready(void *arg) {
        FileProvider *fp = arg;
        FileWatchStats before, after;
        filewatch_stats(fp->fw, &before);
        int r = filewatch_dispatch(fp->fw);
        filewatch_stats(fp->fw, &after);
        /* lost events (each rescanned): counted in LWMI_Daemon.SourceOverflows */
        for (uint64_t k = before.overflows; k < after.overflows && fp->sources; k++)
                event_source_overflowed(fp->sources->src);
        char message[256];
        if (r < 0 && r != -ENOMEM) {
                /* The watcher is unusable: end every source. Each failure
                 * stops its source (source_stop unlinks it). */
                snprintf(message, sizeof(message), "%s: reading inotify events: %s", FILE_CLASS,
                         strerror(-r));
                while (fp->sources)
                        event_source_fail(fp->sources->src, WBEM_E_PROVIDER_FAILURE, message);
                return;
        }
        /* Directories that went: end their sources, one at a time (each
         * failure may free it and change the list). */
        for (FileSource *fs = fp->sources; fs;) {
                if (!fs->gone) {
                        fs = fs->next;
                        continue;
                }
                snprintf(message, sizeof(message),
                         "%s: directory %s was deleted, moved or unmounted", FILE_CLASS,
                         filewatch_dir_name(fs->dir));
                fs->gone = false;
                event_source_fail(fs->src, WBEM_E_NOT_FOUND, message);
                fs = fp->sources;
        }
}

static int file_source_check(Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                             const ProviderCaller *caller, char **ret_key, char *why,
                             size_t why_size, Error *err) {
        (void)p, (void)ns, (void)why, (void)why_size;
        int r = file_check_class(cls, err);
        if (r != 0)
                return r;
        static const char *const parts[] = { "TargetInstance", "Directory" };
        const WqlLiteral *l = wql_find_equality(q ? q->where : NULL, parts, 2);
        if (!l || l->kind != WQL_LIT_STRING)
                return error_set(err, WBEM_E_NOT_SUPPORTED,
                                 "%s: events need the directory to watch, as a top-level AND "
                                 "term TargetInstance.Directory = '/some/dir'",
                                 FILE_CLASS);
        if (!fsaccess_path_is_normal(l->s))
                return file_not_normal(WBEM_E_INVALID_QUERY, "TargetInstance.Directory", l->s, err);
        /* The subscriber may watch only what it may list. */
        int fd = -1;
        r = fsaccess_open_dir(l->s, caller, true, &fd, err);
        if (r == -ENOENT || r == -ENOTDIR)
                return error_set(err, WBEM_E_NOT_FOUND, "%s: no directory %s to watch", FILE_CLASS,
                                 l->s);
        if (r != 0)
                return file_open_error(r, l->s, err);
        close(fd);
        char *key = mem_strdup(l->s);
        if (!key)
                return -ENOMEM;
        *ret_key = key;
        return 1;
}

static void file_source_free(FileSource *fs) {
        if (fs->cls)
                class_unref(fs->cls);
        mem_free(fs->ns);
        mem_free(fs);
}

/* Read the descriptor through a loop watch of fs (the host). */
static int file_host(FileProvider *fp, FileSource *fs) {
        void *w = event_source_watch(fs->src, filewatch_fd(fp->fw), file_watch_ready, fp);
        if (!w)
                return -ENOMEM;
        fp->host = fs;
        fp->fd_watch = w;
        return 0;
}

static int file_source_start(Provider *p, const char *ns, const char *key, EventSource *src,
                             ProviderSource **ret, Error *err) {
        FileProvider *fp = p->userdata;
        FileSource *fs = mem_calloc(1, sizeof(FileSource));
        if (!fs)
                return -ENOMEM;
        fs->fp = fp;
        fs->src = src;
        fs->ns = mem_strdup(ns ? ns : p->ns);
        if (!fs->ns) {
                file_source_free(fs);
                return -ENOMEM;
        }
        int r = event_source_class(src, FILE_CLASS, &fs->cls, err);
        bool made_fw = false;
        if (r == 0 && !fp->fw) {
                r = filewatch_new(&file_watch_ops, &fp->fw, err);
                made_fw = r == 0;
        }
        if (r == 0) {
                r = filewatch_add(fp->fw, key, fs, &fs->dir, err);
                if (r == -ENOENT || r == -ENOTDIR)
                        r = error_set(err, WBEM_E_NOT_FOUND, "%s: no directory %s to watch",
                                      FILE_CLASS, key);
                else if (r < 0 && r != -ENOMEM)
                        r = file_open_error(r, key, err);
        }
        if (r == 0 && !fp->host) {
                r = file_host(fp, fs);
                if (r != 0)
                        filewatch_remove(fp->fw, fs->dir);
        }
        if (r != 0) {
                if (made_fw)
                        fp->fw = filewatch_free(fp->fw);
                file_source_free(fs);
                return r;
        }
        fs->next = fp->sources;
        fp->sources = fs;
        *ret = (ProviderSource *)fs;
        return 0;
}

static void file_source_stop(ProviderSource *s) {
        FileSource *fs = (FileSource *)s;
        FileProvider *fp = fs->fp;
        for (FileSource **q = &fp->sources; *q; q = &(*q)->next)
                if (*q == fs) {
                        *q = fs->next;
                        break;
                }
        filewatch_remove(fp->fw, fs->dir);
        if (fp->host == fs) {
                event_source_unwatch(fs->src, fp->fd_watch);
                fp->host = NULL;
                fp->fd_watch = NULL;
                /* Another source takes the descriptor over. Without memory
                 * for that the others hear nothing until the next source
                 * starts and hosts it (ending them is not allowed here). */
                if (fp->sources)
                        (void)file_host(fp, fp->sources);
        }
        if (!fp->sources)
                fp->fw = filewatch_free(fp->fw);
        file_source_free(fs);
}

static size_t file_source_watches(Provider *p) {
        return file_provider_watches(p, NULL);
}

size_t file_provider_watches(const Provider *p, uint64_t *ret_overflows) {
        const FileProvider *fp = p->userdata;
        FileWatchStats st = { 0 };
        if (fp->fw)
                filewatch_stats(fp->fw, &st);
        if (ret_overflows)
                *ret_overflows = st.overflows;
        return st.watches;
}

static void file_free(Provider *p) {
        if (!p)
                return;
        FileProvider *fp = p->userdata;
        filewatch_free(fp->fw);
        mem_free(fp);
}

static const ProviderOps file_ops = {
        .get_classes = file_get_classes,
        .enum_begin = file_enum_begin,
        .enum_next = file_enum_next,
        .enum_end = file_enum_end,
        .get_instance = file_get_instance,
        .free = file_free,
        .source_check = file_source_check,
        .source_start = file_source_start,
        .source_stop = file_source_stop,
        .source_watches = file_source_watches,
};

int file_provider_new(Provider **ret) {
        FileProvider *fp = mem_calloc(1, sizeof(FileProvider));
        if (!fp)
                return -ENOMEM;
        fp->provider = (Provider){
                .name = "file",
                .ns = FILE_NAMESPACE,
                .ops = &file_ops,
                .userdata = fp,
        };
        *ret = &fp->provider;
        return 0;
}
