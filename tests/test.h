/* Tiny test framework for roster's C unit and contract tests: CHECK macros
 * record pass/fail (printing file:line and the expression on failure) and
 * test_finish() prints the final "N passed, N failed" line and returns the exit
 * code. Header-only: include it from exactly one .c file per test program, or,
 * in a program of several files, define TEST_SHARED_COUNTERS before including it
 * in each of them and TEST_DEFINE_COUNTERS in exactly one of them as well (the
 * counters are then one pair for the whole program).
 */
#ifndef ROSTER_TEST_H
#define ROSTER_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(TEST_DEFINE_COUNTERS)
int test_passed_, test_failed_;
#elif defined(TEST_SHARED_COUNTERS)
extern int test_passed_, test_failed_;
#else
static int test_passed_, test_failed_;
#endif

static inline void test_record_(int ok, const char *file, int line, const char *what)
{
    if (ok) {
        test_passed_++;
        return;
    }
    test_failed_++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
}

#define CHECK(cond) test_record_(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *test_a_ = (a), *test_b_ = (b);                                                 \
        int test_ok_ = (test_a_ == NULL && test_b_ == NULL) ||                                     \
                       (test_a_ && test_b_ && strcmp(test_a_, test_b_) == 0);                      \
        test_record_(test_ok_, __FILE__, __LINE__, #a " == " #b);                                  \
        if (!test_ok_)                                                                             \
            fprintf(stderr, "    got \"%s\", want \"%s\"\n", test_a_ ? test_a_ : "(null)",         \
                    test_b_ ? test_b_ : "(null)");                                                 \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long test_a_ = (long long)(a), test_b_ = (long long)(b);                              \
        test_record_(test_a_ == test_b_, __FILE__, __LINE__, #a " == " #b);                        \
        if (test_a_ != test_b_)                                                                    \
            fprintf(stderr, "    got %lld, want %lld\n", test_a_, test_b_);                        \
    } while (0)

static inline int test_finish(void)
{
    printf("%d passed, %d failed\n", test_passed_, test_failed_);
    return test_failed_ ? 1 : 0;
}

#endif
