/*
 * Strict UTF-8 (RFC 3629): the shortest form of each code point, no
 * UTF-16 surrogates (U+D800 to U+DFFF), nothing above U+10FFFF.  yajl
 * checks only a sequence's shape, so an overlong "\xc0\xaf" or a
 * surrogate's "\xed\xa0\x80" would pass through it into a response.
 *
 * And the strings of a JSON text checked as it streams, in chunks cut
 * anywhere: their raw bytes, and their \u escapes, where a UTF-16
 * surrogate must be a high one followed by a low one.  The text must
 * have been accepted by a JSON parser first: only the quotes, backslashes
 * and escapes that delimit strings are looked at.
 */

#ifndef INFER_UTF8_H
#define INFER_UTF8_H


#include <stddef.h>
#include <stdint.h>


#define INFER_UTF8_OK        0
#define INFER_UTF8_INVALID   1     /* a byte sequence that is not UTF-8 */
#define INFER_UTF8_SURROGATE 2     /* a \u escape of a lone surrogate */


typedef struct {
    uint64_t       at;          /* the text's offset of the next byte */
    uint64_t       mark;        /* where a cut sequence or an escape began */
    uint64_t       bad;         /* where the first error is */
    uint32_t       cp;          /* the surrogate in error, or pending */
    uint32_t       hex;         /* a \u escape's value, so far */
    unsigned       nhex;        /* its hex digits read */
    unsigned       state;
    unsigned       npart;       /* bytes of a sequence cut by a chunk */
    unsigned char  part[4];
    int            rc;          /* INFER_UTF8_OK, or the first error */
} infer_utf8_json_t;


/*
 * The bytes of s before its first invalid (or cut) sequence: len when all
 * of s is UTF-8.
 */
size_t infer_utf8_valid(const unsigned char *s, size_t len);

/* the length of the sequence a lead byte begins: 0 for no lead byte */
size_t infer_utf8_seq_len(unsigned char c);

void infer_utf8_json_init(infer_utf8_json_t *u);

/*
 * The next chunk of the text: INFER_UTF8_OK, or the first error, kept
 * (later chunks are ignored), with u->bad its offset and, for a
 * surrogate, u->cp the escape's value.
 */
int infer_utf8_json(infer_utf8_json_t *u, const unsigned char *data,
    size_t len);


#endif /* INFER_UTF8_H */
