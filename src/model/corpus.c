/* Reading FASTA / one-per-line corpora (optionally gzip) into token ids (include/poets/corpus.h). */
#include "poets/corpus.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "poets/json.h"

typedef struct {
    const char *path;
    const poets_tokenizer_t *tok;
    int skip_invalid;
    poets_corpus_t *c;
    size_t cap;
} reader_t;

/* Tokenises one complete sequence (seq[0..len)) starting at line `line`. */
static int add_sequence(reader_t *r, const char *seq, size_t len, long line, poets_err_t *err)
{
    if (len == 0) return 0;
    int *ids;
    size_t n;
    poets_err_t tok_err;
    if (poets_tokenizer_encode(r->tok, seq, len, &ids, &n, &tok_err) != 0) {
        if (r->skip_invalid) {
            r->c->skipped++;
            return 0;
        }
        return poets_fail(err, "%s: line %ld: %s (use --set invalid_records=skip to skip such sequences)", r->path,
                          line, tok_err.msg);
    }
    poets_corpus_t *c = r->c;
    if (c->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        c->ids = poets_xrealloc(c->ids, r->cap * sizeof *c->ids);
        c->len = poets_xrealloc(c->len, r->cap * sizeof *c->len);
    }
    c->ids[c->n] = ids;
    c->len[c->n] = (int)n;
    c->n++;
    c->residues += n;
    return 0;
}

int poets_corpus_read(const char *path, const poets_tokenizer_t *tok, int skip_invalid, poets_corpus_t *c,
                      poets_err_t *err)
{
    memset(c, 0, sizeof *c);
    gzFile f = gzopen(path, "rb");
    if (!f) return poets_fail(err, "%s: cannot open", path);
    reader_t r = {.path = path, .tok = tok, .skip_invalid = skip_invalid, .c = c};
    poets_strbuf_t seq = {0};
    char buf[65536];
    long line = 0, seq_line = 0;
    int fasta = -1, rc = 0;
    while (rc == 0 && gzgets(f, buf, sizeof buf)) {
        size_t n = strlen(buf);
        if (n == sizeof buf - 1 && buf[n - 1] != '\n') {
            rc = poets_fail(err, "%s: line %ld: longer than %zu bytes", path, line + 1, sizeof buf - 2);
            break;
        }
        line++;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
        if (fasta < 0 && n > 0) fasta = buf[0] == '>';
        if (fasta == 1) {
            if (buf[0] == '>') {
                rc = add_sequence(&r, seq.data, seq.len, seq_line, err);
                seq.len = 0;
                seq_line = line + 1;
            } else if (n > 0 && buf[0] != ';') {
                if (seq.len == 0) seq_line = line;
                poets_strbuf_append(&seq, buf, n);
            }
        } else if (n > 0 && buf[0] != '#') {
            rc = add_sequence(&r, buf, n, line, err);
        }
    }
    int zerr;
    const char *zmsg = gzerror(f, &zerr);
    if (rc == 0 && zerr != Z_OK && zerr != Z_STREAM_END) rc = poets_fail(err, "%s: read error: %s", path, zmsg);
    if (rc == 0 && fasta == 1) rc = add_sequence(&r, seq.data, seq.len, seq_line, err);
    gzclose(f);
    poets_strbuf_free(&seq);
    if (rc == 0 && c->n == 0) rc = poets_fail(err, "%s: no usable sequences", path);
    if (rc != 0) poets_corpus_free(c);
    return rc;
}

void poets_corpus_free(poets_corpus_t *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->ids[i]);
    free(c->ids);
    free(c->len);
    memset(c, 0, sizeof *c);
}
