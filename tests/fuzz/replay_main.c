/* Replays a fuzz target's corpus as a normal test where libFuzzer is not built: every file under
 * the given directories (or the given files) is fed to LLVMFuzzerTestOneInput once, whole and
 * then in every prefix length up to 64 bytes, so truncation paths run too. Exit 0 when all ran;
 * crashes surface through the sanitizers or asserts. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    uint8_t *buf;
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    for (size_t len = 0; len < (size_t)n && len < 64; len++) {
        /* A fresh copy per call so the target can't read past `len` into valid bytes. */
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, buf, len);
        LLVMFuzzerTestOneInput(cut, len);
        free(cut);
    }
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int replay(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        struct dirent **ents;
        int n = scandir(path, &ents, NULL, alphasort), rc = 0;
        if (n < 0) {
            perror(path);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            char sub[4096];
            if (ents[i]->d_name[0] != '.' && rc == 0) {
                snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
                rc = replay(sub, count);
            }
            free(ents[i]);
        }
        free(ents);
        return rc;
    }
    (*count)++;
    return replay_file(path);
}

int main(int argc, char **argv)
{
    int count = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (replay(argv[i], &count) < 0)
            return 1;
    if (count == 0) {
        fprintf(stderr, "no corpus files found\n");
        return 1;
    }
    printf("replayed %d inputs\n", count);
    return 0;
}
