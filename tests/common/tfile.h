/* Reading a whole file in tests (reports, logs, generated configs). */
#ifndef TESTS_COMMON_TFILE_H
#define TESTS_COMMON_TFILE_H

/* The file's bytes with a NUL after them (malloc'd), or NULL when it cannot be read. */
char *tfile_read(const char *path);

#endif
