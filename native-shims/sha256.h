/* SHA-256 (FIPS 180-4), written from the standard (sha256.c).  No state
 * outside the context. */
#ifndef BYPASS_SHA256_H
#define BYPASS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

struct sha256 {
	uint32_t h[8];           /* the hash value H(i) */
	uint64_t len;            /* message bytes so far */
	unsigned char blk[64];   /* the partial block */
	size_t nblk;             /* bytes in blk */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t n);
/* Pads, writes the digest (big-endian H0..H7), and leaves c unusable until
 * sha256_init. */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_BYTES]);

/* The block function, in portable C and through the CPU's SHA extensions
 * (0 when it has none: nothing was done); sha256_update picks the second where
 * it can.  Exposed for tests/native/sha256-test.c, which compares them. */
void sha256_blocks_portable(uint32_t h[8], const unsigned char *m, size_t nblocks);
int sha256_blocks_accelerated(uint32_t h[8], const unsigned char *m, size_t nblocks);

#endif
