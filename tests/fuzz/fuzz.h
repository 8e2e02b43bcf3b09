/* Shared by the libFuzzer targets of tests/fuzz (one program each, built by `make fuzz`
 * into build-fuzz/fuzz_<name>, run by scripts/fuzz.sh). A target feeds one input to one
 * parser and checks what the parser promises; a broken promise aborts (libFuzzer then
 * saves the input as a crash). Memory errors, leaks and undefined behaviour are ASan's,
 * LeakSanitizer's and UBSan's to find.
 */
#ifndef ROSTER_FUZZ_H
#define ROSTER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A promise of the code under test: aborts naming it when cond does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* data[0..size) as a heap C string of exactly size + 1 bytes (a NUL inside ends it early,
 * as it would end a header or a query value). The caller frees it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Splits an input at its first '\n': *head becomes a heap C string of the bytes before it
 * (freed by the caller), and the bytes after it are returned as *tail, *tail_len (empty
 * when there is no '\n'). For targets that take two inputs (a header and a body). */
static inline void fuzz_split(const uint8_t *data, size_t size, char **head, const uint8_t **tail,
                              size_t *tail_len)
{
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    size_t hl = nl ? (size_t)(nl - data) : size;
    *head = fuzz_cstr(data, hl);
    *tail = nl ? nl + 1 : data + size;
    *tail_len = nl ? size - hl - 1 : 0;
}

#endif
