/* Byte classes for the JSON scanner (which bytes of a block need a look inside a string) and
 * the SSE parser (where a line ends).
 *
 * Header only, static inline: Swift has no portable way to turn a vector comparison into a
 * bitmask (x86's pmovmskb), so the one instruction that needs it is written here and inlined
 * into the Swift caller. No logic beyond the classification: what to do with each byte found
 * is ThinkbackCore's. Other CPUs get the same masks from plain loops. */
#ifndef THINKBACK_BYTE_CLASS_H
#define THINKBACK_BYTE_CLASS_H

#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit k set when byte k of the 16 at p is special in a JSON string: a quote, a backslash,
 * a control character (below 0x20) or a byte of a multi-byte UTF-8 sequence (0x80 and up).
 * The last two are one signed comparison: as int8, both are below 0x20. */
static inline uint32_t tb_string_specials16(const uint8_t *p) {
    __m128i x = _mm_loadu_si128((const __m128i *)p);
    __m128i s = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
    return (uint32_t)_mm_movemask_epi8(s);
}

/* Bit k set when byte k of the 16 at p ends a line of an event stream: LF or CR. */
static inline uint32_t tb_line_ends16(const uint8_t *p) {
    __m128i x = _mm_loadu_si128((const __m128i *)p);
    __m128i s = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\r')));
    return (uint32_t)_mm_movemask_epi8(s);
}

#else

static inline uint32_t tb_string_specials16(const uint8_t *p) {
    uint32_t bits = 0;
    for (int k = 0; k < 16; k++) {
        uint8_t c = p[k];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) bits |= (uint32_t)1 << k;
    }
    return bits;
}

static inline uint32_t tb_line_ends16(const uint8_t *p) {
    uint32_t bits = 0;
    for (int k = 0; k < 16; k++)
        if (p[k] == '\n' || p[k] == '\r') bits |= (uint32_t)1 << k;
    return bits;
}

#endif

/* The same for the 64 bytes at p: bit k for byte k. */
static inline uint64_t tb_string_specials64(const uint8_t *p) {
    return (uint64_t)tb_string_specials16(p)
         | ((uint64_t)tb_string_specials16(p + 16) << 16)
         | ((uint64_t)tb_string_specials16(p + 32) << 32)
         | ((uint64_t)tb_string_specials16(p + 48) << 48);
}

#endif
