/* Implementation of the minimal test harness (tests/support/test.h). */
#include "test.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *test_current = "?";
int test_failed_now, test_skipped_now;
static int n_pass, n_fail, n_skip;
static char reason[1024];

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(reason, sizeof reason, "%s:%d: ", file, line);
    vsnprintf(reason + n, sizeof reason - (size_t)n, fmt, ap);
    va_end(ap);
    test_failed_now = 1;
}

void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    test_skipped_now = 1;
}

void test_run(const char *name, void (*fn)(void))
{
    test_current = name;
    test_failed_now = test_skipped_now = 0;
    reason[0] = '\0';
    fn();
    if (test_failed_now) {
        printf("FAIL %s: %s\n", name, reason);
        n_fail++;
    } else if (test_skipped_now) {
        printf("skip %s: %s\n", name, reason);
        n_skip++;
    } else {
        printf("ok %s\n", name);
        n_pass++;
    }
    fflush(stdout);
}

int test_summary(void)
{
    printf("# %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
    return n_fail ? 1 : 0;
}

double test_rel_err(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

double test_rel_err_d(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

const char *test_fixture_dir(void)
{
    const char *d = getenv("POETS_FIXTURES");
    return d && *d ? d : "tests/fixtures";
}
