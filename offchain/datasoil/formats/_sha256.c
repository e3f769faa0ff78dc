/* datasoil.formats._sha256: SHA-256 of many messages in one call, for the row, fate and
 * RFC 9162 trees (datasoil.formats.merkle). Optional: without it (no C compiler at install)
 * merkle hashes through the polars-hash plugin or hashlib, and gives the same bytes.
 *
 * SHA-256 is FIPS 180-4. On x86-64 CPUs with the SHA extensions the compression function
 * runs on them (detected at run time); elsewhere it is portable C. The GIL is released
 * while hashing, so threads hash in parallel. tests/offchain/test_merkle_fast.py checks
 * every entry point against hashlib.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DS_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

typedef void (*compress_fn)(uint32_t state[8], const uint8_t *blocks, size_t count);

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress_portable(uint32_t state[8], const uint8_t *p, size_t count) {
    uint32_t w[64];
    while (count--) {
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
                   (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
                          w[i];
            uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
        p += 64;
    }
}

#ifdef DS_X86
/* The SHA extensions' compression (Intel's published sequence): the state is held as
 * ABEF and CDGH, each sha256rnds2 does two rounds, sha256msg1/msg2 extend the schedule. */
__attribute__((target("sha,sse4.1"))) static void compress_shani(uint32_t state[8],
                                                                  const uint8_t *p,
                                                                  size_t count) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);       /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);         /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8); /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);      /* CDGH */
    while (count--) {
        __m128i abef = s0, cdgh = s1, m[4], wk;
        for (int i = 0; i < 16; i++) {
            if (i < 4) {
                m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
            } else {
                __m128i x = _mm_sha256msg1_epu32(m[i & 3], m[(i + 1) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(m[(i + 3) & 3], m[(i + 2) & 3], 4));
                m[i & 3] = _mm_sha256msg2_epu32(x, m[(i + 3) & 3]);
            }
            wk = _mm_add_epi32(m[i & 3], _mm_loadu_si128((const __m128i *)&K[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
            wk = _mm_shuffle_epi32(wk, 0x0E);
            s0 = _mm_sha256rnds2_epu32(s0, s1, wk);
        }
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
        p += 64;
    }
    tmp = _mm_shuffle_epi32(s0, 0x1B);    /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);     /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);  /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);     /* HGFE */
    _mm_storeu_si128((__m128i *)&state[0], s0);
    _mm_storeu_si128((__m128i *)&state[4], s1);
}

/* Two independent messages of the same number of blocks at once, their rounds
 * interleaved: one message's rounds wait on the previous round's result, two keep the SHA
 * unit busy. Same steps as compress_shani, for lanes a and b. */
__attribute__((target("sha,sse4.1"))) static void compress_shani_x2(uint32_t sa[8],
                                                                     uint32_t sb[8],
                                                                     const uint8_t *pa,
                                                                     const uint8_t *pb,
                                                                     size_t count) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i s0[2], s1[2];
    uint32_t *st[2] = {sa, sb};
    for (int l = 0; l < 2; l++) {
        __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[l][0]), 0xB1);
        s1[l] = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[l][4]), 0x1B);
        s0[l] = _mm_alignr_epi8(tmp, s1[l], 8);
        s1[l] = _mm_blend_epi16(s1[l], tmp, 0xF0);
    }
    while (count--) {
        __m128i abef[2] = {s0[0], s0[1]}, cdgh[2] = {s1[0], s1[1]}, m[2][4], wk[2];
        const uint8_t *p[2] = {pa, pb};
        for (int i = 0; i < 16; i++) {
            __m128i k = _mm_loadu_si128((const __m128i *)&K[4 * i]);
            for (int l = 0; l < 2; l++) {
                if (i < 4) {
                    m[l][i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p[l] + 16 * i)),
                                               mask);
                } else {
                    __m128i x = _mm_sha256msg1_epu32(m[l][i & 3], m[l][(i + 1) & 3]);
                    x = _mm_add_epi32(x, _mm_alignr_epi8(m[l][(i + 3) & 3], m[l][(i + 2) & 3], 4));
                    m[l][i & 3] = _mm_sha256msg2_epu32(x, m[l][(i + 3) & 3]);
                }
                wk[l] = _mm_add_epi32(m[l][i & 3], k);
            }
            s1[0] = _mm_sha256rnds2_epu32(s1[0], s0[0], wk[0]);
            s1[1] = _mm_sha256rnds2_epu32(s1[1], s0[1], wk[1]);
            s0[0] = _mm_sha256rnds2_epu32(s0[0], s1[0], _mm_shuffle_epi32(wk[0], 0x0E));
            s0[1] = _mm_sha256rnds2_epu32(s0[1], s1[1], _mm_shuffle_epi32(wk[1], 0x0E));
        }
        for (int l = 0; l < 2; l++) {
            s0[l] = _mm_add_epi32(s0[l], abef[l]);
            s1[l] = _mm_add_epi32(s1[l], cdgh[l]);
        }
        pa += 64;
        pb += 64;
    }
    for (int l = 0; l < 2; l++) {
        __m128i tmp = _mm_shuffle_epi32(s0[l], 0x1B);
        __m128i t1 = _mm_shuffle_epi32(s1[l], 0xB1);
        _mm_storeu_si128((__m128i *)&st[l][0], _mm_blend_epi16(tmp, t1, 0xF0));
        _mm_storeu_si128((__m128i *)&st[l][4], _mm_alignr_epi8(t1, tmp, 8));
    }
}

static int has_shani(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
        return 0; /* SHA */
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c & (1u << 19)) && (c & (1u << 9)); /* SSE4.1, SSSE3 */
}
#endif

static compress_fn compress = compress_portable;

static int two_lanes = 0; /* compress_shani_x2 is in use (the SHA extensions are) */

/* Compress the whole blocks at the start of *p (*n bytes) and step past them. */
static void whole_blocks(uint32_t st[8], const uint8_t **p, size_t *n) {
    size_t blocks = *n / 64;
    if (blocks) {
        compress(st, *p, blocks);
        *p += 64 * blocks;
        *n -= 64 * blocks;
    }
}

/* The digest of a final state, big-endian. */
static void digest_out(const uint32_t st[8], uint8_t *out) {
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(st[i] >> 24);
        out[4 * i + 1] = (uint8_t)(st[i] >> 16);
        out[4 * i + 2] = (uint8_t)(st[i] >> 8);
        out[4 * i + 3] = (uint8_t)st[i];
    }
}

/* SHA-256 of prefix || msg into out (32 bytes). */
static void sha256_2(const uint8_t *prefix, size_t plen, const uint8_t *msg, size_t mlen,
                     uint8_t *out) {
    uint32_t st[8];
    uint8_t buf[128];
    memcpy(st, H0, sizeof st);
    size_t total = plen + mlen, fill = 0;
    /* whole blocks of the prefix, then prefix tail + message through buf */
    whole_blocks(st, &prefix, &plen);
    memcpy(buf, prefix, plen);
    fill = plen;
    if (fill) {
        size_t take = 64 - fill < mlen ? 64 - fill : mlen;
        memcpy(buf + fill, msg, take);
        fill += take;
        msg += take;
        mlen -= take;
        if (fill == 64) {
            compress(st, buf, 1);
            fill = 0;
        }
    }
    if (fill == 0) {
        whole_blocks(st, &msg, &mlen);
        memcpy(buf, msg, mlen);
        fill = mlen;
    }
    /* padding: 0x80, zeros, the bit length big-endian in the last 8 bytes */
    buf[fill++] = 0x80;
    size_t end = fill <= 56 ? 64 : 128;
    memset(buf + fill, 0, end - fill);
    uint64_t bits = (uint64_t)total * 8;
    for (int i = 0; i < 8; i++)
        buf[end - 1 - i] = (uint8_t)(bits >> (8 * i));
    compress(st, buf, end / 64);
    digest_out(st, out);
}

#define PAIR_MAX 256 /* padded messages up to this size go two at a time */

/* prefix || msg padded to whole blocks in buf (PAIR_MAX bytes); the number of blocks. */
static size_t padded(const uint8_t *prefix, size_t plen, const uint8_t *msg, size_t mlen,
                     uint8_t *buf) {
    size_t total = plen + mlen, blocks = (total + 9 + 63) / 64;
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, msg, mlen);
    buf[total] = 0x80;
    memset(buf + total + 1, 0, 64 * blocks - total - 1);
    uint64_t bits = (uint64_t)total * 8;
    for (int i = 0; i < 8; i++)
        buf[64 * blocks - 1 - i] = (uint8_t)(bits >> (8 * i));
    return blocks;
}

#ifdef DS_X86
/* SHA-256 of prefix || a and prefix || b into out and out + 32, at once: both must pad to
 * the same number of blocks, within PAIR_MAX bytes. */
static void sha256_pair(const uint8_t *pre, size_t plen, const uint8_t *a, size_t la,
                        const uint8_t *b, size_t lb, uint8_t *out) {
    uint8_t ba[PAIR_MAX], bb[PAIR_MAX];
    uint32_t sa[8], sb[8];
    memcpy(sa, H0, sizeof sa);
    memcpy(sb, H0, sizeof sb);
    size_t blocks = padded(pre, plen, a, la, ba);
    padded(pre, plen, b, lb, bb);
    compress_shani_x2(sa, sb, ba, bb, blocks);
    digest_out(sa, out);
    digest_out(sb, out + 32);
}
#endif

/* SHA-256 of prefix || each width-byte item of data, count items, into out: two at a
 * time on the SHA extensions when the padded message is short. */
static void fixed_items(const uint8_t *pre, size_t plen, const uint8_t *base, size_t width,
                        size_t count, uint8_t *out) {
    size_t i = 0;
#ifdef DS_X86
    if (two_lanes && plen + width + 9 <= PAIR_MAX) {
        for (; i + 1 < count; i += 2)
            sha256_pair(pre, plen, base + i * width, width, base + (i + 1) * width, width,
                        out + 32 * i);
    }
#endif
    for (; i < count; i++)
        sha256_2(pre, plen, base + i * width, width, out + 32 * i);
}

/* items(data, offsets, wide, start, count, prefix=b"") -> bytes
 * SHA-256 of prefix || data[offsets[i]:offsets[i+1]] for i in start..start+count-1, where
 * offsets holds int32 (wide false) or int64 (wide true) values, as an Arrow binary or
 * large_binary array does. */
static PyObject *items(PyObject *self, PyObject *args) {
    Py_buffer data, offsets, prefix = {0};
    int wide;
    Py_ssize_t start, count;
    if (!PyArg_ParseTuple(args, "y*y*pnn|y*", &data, &offsets, &wide, &start, &count, &prefix))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t width = wide ? 8 : 4;
    if (start < 0 || count < 0 || (start + count + 1) * width > offsets.len) {
        PyErr_SetString(PyExc_ValueError, "items: offsets do not cover the items");
        goto done;
    }
    const uint8_t *base = data.buf;
    const char *off = (const char *)offsets.buf + start * width;
    for (Py_ssize_t i = 0; i <= count; i++) {
        int64_t o = wide ? ((const int64_t *)off)[i] : ((const int32_t *)off)[i];
        if (o < 0 || o > data.len || (i && o < (wide ? ((const int64_t *)off)[i - 1]
                                                     : ((const int32_t *)off)[i - 1]))) {
            PyErr_SetString(PyExc_ValueError, "items: an offset is outside the data");
            goto done;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, 32 * count);
    if (result == NULL)
        goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    const uint8_t *pre = prefix.buf;
    size_t plen = prefix.buf ? (size_t)prefix.len : 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t a = wide ? ((const int64_t *)off)[i] : ((const int32_t *)off)[i];
        int64_t b = wide ? ((const int64_t *)off)[i + 1] : ((const int32_t *)off)[i + 1];
#ifdef DS_X86
        if (two_lanes && i + 1 < count && plen + (size_t)(b - a) + 9 <= PAIR_MAX) {
            /* the next item too, when it pads to as many blocks */
            int64_t c = wide ? ((const int64_t *)off)[i + 2] : ((const int32_t *)off)[i + 2];
            size_t la = plen + (size_t)(b - a), lb = plen + (size_t)(c - b);
            if ((la + 9 + 63) / 64 == (lb + 9 + 63) / 64) {
                sha256_pair(pre, plen, base + a, (size_t)(b - a), base + b, (size_t)(c - b),
                            out + 32 * i);
                i++;
                continue;
            }
        }
#endif
        sha256_2(pre, plen, base + a, (size_t)(b - a), out + 32 * i);
    }
    Py_END_ALLOW_THREADS;
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    if (prefix.buf)
        PyBuffer_Release(&prefix);
    return result;
}

/* fixed(data, width, prefix=b"") -> bytes
 * SHA-256 of prefix || data[i*width:(i+1)*width] for every whole width-byte item. */
static PyObject *fixed(PyObject *self, PyObject *args) {
    Py_buffer data, prefix = {0};
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*n|y*", &data, &width, &prefix))
        return NULL;
    PyObject *result = NULL;
    if (width <= 0 || data.len % width) {
        PyErr_SetString(PyExc_ValueError, "fixed: the data is not whole items of that width");
        goto done;
    }
    Py_ssize_t count = data.len / width;
    result = PyBytes_FromStringAndSize(NULL, 32 * count);
    if (result == NULL)
        goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    const uint8_t *base = data.buf, *pre = prefix.buf;
    size_t plen = prefix.buf ? (size_t)prefix.len : 0;
    Py_BEGIN_ALLOW_THREADS;
    fixed_items(pre, plen, base, (size_t)width, (size_t)count, out);
    Py_END_ALLOW_THREADS;
done:
    PyBuffer_Release(&data);
    if (prefix.buf)
        PyBuffer_Release(&prefix);
    return result;
}

static PyObject *backend(PyObject *self, PyObject *unused) {
    return PyUnicode_FromString(compress == compress_portable ? "portable" : "sha-ni");
}

/* use(name) -> str: compress with "portable" or "sha-ni" (tests run both); the previous name.
 * Raises ValueError for "sha-ni" on a CPU without the SHA extensions. */
static PyObject *use(PyObject *self, PyObject *args) {
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    PyObject *previous = backend(self, NULL);
    if (strcmp(name, "portable") == 0) {
        compress = compress_portable;
        two_lanes = 0;
#ifdef DS_X86
    } else if (strcmp(name, "sha-ni") == 0 && has_shani()) {
        compress = compress_shani;
        two_lanes = 1;
#endif
    } else {
        Py_XDECREF(previous);
        PyErr_Format(PyExc_ValueError, "use: no SHA-256 backend %R on this CPU", args);
        return NULL;
    }
    return previous;
}

static PyMethodDef methods[] = {
    {"use", use, METH_VARARGS, "Choose the compression function."},
    {"items", items, METH_VARARGS, "SHA-256 of each item of an Arrow binary layout."},
    {"fixed", fixed, METH_VARARGS, "SHA-256 of each fixed-width item."},
    {"backend", backend, METH_NOARGS, "The compression function in use."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sha256",
                                    "SHA-256 of many messages at once.", -1, methods};

PyMODINIT_FUNC PyInit__sha256(void) {
#ifdef DS_X86
    if (has_shani()) {
        compress = compress_shani;
        two_lanes = 1;
    }
#endif
    return PyModule_Create(&module);
}
