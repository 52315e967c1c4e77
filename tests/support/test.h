/* Minimal test harness: each test binary runs its tests with RUN(fn) and ends with
 * `return test_summary();`. A test prints one line: "ok NAME", "FAIL NAME: why" or
 * "skip NAME: why"; tests/run.sh counts them. The exit code is the verdict. */
#ifndef POETS_TEST_H
#define POETS_TEST_H

#include <stdio.h>

extern const char *test_current;
extern int test_failed_now, test_skipped_now;

void test_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test_run(const char *name, void (*fn)(void));
int test_summary(void);
/* Relative L2 norm ‖a − b‖ / ‖b‖ computed in double. */
double test_rel_err(const float *a, const float *b, size_t n);
double test_rel_err_d(const double *a, const double *b, size_t n);
/* Directory holding the committed fixtures (tests/fixtures, or $POETS_FIXTURES). */
const char *test_fixture_dir(void);

#define RUN(fn) test_run(#fn, fn)
/* CHECK: records a failure with file:line and returns from the test function. */
#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            test_fail_at(__FILE__, __LINE__, __VA_ARGS__);                                                   \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)
#define SKIP(...)                                                                                            \
    do {                                                                                                     \
        test_skip(__VA_ARGS__);                                                                              \
        return;                                                                                              \
    } while (0)

#endif
