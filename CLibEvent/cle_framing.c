// The framing of one HTTP/1.1 request as its bytes arrive, ahead of evhttp's parser: a pure
// byte parser (no I/O), tested byte by byte in Tests/ThinkbackRuntimeTests/RequestFramingTests.
#include "CLibEvent.h"
#include <string.h>

enum { CK_SIZE, CK_SIZE_MORE, CK_SIZE_LF, CK_DATA, CK_DATA_CR, CK_DATA_LF,
       CK_TRAILER_START, CK_TRAILER_LINE, CK_TRAILER_LF, CK_END_LF };
/* 15 hex digits: sizes below 2^60, never an overflow; evhttp's own limit refuses far less. */
enum { CHUNK_SIZE_DIGITS = 15 };

static const char te_name[] = "transfer-encoding";

void cle_framing_start(cle_framing *f) {
    memset(f, 0, sizeof *f);
}

/* The head's bytes: a NUL or a folded line marks the head bad; the first line starting with
   "Transfer-Encoding:" makes the body chunked (whatever its value: any other is refused once
   the request is read); an empty line after some text ends the head. Returns the bytes taken. */
static size_t feed_head(cle_framing *f, const uint8_t *p, size_t n) {
    for (size_t k = 0; k < n; k++) {
        uint8_t b = p[k];
        if (b == 0) f->bad_head = 1;
        if (b == '\n') {
            if (f->seen_text && (f->prev1 == '\n' || (f->prev1 == '\r' && f->prev2 == '\n'))) {
                f->phase = CLE_FRAMING_BODY;
                return k + 1;
            }
            f->name_at = 0;
        } else if (b != '\r') {
            /* A line folded onto the previous one (obs-fold): RFC 9112 §5.2 lets a server
               refuse it, and evhttp would join it into the value. */
            if (f->name_at == 0 && f->seen_text && (b == ' ' || b == '\t')) f->bad_head = 1;
            f->seen_text = 1;
            if (f->name_at < sizeof te_name - 1) {
                uint8_t lower = b >= 'A' && b <= 'Z' ? b + 32 : b;
                f->name_at = lower == (uint8_t)te_name[f->name_at] ? f->name_at + 1 : 0xff;
            } else if (f->name_at == sizeof te_name - 1) {
                if (b == ':') f->chunked = 1;
                f->name_at = 0xff;
            }
        }
        f->prev2 = f->prev1;
        f->prev1 = b;
    }
    return n;
}

/* A chunked body (RFC 9112 §7.1), strictly: a size is 1–15 hex digits then CRLF (no sign,
   prefix, space or extension: evhttp cannot read an extension and reads the rest loosely), data
   is followed by CRLF, the last chunk by trailer lines without NUL and an empty line. Returns
   the bytes taken: fewer than n when the body ended inside them. */
static size_t feed_chunks(cle_framing *f, const uint8_t *p, size_t n) {
    size_t k = 0;
    while (k < n) {
        uint8_t b = p[k];
        switch (f->chunk_state) {
        case CK_DATA: {
            size_t take = n - k < f->chunk_left ? n - k : (size_t)f->chunk_left;
            f->chunk_left -= take;
            k += take;
            if (!f->chunk_left) f->chunk_state = CK_DATA_CR;
            continue;
        }
        case CK_SIZE:
        case CK_SIZE_MORE: {
            int digit = b >= '0' && b <= '9' ? b - '0'
                      : b >= 'a' && b <= 'f' ? b - 'a' + 10
                      : b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
            if (digit >= 0 && f->chunk_digits < CHUNK_SIZE_DIGITS) {
                f->chunk_left = f->chunk_left * 16 + (uint64_t)digit;
                f->chunk_digits++;
                f->chunk_state = CK_SIZE_MORE;
            } else if (b == '\r' && f->chunk_state == CK_SIZE_MORE) {
                f->chunk_state = CK_SIZE_LF;
            } else {
                goto bad;
            }
            break;
        }
        case CK_SIZE_LF:
            if (b != '\n') goto bad;
            f->chunk_digits = 0;
            f->chunk_state = f->chunk_left ? CK_DATA : CK_TRAILER_START;
            break;
        case CK_DATA_CR:
            if (b != '\r') goto bad;
            f->chunk_state = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            if (b != '\n') goto bad;
            f->chunk_state = CK_SIZE;
            break;
        case CK_TRAILER_START:
            if (b == 0 || b == '\n') goto bad;
            f->chunk_state = b == '\r' ? CK_END_LF : CK_TRAILER_LINE;
            break;
        case CK_TRAILER_LINE:
            if (b == 0 || b == '\n') goto bad;
            if (b == '\r') f->chunk_state = CK_TRAILER_LF;
            break;
        case CK_TRAILER_LF:
            if (b != '\n') goto bad;
            f->chunk_state = CK_TRAILER_START;
            break;
        case CK_END_LF:
            if (b != '\n') goto bad;
            f->phase = CLE_FRAMING_DONE;
            return k + 1;
        }
        k++;
    }
    return k;
bad:
    f->phase = CLE_FRAMING_BAD_BODY;
    return k;
}

size_t cle_framing_feed(cle_framing *f, const uint8_t *p, size_t n) {
    size_t used = 0;
    if (f->phase == CLE_FRAMING_HEAD) used = feed_head(f, p, n);
    if (f->phase == CLE_FRAMING_BODY && !f->chunked) return n;
    if (f->phase == CLE_FRAMING_BODY && used < n) used += feed_chunks(f, p + used, n - used);
    return used;
}
