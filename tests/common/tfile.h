/* Files in tests: reading a whole one (reports, logs, generated configs), removing a folder. */
#ifndef TESTS_COMMON_TFILE_H
#define TESTS_COMMON_TFILE_H

/* The file's bytes with a NUL after them (malloc'd), or NULL when it cannot be read. */
char *tfile_read(const char *path);

/* Removes path and everything under it, without following symbolic links (a test's temporary
 * folder). Returns 0 (also when path does not exist) or -errno. */
int tfile_remove_tree(const char *path);

#endif
