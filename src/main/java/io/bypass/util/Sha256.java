package io.bypass.util;

import java.security.MessageDigest;

/**
 * SHA-256 (FIPS 180-4) as a {@link MessageDigest}, without the JCA provider lookup:
 * {@code MessageDigest.getInstance} reads the security properties and registers the Sun provider
 * (about 120 classes, a sixth of what an idle hook loads), and a hook hashes a few kilobytes (its
 * cache key, the entry's checksum). Unit tests compare it with the JDK's on random input.
 */
public final class Sha256 extends MessageDigest {
    private static final int[] K = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };

    private final int[] h = new int[8];
    private final int[] w = new int[64];
    private final byte[] block = new byte[64];
    private int fill;
    private long length;

    public Sha256() {
        super("SHA-256");
        engineReset();
    }

    @Override
    protected int engineGetDigestLength() {
        return 32;
    }

    @Override
    protected void engineReset() {
        h[0] = 0x6a09e667;
        h[1] = 0xbb67ae85;
        h[2] = 0x3c6ef372;
        h[3] = 0xa54ff53a;
        h[4] = 0x510e527f;
        h[5] = 0x9b05688c;
        h[6] = 0x1f83d9ab;
        h[7] = 0x5be0cd19;
        fill = 0;
        length = 0;
    }

    @Override
    protected void engineUpdate(byte input) {
        block[fill++] = input;
        length++;
        if (fill == 64) {
            compress(block, 0);
            fill = 0;
        }
    }

    @Override
    protected void engineUpdate(byte[] input, int offset, int len) {
        length += len;
        if (fill > 0) {
            int n = Math.min(len, 64 - fill);
            System.arraycopy(input, offset, block, fill, n);
            fill += n;
            offset += n;
            len -= n;
            if (fill < 64) {
                return;
            }
            compress(block, 0);
            fill = 0;
        }
        while (len >= 64) {
            compress(input, offset);
            offset += 64;
            len -= 64;
        }
        System.arraycopy(input, offset, block, 0, len);
        fill = len;
    }

    @Override
    protected byte[] engineDigest() {
        long bits = length << 3;
        block[fill++] = (byte) 0x80;
        if (fill > 56) {
            while (fill < 64) {
                block[fill++] = 0;
            }
            compress(block, 0);
            fill = 0;
        }
        while (fill < 56) {
            block[fill++] = 0;
        }
        for (int i = 7; i >= 0; i--) {
            block[fill++] = (byte) (bits >>> (8 * i));
        }
        compress(block, 0);
        byte[] out = new byte[32];
        for (int i = 0; i < 8; i++) {
            out[4 * i] = (byte) (h[i] >>> 24);
            out[4 * i + 1] = (byte) (h[i] >>> 16);
            out[4 * i + 2] = (byte) (h[i] >>> 8);
            out[4 * i + 3] = (byte) h[i];
        }
        engineReset();
        return out;
    }

    private void compress(byte[] b, int off) {
        for (int t = 0; t < 16; t++) {
            int p = off + 4 * t;
            w[t] = (b[p] & 0xff) << 24 | (b[p + 1] & 0xff) << 16 | (b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff);
        }
        for (int t = 16; t < 64; t++) {
            int x = w[t - 15];
            int y = w[t - 2];
            int s0 = Integer.rotateRight(x, 7) ^ Integer.rotateRight(x, 18) ^ (x >>> 3);
            int s1 = Integer.rotateRight(y, 17) ^ Integer.rotateRight(y, 19) ^ (y >>> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        int a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int t = 0; t < 64; t++) {
            int t1 = hh + (Integer.rotateRight(e, 6) ^ Integer.rotateRight(e, 11) ^ Integer.rotateRight(e, 25))
                    + ((e & f) ^ (~e & g)) + K[t] + w[t];
            int t2 = (Integer.rotateRight(a, 2) ^ Integer.rotateRight(a, 13) ^ Integer.rotateRight(a, 22))
                    + ((a & bb) ^ (a & c) ^ (bb & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = bb;
            bb = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += bb;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }
}
