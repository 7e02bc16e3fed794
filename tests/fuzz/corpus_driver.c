/* tests/fuzz/corpus_driver.c: run the fuzz target over files, no libFuzzer.
 *
 * Owns: a main() that calls LLVMFuzzerTestOneInput once per file named on
 * the command line (or per file in a named directory), so a normal
 * `make check` exercises the seed corpus with the regular build.
 *
 * Must never: be linked into a libFuzzer build (it would clash with its main).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!f) {
                perror(path);
                return -1;
        }
        do {
                if (len == cap) {
                        cap = cap ? cap * 2 : 4096;
                        buf = realloc(buf, cap);
                        if (!buf) {
                                fclose(f);
                                return -1;
                        }
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
        } while (n > 0);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        return 0;
}

int main(int argc, char **argv)
{
        int files = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        DIR *d = opendir(argv[i]);
                        struct dirent *de;
                        char path[4096];
                        if (!d)
                                return 1;
                        while ((de = readdir(d))) {
                                if (de->d_name[0] == '.')
                                        continue;
                                snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                                if (run_file(path) < 0)
                                        return 1;
                                files++;
                        }
                        closedir(d);
                } else {
                        if (run_file(argv[i]) < 0)
                                return 1;
                        files++;
                }
        }
        printf("%d inputs parsed without a crash\n", files);
        return files > 0 ? 0 : 1;
}
