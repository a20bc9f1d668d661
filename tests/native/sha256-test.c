/*
 * The helper's SHA-256 block function through the CPU's SHA extensions against
 * the portable one, on random data, block counts 1..40 and 2000 random starting
 * states; and both through sha256_update against FIPS 180-4's examples.  On a
 * CPU without the extensions the comparison is skipped (TAP "# skip").
 *   cc -O2 -o sha256-test tests/native/sha256-test.c native-shims/sha256.c
 */
#include "../../native-shims/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	if (!ok)
		failures++;
}

static void hex(const unsigned char *md, char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static int digest_is(const void *data, size_t n, const char *want)
{
	struct sha256 c;
	unsigned char md[SHA256_BYTES];
	char got[65];
	sha256_init(&c);
	sha256_update(&c, data, n);
	sha256_final(&c, md);
	hex(md, got);
	return strcmp(got, want) == 0;
}

int main(void)
{
	unsigned char buf[64 * 40];
	uint32_t seed = 12345;
	for (size_t i = 0; i < sizeof buf; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	uint32_t probe[8] = {0};
	if (!sha256_blocks_accelerated(probe, buf, 1)) {
		printf("ok - SHA extensions against portable C # skip: this CPU has no SHA extensions\n");
	} else {
		int same = 1;
		for (int r = 0; r < 2000 && same; r++) {
			uint32_t a[8], b[8];
			for (int i = 0; i < 8; i++) {
				seed = seed * 1103515245u + 12345u;
				a[i] = b[i] = seed;
			}
			size_t n = 1 + (size_t)r % 40;
			sha256_blocks_portable(a, buf, n);
			sha256_blocks_accelerated(b, buf, n);
			same = memcmp(a, b, sizeof a) == 0;
			if (!same)
				fprintf(stderr, "# differs at round %d, %zu blocks\n", r, n);
		}
		check(same, "SHA extensions against portable C: 2000 states, 1..40 blocks");
	}
	check(digest_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "FIPS 180-4: abc");
	check(digest_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	      "FIPS 180-4: 448 bits");
	static unsigned char million[1000000];
	memset(million, 'a', sizeof million);
	check(digest_is(million, sizeof million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	      "FIPS 180-4: a million a");
	check(digest_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "the empty message");
	return failures == 0 ? 0 : 1;
}
