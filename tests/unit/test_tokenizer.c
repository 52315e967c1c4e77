/* Tests of the Hugging Face tokenizer (include/poets/tokenizer.h): the committed tiny-gpt2
 * fixture against ids and texts recorded with the tokenizers library, and small hand-built
 * tokenizers for the byte table, the pre-tokenizer, both merge forms, vocab.json + merges.txt,
 * added and special tokens, decoding, character vocabularies and bad files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/tokenizer_internal.h"
#include "model/unicode.h"
#include "poets/error.h"
#include "poets/json.h"
#include "poets/tokenizer.h"
#include "test.h"

static char tmp_dir[64];

/* Writes text to tmp_dir/name and returns the path (static buffer, valid until the next call). */
static const char *write_tmp(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

/* Ids 0..255: the byte characters in byte order; then the merged tokens of these merges. */
static const char *const test_merges[][2] = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"\xC4\xA0", "w"}, {"a", "a"},
                                             {"\xC4\xA0w", "o"}};
enum { ID_HE = 256, ID_LL, ID_HELL, ID_SPACE_W, ID_AA, ID_SPACE_WO, N_TEST_VOCAB };

static void append_vocab(poets_strbuf_t *sb)
{
    poets_strbuf_append(sb, "{", 1);
    for (int b = 0; b < 256; b++) {
        char c[5] = {0};
        poets_utf8_encode(tok_byte_to_cp((unsigned char)b), c);
        poets_strbuf_json_string(sb, c);
        poets_strbuf_printf(sb, ":%d,", b);
    }
    for (int m = 0; m < N_TEST_VOCAB - 256; m++) {
        char joined[32];
        snprintf(joined, sizeof joined, "%s%s", test_merges[m][0], test_merges[m][1]);
        poets_strbuf_json_string(sb, joined);
        poets_strbuf_printf(sb, ":%d%s", 256 + m, m + 1 < N_TEST_VOCAB - 256 ? "," : "}");
    }
}

/* A byte-level tokenizer.json; merges in the pair form or the legacy "a b" form. */
static char *byte_level_json(int pair_form, const char *added_tokens, const char *decoder)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_printf(&sb,
                        "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":%s,"
                        "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                        "\"trim_offsets\":true,\"use_regex\":true},\"post_processor\":null,\"decoder\":%s,"
                        "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,"
                        "\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,\"fuse_unk\":false,"
                        "\"byte_fallback\":false,\"ignore_merges\":false,\"vocab\":",
                        added_tokens, decoder);
    append_vocab(&sb);
    poets_strbuf_printf(&sb, ",\"merges\":[");
    for (int m = 0; m < N_TEST_VOCAB - 256; m++) {
        if (pair_form) {
            poets_strbuf_printf(&sb, "[\"%s\",\"%s\"]", test_merges[m][0], test_merges[m][1]);
        } else {
            poets_strbuf_printf(&sb, "\"%s %s\"", test_merges[m][0], test_merges[m][1]);
        }
        poets_strbuf_printf(&sb, "%s", m + 1 < N_TEST_VOCAB - 256 ? "," : "]}}");
    }
    return sb.data;
}

static const char *byte_level_decoder = "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true}";

static poets_tokenizer_t *load_text(const char *name, const char *json)
{
    const char *path = write_tmp(name, json);
    poets_tokenizer_t *t = NULL;
    poets_err_t err;
    if (path && poets_tokenizer_load_json(path, &t, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    return t;
}

/* Encodes text and compares with the expected ids; returns 1 when equal. */
static int encodes_to(const poets_tokenizer_t *t, const char *text, const int *expect, size_t n_expect)
{
    int *ids;
    size_t n;
    poets_err_t err;
    if (poets_tokenizer_encode(t, text, strlen(text), &ids, &n, &err) != 0) {
        fprintf(stderr, "encode '%s': %s\n", text, err.msg);
        return 0;
    }
    int same = n == n_expect && (n == 0 || memcmp(ids, expect, n * sizeof *ids) == 0);
    if (!same) {
        fprintf(stderr, "encode '%s' gave", text);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    free(ids);
    return same;
}

static int decodes_to(const poets_tokenizer_t *t, const int *ids, size_t n, int skip, const char *expect)
{
    char *text = poets_tokenizer_decode(t, ids, n, skip);
    int same = strcmp(text, expect) == 0;
    if (!same)
        fprintf(stderr, "decode gave '%s', expected '%s'\n", text, expect);
    free(text);
    return same;
}

#define N(a) (sizeof(a) / sizeof *(a))

/* ---- the committed fixture ------------------------------------------------------------------- */

static void test_fixture_cases_match_hf_tokenizers(void)
{
    char tok_path[512], cases_path[512];
    snprintf(tok_path, sizeof tok_path, "%s/tiny-gpt2/tokenizer.json", test_fixture_dir());
    snprintf(cases_path, sizeof cases_path, "%s/tokenizer_cases.json", test_fixture_dir());
    if (access(tok_path, R_OK) != 0 || access(cases_path, R_OK) != 0)
        SKIP("fixture %s or %s is absent (written by tests/fixtures/make_fixtures.py)", tok_path, cases_path);
    poets_err_t err;
    poets_tokenizer_t *t;
    CHECK(poets_tokenizer_load_json(tok_path, &t, &err) == 0, "%s", err.msg);
    char *text;
    size_t len;
    poets_json_t *cases = NULL;
    CHECK(poets_read_file(cases_path, &text, &len, &err) == 0, "%s", err.msg);
    int parsed = poets_json_parse(text, len, &cases, &err);
    free(text);
    CHECK(parsed == 0 && cases->type == POETS_JSON_ARRAY && cases->count > 0, "%s: not a JSON array of cases",
          cases_path);
    size_t bad = 0, first_bad = 0;
    for (size_t c = 0; c < cases->count; c++) {
        const poets_json_t *in = poets_json_get(&cases->items[c], "text");
        const poets_json_t *want = poets_json_get(&cases->items[c], "ids");
        const poets_json_t *dec = poets_json_get(&cases->items[c], "decoded");
        if (!in || !want || !dec || in->type != POETS_JSON_STRING || want->type != POETS_JSON_ARRAY ||
            dec->type != POETS_JSON_STRING) {
            bad++;
            continue;
        }
        int *ids = NULL;
        size_t n = 0;
        int ok = poets_tokenizer_encode(t, in->string, in->string_len, &ids, &n, &err) == 0 && n == want->count;
        for (size_t i = 0; ok && i < n; i++)
            ok = want->items[i].is_integer && want->items[i].integer == ids[i];
        if (ok) {
            /* decode returns a C string: compare up to the first NUL of the expected text */
            char *got = poets_tokenizer_decode(t, ids, n, 0);
            ok = strlen(got) == strlen(dec->string) && strcmp(got, dec->string) == 0;
            free(got);
        }
        free(ids);
        if (!ok && bad++ == 0)
            first_bad = c;
    }
    poets_json_free(cases);
    poets_tokenizer_free(t);
    CHECK(bad == 0, "%zu of the cases in %s differ (first: case %zu)", bad, cases_path, first_bad);
}

static void test_fixture_loads_from_model_dir(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tiny-gpt2", test_fixture_dir());
    if (access(dir, R_OK) != 0)
        SKIP("fixture %s is absent", dir);
    poets_err_t err;
    poets_tokenizer_t *t;
    CHECK(poets_tokenizer_load_dir(dir, &t, &err) == 0, "%s", err.msg);
    int eot = poets_tokenizer_token_id(t, "<|endoftext|>");
    int ok = eot >= 0 && poets_tokenizer_is_special(t, eot) &&
             strcmp(poets_tokenizer_token(t, eot), "<|endoftext|>") == 0;
    poets_tokenizer_free(t);
    CHECK(ok, "<|endoftext|> is not a special token of %s (id %d)", dir, eot);
}

/* ---- byte table and pre-tokenizer ------------------------------------------------------------ */

static void test_byte_table_maps_space_to_G_and_newline_to_C(void)
{
    CHECK(tok_byte_to_cp(' ') == 0x120, "space -> U+%04X, expected U+0120 (Ġ)", (unsigned)tok_byte_to_cp(' '));
    CHECK(tok_byte_to_cp('\n') == 0x10A, "LF -> U+%04X, expected U+010A (Ċ)", (unsigned)tok_byte_to_cp('\n'));
    CHECK(tok_byte_to_cp(0x00) == 0x100 && tok_byte_to_cp('A') == 'A' && tok_byte_to_cp(0x7F) == 0x121 &&
              tok_byte_to_cp(0xA0) == 0x142 && tok_byte_to_cp(0xAD) == 0x143 && tok_byte_to_cp(0xAE) == 0xAE,
          "printable bytes map to themselves, the other 68 to U+0100.. in order");
    int seen[0x144] = {0};
    for (int b = 0; b < 256; b++) {
        uint32_t cp = tok_byte_to_cp((unsigned char)b);
        CHECK(cp < 0x144 && !seen[cp], "byte 0x%02X -> U+%04X is not a bijection", b, (unsigned)cp);
        seen[cp] = 1;
        CHECK(tok_cp_to_byte(cp) == b, "U+%04X maps back to %d, expected %d", (unsigned)cp, tok_cp_to_byte(cp), b);
    }
    CHECK(tok_cp_to_byte(0x144) == -1 && tok_cp_to_byte(0x20) == -1, "code points outside the table map to -1");
}

static void test_pretokenizer_splits_like_gpt2_regex(void)
{
    /* pieces separated by '|', as the tokenizers library splits them */
    static const char *const cases[] = {
        "Hello| world", "a| | b",       "don|'t",          "IT|'|S",
        "x|   \n|\t|y", "end|  ",       "3|.|14|abc",      " 123| !!",
        "日本語| текст", "a|\xC2\xA0|b", "!'|s",            "we|'re| '|ll",
        " \t",          "e|\xCC\x81|t", "a|\xE3\x80\x80|b", "'|\xC3\xA9",
    };
    for (size_t c = 0; c < N(cases); c++) {
        char text[64], got[96];
        size_t len = 0, g = 0;
        for (const char *p = cases[c]; *p; p++)
            if (*p != '|')
                text[len++] = *p;
        for (size_t i = 0; i < len;) {
            size_t end = tok_pretok_end(text, len, i);
            CHECK(end > i && end <= len, "case %zu: no progress at %zu", c, i);
            if (i)
                got[g++] = '|';
            memcpy(got + g, text + i, end - i);
            g += end - i;
            i = end;
        }
        got[g] = '\0';
        CHECK(strcmp(got, cases[c]) == 0, "split '%s', expected '%s'", got, cases[c]);
    }
}

/* ---- merges ---------------------------------------------------------------------------------- */

static void test_merges_lowest_rank_first_both_forms(void)
{
    static const int hello_world[] = {ID_HELL, 'o', ID_SPACE_WO, 'r', 'l', 'd'};
    static const int five_a[] = {ID_AA, ID_AA, 'a'};
    for (int pair_form = 0; pair_form < 2; pair_form++) {
        char *json = byte_level_json(pair_form, "[]", byte_level_decoder);
        poets_tokenizer_t *t = load_text("merges.json", json);
        free(json);
        CHECK(t, "byte-level tokenizer (pair form %d) did not load", pair_form);
        int ok = encodes_to(t, "hello world", hello_world, N(hello_world)) && encodes_to(t, "aaaaa", five_a, 3) &&
                 decodes_to(t, hello_world, N(hello_world), 0, "hello world") &&
                 poets_tokenizer_vocab_size(t) == N_TEST_VOCAB && poets_tokenizer_token_id(t, "he") == ID_HE &&
                 strcmp(poets_tokenizer_token(t, ID_SPACE_W), "\xC4\xA0w") == 0;
        poets_tokenizer_free(t);
        CHECK(ok, "pair form %d: wrong encoding, decoding or vocab", pair_form);
    }
}

static void test_save_and_reload_keeps_encoding(void)
{
    char *json = byte_level_json(1, "[]", byte_level_decoder);
    poets_tokenizer_t *t = load_text("save_src.json", json), *back = NULL;
    free(json);
    CHECK(t, "byte-level tokenizer did not load");
    char path[256];
    snprintf(path, sizeof path, "%s/saved.json", tmp_dir);
    poets_err_t err;
    int rc = poets_tokenizer_save_json(t, path, &err);
    poets_tokenizer_free(t);
    CHECK(rc == 0, "%s", err.msg);
    CHECK(poets_tokenizer_load_json(path, &back, &err) == 0, "%s", err.msg);
    static const int hello_world[] = {ID_HELL, 'o', ID_SPACE_WO, 'r', 'l', 'd'};
    int ok = encodes_to(back, "hello world", hello_world, N(hello_world));
    poets_tokenizer_free(back);
    CHECK(ok, "the saved tokenizer encodes differently");
}

static void test_vocab_json_and_merges_txt_with_special_tokens(void)
{
    poets_strbuf_t vocab = {0};
    append_vocab(&vocab);
    vocab.data[vocab.len - 1] = ',';
    poets_strbuf_printf(&vocab, "\"<|endoftext|>\":%d}", N_TEST_VOCAB);
    write_tmp("vocab.json", vocab.data);
    poets_strbuf_free(&vocab);
    poets_strbuf_t merges = {0};
    poets_strbuf_printf(&merges, "#version: 0.2\r\n");
    for (int m = 0; m < N_TEST_VOCAB - 256; m++)
        poets_strbuf_printf(&merges, "%s %s\n", test_merges[m][0], test_merges[m][1]);
    write_tmp("merges.txt", merges.data);
    poets_strbuf_free(&merges);
    write_tmp("tokenizer_config.json", "{\"add_prefix_space\":false,\"eos_token\":\"<|endoftext|>\",\"pad_token\":"
                                       "{\"__type\":\"AddedToken\",\"content\":\"<pad>\",\"lstrip\":false,"
                                       "\"normalized\":false,\"rstrip\":false,\"single_word\":false}}");
    unlink(write_tmp("tokenizer.json", ""));
    poets_err_t err;
    poets_tokenizer_t *t;
    CHECK(poets_tokenizer_load_dir(tmp_dir, &t, &err) == 0, "%s", err.msg);
    const int eot = N_TEST_VOCAB, pad = N_TEST_VOCAB + 1;
    const int want[] = {ID_HELL, 'o', eot, ID_SPACE_WO, 'r', 'l', 'd', pad};
    int ok = encodes_to(t, "hello<|endoftext|> world<pad>", want, N(want)) && poets_tokenizer_is_special(t, eot) &&
             poets_tokenizer_is_special(t, pad) && poets_tokenizer_vocab_size(t) == pad + 1 &&
             decodes_to(t, want, N(want), 1, "hello world");
    poets_tokenizer_free(t);
    unlink(write_tmp("vocab.json", ""));
    unlink(write_tmp("merges.txt", ""));
    unlink(write_tmp("tokenizer_config.json", ""));
    CHECK(ok, "vocab.json + merges.txt: wrong ids, specials or decoding");
}

static void test_merges_txt_errors_name_the_line(void)
{
    write_tmp("vocab.json", "{\"a\":0,\"b\":1,\"ab\":2}");
    write_tmp("merges.txt", "#version: 0.2\na b\na c\n");
    unlink(write_tmp("tokenizer.json", ""));
    poets_err_t err;
    poets_tokenizer_t *t = NULL;
    int rc = poets_tokenizer_load_dir(tmp_dir, &t, &err);
    unlink(write_tmp("vocab.json", ""));
    unlink(write_tmp("merges.txt", ""));
    CHECK(rc != 0 && !t && strstr(err.msg, "merges.txt: line 3") && strstr(err.msg, "'c' is not in the vocab"),
          "expected an error naming merges.txt, line 3 and token 'c', got: %s", rc ? err.msg : "success");
}

/* ---- added tokens and decoding --------------------------------------------------------------- */

static const char *added_tokens_json =
    "[{\"id\":262,\"content\":\"<mask>\",\"single_word\":false,\"lstrip\":true,\"rstrip\":false,"
    "\"normalized\":false,\"special\":true},"
    "{\"id\":263,\"content\":\"<sep>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":true,"
    "\"normalized\":false,\"special\":true},"
    "{\"id\":264,\"content\":\"<x>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
    "\"normalized\":true,\"special\":false},"
    "{\"id\":265,\"content\":\"<x>>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
    "\"normalized\":true,\"special\":false},"
    "{\"id\":266,\"content\":\"fox\",\"single_word\":true,\"lstrip\":false,\"rstrip\":false,"
    "\"normalized\":true,\"special\":false}]";
enum { ID_MASK = N_TEST_VOCAB, ID_SEP, ID_X, ID_XX, ID_FOX };

static void test_added_tokens_strip_whitespace_and_match_longest(void)
{
    char *json = byte_level_json(0, added_tokens_json, byte_level_decoder);
    poets_tokenizer_t *t = load_text("added.json", json);
    free(json);
    CHECK(t, "tokenizer with added tokens did not load");
    /* "<mask>" absorbs the space before it, "<sep>" the spaces after it; "<x>>" beats "<x>" */
    static const int want[] = {'a', ID_MASK, 0x20, 'b', ID_SEP, 'c', ID_XX, ID_X};
    /* single_word: "fox" only between non-word characters ('_' is one, '²' is not) */
    static const int foxes[] = {ID_FOX, 0x20, 'f', 'o', 'x', '_', 0x20, ID_FOX, 0xC2, 0xB2};
    int ok = encodes_to(t, "a <mask> b<sep>  c<x>><x>", want, N(want)) &&
             encodes_to(t, "fox fox_ fox\xC2\xB2", foxes, N(foxes));
    int specials = poets_tokenizer_is_special(t, ID_MASK) && !poets_tokenizer_is_special(t, ID_X) &&
                   poets_tokenizer_token_id(t, "<sep>") == ID_SEP && poets_tokenizer_vocab_size(t) == ID_FOX + 1;
    int decoded = decodes_to(t, want, N(want), 1, "a bc<x>><x>") &&
                  decodes_to(t, want, N(want), 0, "a<mask> b<sep>c<x>><x>");
    poets_tokenizer_free(t);
    CHECK(ok, "added tokens encoded wrongly");
    CHECK(specials, "special flags, ids or vocab size wrong");
    CHECK(decoded, "special tokens not skipped (or not kept) on decode");
}

static void test_decode_joins_bytes_across_tokens(void)
{
    char *json = byte_level_json(1, "[]", byte_level_decoder);
    poets_tokenizer_t *t = load_text("decode.json", json);
    free(json);
    CHECK(t, "byte-level tokenizer did not load");
    const int e_acute[] = {0xC3, 0xA9}, half[] = {0xC3, 'A'}, euro[] = {0xE2, 0x82, 0xAC, -1, 99999};
    int ok = decodes_to(t, e_acute, 2, 0, "\xC3\xA9") && decodes_to(t, half, 2, 0, "\xEF\xBF\xBD" "A") &&
             decodes_to(t, euro, 5, 0, "\xE2\x82\xAC") && decodes_to(t, half, 1, 0, "\xEF\xBF\xBD");
    poets_tokenizer_free(t);
    CHECK(ok, "a character split across tokens must decode whole, a broken one as U+FFFD");
}

static void test_invalid_utf8_becomes_replacement_characters(void)
{
    /* one U+FFFD per maximal invalid subpart, as Python's and Rust's lossy decoders do */
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xC3", "\xEF\xBF\xBD"},
        {"a\xF0\x80" "b", "a\xEF\xBF\xBD\xEF\xBF\xBD" "b"},
        {"\xE2\x82x", "\xEF\xBF\xBDx"},
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF0\x9F\x98\x80\xFF", "\xF0\x9F\x98\x80\xEF\xBF\xBD"},
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
    };
    for (size_t c = 0; c < N(cases); c++) {
        char *got = poets_utf8_lossy(cases[c].in, strlen(cases[c].in));
        int same = strcmp(got, cases[c].out) == 0;
        free(got);
        CHECK(same, "case %zu decoded wrongly", c);
    }
}

static void test_null_decoder_joins_tokens_with_spaces(void)
{
    char *json = byte_level_json(1, "[]", "null");
    poets_tokenizer_t *t = load_text("nodecoder.json", json);
    free(json);
    CHECK(t, "tokenizer with a null decoder did not load");
    const int ids[] = {ID_HELL, 'o', ID_SPACE_W};
    int ok = decodes_to(t, ids, 3, 0, "hell o \xC4\xA0w");
    poets_tokenizer_free(t);
    CHECK(ok, "a null decoder joins the token strings with spaces, as tokenizers does");
}

/* ---- character vocabularies ------------------------------------------------------------------ */

static void test_char_tokenizer_round_trip_and_save(void)
{
    const char *specials[] = {"<pad>", "<eos>"};
    poets_tokenizer_t *t = poets_tokenizer_new_chars("ACDEFGHIKLMNPQRSTVWY\xCE\xB1", specials, 2);
    CHECK(t, "new_chars failed");
    static const int want[] = {10, 8, 17, 22, 0, 20};
    int ok = poets_tokenizer_vocab_size(t) == 23 && encodes_to(t, "MKV<eos>A\xCE\xB1", want, N(want)) &&
             decodes_to(t, want, N(want), 0, "MKV<eos>A\xCE\xB1") && decodes_to(t, want, N(want), 1, "MKVA\xCE\xB1");
    char path[256];
    snprintf(path, sizeof path, "%s/chars.json", tmp_dir);
    poets_err_t err;
    int saved = poets_tokenizer_save_json(t, path, &err);
    poets_tokenizer_free(t);
    CHECK(ok, "character tokenizer encodes or decodes wrongly");
    CHECK(saved == 0, "%s", err.msg);
    CHECK(poets_tokenizer_load_json(path, &t, &err) == 0, "%s", err.msg);
    ok = encodes_to(t, "MKV<eos>A\xCE\xB1", want, N(want)) && decodes_to(t, want, N(want), 0, "MKV<eos>A\xCE\xB1") &&
         poets_tokenizer_is_special(t, 22) && !poets_tokenizer_is_special(t, 0);
    int *ids = NULL;
    size_t n;
    int rc = poets_tokenizer_encode(t, "MKB", 3, &ids, &n, &err);
    poets_tokenizer_free(t);
    free(ids);
    CHECK(ok, "the reloaded character tokenizer differs");
    CHECK(rc != 0 && strstr(err.msg, "'B'"), "an unknown character must be an error naming it, got: %s",
          rc ? err.msg : "success");
}

static void test_char_tokenizer_unknown_becomes_unk_token(void)
{
    const char *json = "{\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null,"
                       "\"decoder\":{\"type\":\"Fuse\"},\"model\":{\"type\":\"BPE\",\"dropout\":null,"
                       "\"unk_token\":\"?\",\"fuse_unk\":true,\"vocab\":{\"?\":0,\"A\":1,\"B\":2,\"AB\":3},"
                       "\"merges\":[\"A B\"]}}";
    poets_tokenizer_t *t = load_text("unk.json", json);
    CHECK(t, "character tokenizer with unk did not load");
    static const int want[] = {3, 0, 1, 0, 2};
    int ok = encodes_to(t, "ABxyAzB", want, N(want));
    poets_tokenizer_free(t);
    CHECK(ok, "unknown characters must become one (fused) unk token and merges apply around them");
}

/* ---- bad files -------------------------------------------------------------------------------- */

/* Loads json (written to name) expecting a failure whose message holds the path and `what`. */
static int fails_naming(const char *name, const char *json, const char *what, char *msg, size_t msg_len)
{
    const char *path = write_tmp(name, json);
    poets_tokenizer_t *t = NULL;
    poets_err_t err = {{0}};
    int rc = path ? poets_tokenizer_load_json(path, &t, &err) : 0;
    snprintf(msg, msg_len, "%s", rc ? err.msg : "loaded without error");
    poets_tokenizer_free(t);
    return rc != 0 && t == NULL && strstr(err.msg, name) && strstr(err.msg, what);
}

static void test_bad_files_fail_with_a_message(void)
{
    static const struct {
        const char *name, *json, *what;
    } cases[] = {
        {"wordpiece.json", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", "model.type 'WordPiece'"},
        {"malformed.json", "{\"model\":{\"type\":\"BPE\",", "line"},
        {"nomodel.json", "{\"added_tokens\":[]}", "'model' is missing"},
        {"badmerge.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a c\"]}}",
         "'c' is not in the vocab"},
        {"badmerged.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\",\"b\"]]}}",
         "'ab' is not in the vocab"},
        {"normalizer.json",
         "{\"normalizer\":{\"type\":\"NFC\"},\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}",
         "normalizer.type 'NFC'"},
        {"metaspace.json",
         "{\"pre_tokenizer\":{\"type\":\"Metaspace\"},\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}",
         "pre_tokenizer.type 'Metaspace'"},
        {"fallback.json", "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{},\"merges\":[]}}",
         "byte_fallback"},
        {"dropout.json", "{\"model\":{\"type\":\"BPE\",\"dropout\":0.1,\"vocab\":{},\"merges\":[]}}", "dropout"},
        {"decoder.json", "{\"decoder\":{\"type\":\"WordPiece\"},\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}",
         "decoder.type 'WordPiece'"},
        {"dupid.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}", "id 0"},
        {"badid.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", "vocab['a']"},
        {"threeparts.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a a a\"]}}",
         "merges[0]"},
        {"unk.json", "{\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{\"a\":0},\"merges\":[]}}",
         "unk_token '<unk>'"},
        {"added.json", "{\"added_tokens\":[{\"content\":\"x\"}],\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}",
         "added_tokens[0].id"},
        {"toplevel.json", "[1,2]", "top level"},
        {"addedid.json",
         "{\"added_tokens\":[{\"id\":7,\"content\":\"<x>\"}],\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},"
         "\"merges\":[]}}",
         "has id 7"},
    };
    for (size_t c = 0; c < N(cases); c++) {
        char msg[POETS_ERR_MSG_MAX];
        CHECK(fails_naming(cases[c].name, cases[c].json, cases[c].what, msg, sizeof msg),
              "%s: expected an error naming the file and '%s', got: %s", cases[c].name, cases[c].what, msg);
        unlink(write_tmp(cases[c].name, ""));
    }
    poets_err_t err;
    poets_tokenizer_t *t = NULL;
    CHECK(poets_tokenizer_load_dir("/nonexistent-poets-dir", &t, &err) != 0 && t == NULL &&
              strstr(err.msg, "/nonexistent-poets-dir/vocab.json"),
          "a directory without tokenizer files must be an error naming vocab.json, got: %s", err.msg);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/poets-test-tokenizer-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_fixture_cases_match_hf_tokenizers);
    RUN(test_fixture_loads_from_model_dir);
    RUN(test_byte_table_maps_space_to_G_and_newline_to_C);
    RUN(test_pretokenizer_splits_like_gpt2_regex);
    RUN(test_merges_lowest_rank_first_both_forms);
    RUN(test_save_and_reload_keeps_encoding);
    RUN(test_vocab_json_and_merges_txt_with_special_tokens);
    RUN(test_merges_txt_errors_name_the_line);
    RUN(test_added_tokens_strip_whitespace_and_match_longest);
    RUN(test_decode_joins_bytes_across_tokens);
    RUN(test_invalid_utf8_becomes_replacement_characters);
    RUN(test_null_decoder_joins_tokens_with_spaces);
    RUN(test_char_tokenizer_round_trip_and_save);
    RUN(test_char_tokenizer_unknown_becomes_unk_token);
    RUN(test_bad_files_fail_with_a_message);
    const char *leftovers[] = {"merges.json", "save_src.json", "saved.json", "added.json", "decode.json",
                               "nodecoder.json", "chars.json", "unk.json"};
    for (size_t i = 0; i < N(leftovers); i++)
        unlink(write_tmp(leftovers[i], ""));
    rmdir(tmp_dir);
    return test_summary();
}
