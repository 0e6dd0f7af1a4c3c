/* Replay driver for the fuzz targets in the ordinary builds (without
 * libFuzzer): it feeds LLVMFuzzerTestOneInput() the empty input and then
 * every file named on the command line or found (recursively, in name order,
 * hidden files skipped) in a directory named there. The build runs each target
 * this way over its fuzz/corpus/<name>/, so the seeds and every crash input
 * ever committed are replayed by the normal test suite and under ASan/UBSan
 * (as systemd's test/fuzz and SQLite's fuzzcheck do).
 *
 * Each input is read into a buffer of exactly its size, so a parser reading
 * one byte too far trips AddressSanitizer here as it would under libFuzzer.
 * The driver uses plain malloc(): it is a harness, and must not move the
 * mem_*() allocation counter that failure-injection tests rely on. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Runs one file through the target; 0, or -1 after saying why it could not
 * be read. A crash in the target ends the process, which is the point. */
static int replay_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                return -1;
        }

        struct stat st;
        if (fstat(fileno(f), &st) < 0) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                fclose(f);
                return -1;
        }
        size_t size = (size_t)st.st_size;
        uint8_t *data = malloc(size > 0 ? size : 1);
        if (!data) {
                fprintf(stderr, "fuzz-main: %s: out of memory\n", path);
                fclose(f);
                return -1;
        }
        if (size > 0 && fread(data, 1, size, f) != size) {
                fprintf(stderr, "fuzz-main: %s: short read\n", path);
                free(data);
                fclose(f);
                return -1;
        }
        fclose(f);

        /* Name the input before running it, so a crash report says which. */
        printf("fuzz-main: %s (%zu bytes)\n", path, size);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 0;
}

static int name_is_visible(const struct dirent *d) {
        return d->d_name[0] != '.';
}

/* Replays a file, or every file below a directory; returns the number of
 * inputs run in *n_run and 0, or -1 if some input could not be read. */
static int replay_path(const char *path, unsigned depth, unsigned long *n_run) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                if (replay_file(path) < 0)
                        return -1;
                (*n_run)++;
                return 0;
        }
        if (depth > 16) {
                fprintf(stderr, "fuzz-main: %s: directories nested too deep\n", path);
                return -1;
        }

        struct dirent **entries;
        int n = scandir(path, &entries, name_is_visible, alphasort);
        if (n < 0) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                return -1;
        }
        int r = 0;
        for (int i = 0; i < n; i++) {
                char *child = NULL;
                if (asprintf(&child, "%s/%s", path, entries[i]->d_name) < 0) {
                        fprintf(stderr, "fuzz-main: out of memory\n");
                        r = -1;
                } else if (replay_path(child, depth + 1, n_run) < 0) {
                        r = -1;
                }
                free(child);
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char **argv) {
        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);

        /* libFuzzer always tries the empty input first; so do we. */
        LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
        unsigned long n_run = 1;

        int r = 0;
        for (int i = 1; i < argc; i++)
                if (replay_path(argv[i], 0, &n_run) < 0)
                        r = -1;

        printf("fuzz-main: %lu inputs replayed%s\n", n_run, r < 0 ? ", some unreadable" : "");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
