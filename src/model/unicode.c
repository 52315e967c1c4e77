/* Unicode class lookups (binary search in the generated range tables) and UTF-8 coding
 * (src/model/unicode.h). Invalid input is decoded following the Unicode "maximal subpart"
 * practice, the same as Rust's String::from_utf8_lossy used by Hugging Face tokenizers. */
#include "model/unicode.h"

#include <string.h>

#include "poets/error.h"
#include "poets/json.h"

static int unicode_in(const poets_unicode_range_t *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].first)
            hi = mid;
        else if (cp > r[mid].last)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int poets_unicode_is_letter(uint32_t cp)
{
    return unicode_in(poets_unicode_letter, poets_unicode_letter_count, cp);
}

int poets_unicode_is_number(uint32_t cp)
{
    return unicode_in(poets_unicode_number, poets_unicode_number_count, cp);
}

int poets_unicode_is_space(uint32_t cp)
{
    return unicode_in(poets_unicode_space, poets_unicode_space_count, cp);
}

int poets_unicode_is_word(uint32_t cp)
{
    return unicode_in(poets_unicode_word, poets_unicode_word_count, cp);
}

size_t poets_utf8_next(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char b = u[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need;
    uint32_t value;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        value = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        value = b & 0x0Fu;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        value = b & 0x07u;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        *cp = POETS_UTF8_INVALID;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        unsigned char c = i < len ? u[i] : 0;
        unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
        if (i >= len || c < min || c > max) {
            *cp = POETS_UTF8_INVALID;
            return i;
        }
        value = (value << 6) | (c & 0x3Fu);
    }
    *cp = value;
    return need + 1;
}

size_t poets_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *poets_utf8_lossy(const char *bytes, size_t n)
{
    poets_strbuf_t sb = {0};
    poets_strbuf_append(&sb, "", 0);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = poets_utf8_next(bytes + i, n - i, &cp);
        if (cp == POETS_UTF8_INVALID)
            poets_strbuf_append(&sb, "\xEF\xBF\xBD", 3);
        else
            poets_strbuf_append(&sb, bytes + i, k);
        i += k;
    }
    return sb.data;
}
