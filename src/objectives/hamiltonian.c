/* Loading and evaluating Pauli-sum Hamiltonians (data/hamiltonians/README.md). The loader checks
 * every rule of the format (fields, coefficient syntax, Pauli alphabet and length, duplicate
 * strings, the optional `# qubits:` / `# terms:` headers) and rejects the file on the first
 * violation; coefficients are validated against the decimal grammar before strtod sees them
 * (the engine never calls setlocale, so strtod runs in the "C" locale). */
#include "objectives/hamiltonian.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* 1 when s[0..n) is `[+-] (DIGITS | DIGITS. | DIGITS.DIGITS | .DIGITS) [(e|E) [+-] DIGITS]`. */
static int valid_coeff(const char *s, size_t n)
{
    size_t i = 0, before = 0, after = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && is_digit(s[i])) i++, before++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) i++, after++;
    }
    if (before + after == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t exp_digits = 0;
        while (i < n && is_digit(s[i])) i++, exp_digits++;
        if (!exp_digits) return 0;
    }
    return i == n;
}

/* Parses `# KEY: N` (a header comment) into *value; returns 1 when line is that header, 0 when
 * it is another comment, -1 when it names the key but the number is malformed. */
static int header_value(const char *line, size_t n, const char *key, long *value)
{
    size_t k = strlen(key);
    if (n < 2 + k + 1 || memcmp(line, "# ", 2) != 0 || memcmp(line + 2, key, k) != 0 || line[2 + k] != ':') return 0;
    size_t i = 3 + k;
    while (i < n && is_blank(line[i])) i++;
    size_t start = i;
    long v = 0;
    while (i < n && is_digit(line[i]) && v < 100000000) v = v * 10 + (line[i++] - '0');
    size_t end = i;
    while (i < n && is_blank(line[i])) i++;
    if (end == start || i != n) return -1;
    *value = v;
    return 1;
}

typedef struct header {
    long value;
    int line; /* 0: absent */
} header_t;

static int read_header(const char *line, size_t n, const char *key, header_t *h, const char *origin, int lineno,
                       poets_err_t *err)
{
    long v;
    int r = header_value(line, n, key, &v);
    if (r < 0) return poets_fail(err, "%s: line %d: header '# %s:' needs a decimal integer", origin, lineno, key);
    if (r > 0) {
        if (h->line) return poets_fail(err, "%s: line %d: header '# %s:' repeated (first on line %d)", origin, lineno, key, h->line);
        h->value = v;
        h->line = lineno;
    }
    return 0;
}

/* One term line (leading and trailing blanks already removed). */
static int parse_term(const char *s, size_t n, poets_hamiltonian_t *h, size_t *cap, const char *origin, int lineno,
                      poets_err_t *err)
{
    size_t f1 = 0;
    while (f1 < n && !is_blank(s[f1])) f1++;
    size_t f2 = f1;
    while (f2 < n && is_blank(s[f2])) f2++;
    size_t f2_end = f2;
    while (f2_end < n && !is_blank(s[f2_end])) f2_end++;
    if (f2 == n || f2_end != n)
        return poets_fail(err, "%s: line %d: expected two fields 'COEFF PAULISTRING', got %s", origin, lineno,
                          f2 == n ? "one" : "more than two");
    if (f1 > 64 || !valid_coeff(s, f1))
        return poets_fail(err, "%s: line %d: coefficient '%.*s' is not a decimal number", origin, lineno,
                          (int)(f1 > 32 ? 32 : f1), s);
    char num[80];
    memcpy(num, s, f1);
    num[f1] = '\0';
    double coeff = strtod(num, NULL);
    if (!isfinite(coeff)) return poets_fail(err, "%s: line %d: coefficient '%s' overflows", origin, lineno, num);
    size_t len = f2_end - f2;
    const char *ps = s + f2;
    if (len > POETS_HAMILTONIAN_MAX_QUBITS)
        return poets_fail(err, "%s: line %d: Pauli string of %zu characters (at most %d qubits)", origin, lineno, len,
                          POETS_HAMILTONIAN_MAX_QUBITS);
    if (h->n_terms > 0 && (int)len != h->n_qubits)
        return poets_fail(err, "%s: line %d: Pauli string of length %zu, earlier lines have %d", origin, lineno, len,
                          h->n_qubits);
    poets_pauli_term_t t = {.coeff = coeff};
    for (size_t j = 0; j < len; j++) {
        uint32_t bit = (uint32_t)1 << (len - 1 - j);
        switch (ps[j]) {
        case 'I': break;
        case 'X': t.mx |= bit; break;
        case 'Z': t.mz |= bit; break;
        case 'Y': t.mx |= bit; t.mz |= bit; t.ny++; break;
        default:
            return poets_fail(err, "%s: line %d: Pauli string '%.*s' has '%c' (expected only I, X, Y, Z)", origin, lineno,
                              (int)len, ps, ps[j]);
        }
    }
    for (size_t i = 0; i < h->n_terms; i++)
        if (h->terms[i].mx == t.mx && h->terms[i].mz == t.mz)
            return poets_fail(err, "%s: line %d: Pauli string '%.*s' listed twice", origin, lineno, (int)len, ps);
    if (h->n_terms == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        h->terms = poets_xrealloc(h->terms, *cap * sizeof *h->terms);
    }
    h->terms[h->n_terms++] = t;
    h->n_qubits = (int)len;
    return 0;
}

static int parse_lines(const char *text, size_t len, const char *origin, poets_hamiltonian_t *h, poets_err_t *err)
{
    header_t qubits = {0}, terms = {0};
    size_t cap = 0, pos = 0;
    for (int lineno = 1; pos < len; lineno++) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        size_t next = end < len ? end + 1 : end;
        if (end > pos && text[end - 1] == '\r') end--;
        for (size_t i = pos; i < end; i++) {
            unsigned char c = (unsigned char)text[i];
            if ((c < 0x20 || c > 0x7e) && c != '\t')
                return poets_fail(err, "%s: line %d: byte 0x%02X is not printable ASCII", origin, lineno, c);
        }
        while (pos < end && is_blank(text[pos])) pos++;
        while (end > pos && is_blank(text[end - 1])) end--;
        int rc = 0;
        if (pos < end && text[pos] == '#') {
            rc = read_header(text + pos, end - pos, "qubits", &qubits, origin, lineno, err) ||
                 read_header(text + pos, end - pos, "terms", &terms, origin, lineno, err);
        } else if (pos < end) {
            rc = parse_term(text + pos, end - pos, h, &cap, origin, lineno, err);
        }
        if (rc) return -1;
        pos = next;
    }
    if (h->n_terms == 0) return poets_fail(err, "%s: no term lines ('COEFF PAULISTRING')", origin);
    if (qubits.line && qubits.value != h->n_qubits)
        return poets_fail(err, "%s: line %d: header says %ld qubits, the Pauli strings have %d", origin, qubits.line,
                          qubits.value, h->n_qubits);
    if (terms.line && terms.value != (long)h->n_terms)
        return poets_fail(err, "%s: line %d: header says %ld terms, the file has %zu", origin, terms.line, terms.value,
                          h->n_terms);
    return 0;
}

int poets_hamiltonian_parse(const char *text, size_t len, const char *origin, poets_hamiltonian_t *h, poets_err_t *err)
{
    memset(h, 0, sizeof *h);
    if (parse_lines(text, len, origin, h, err) == 0) return 0;
    poets_hamiltonian_free(h);
    return -1;
}

int poets_hamiltonian_load(const char *path, poets_hamiltonian_t *h, poets_err_t *err)
{
    memset(h, 0, sizeof *h);
    char *text;
    size_t len;
    if (poets_read_file(path, &text, &len, err)) return -1;
    int rc = poets_hamiltonian_parse(text, len, path, h, err);
    free(text);
    return rc;
}

void poets_hamiltonian_free(poets_hamiltonian_t *h)
{
    free(h->terms);
    memset(h, 0, sizeof *h);
}

/* i^ny. */
static double complex i_power(int ny)
{
    static const double complex powers[4] = {1, I, -1, -I};
    return powers[ny & 3];
}

double poets_hamiltonian_expectation(const poets_hamiltonian_t *h, const double complex *psi)
{
    size_t dim = (size_t)1 << h->n_qubits;
    double total = 0;
    for (size_t t = 0; t < h->n_terms; t++) {
        const poets_pauli_term_t *p = &h->terms[t];
        double complex sum = 0;
        for (size_t i = 0; i < dim; i++) {
            double complex v = conj(psi[i ^ p->mx]) * psi[i];
            sum += (__builtin_popcountll(i & p->mz) & 1) ? -v : v;
        }
        total += p->coeff * creal(i_power(p->ny) * sum);
    }
    return total;
}

double complex *poets_hamiltonian_dense(const poets_hamiltonian_t *h)
{
    size_t dim = (size_t)1 << h->n_qubits;
    double complex *m = poets_xcalloc(dim * dim, sizeof *m);
    for (size_t t = 0; t < h->n_terms; t++) {
        const poets_pauli_term_t *p = &h->terms[t];
        double complex f = p->coeff * i_power(p->ny);
        for (size_t j = 0; j < dim; j++) m[(j ^ p->mx) * dim + j] += (__builtin_popcountll(j & p->mz) & 1) ? -f : f;
    }
    return m;
}
