/* casebridge.native._sha256x: SHA-256 of many buffers at once (multi-buffer, SIMD).
 *
 * Why: every page the hub receives and every page a receiver downloads is hashed. On a CPU
 * without SHA instructions (SHA-NI), OpenSSL's SHA-256 runs at ~200 MB/s a core and hashing
 * alone costs 6 CPU-seconds per 1.2 GB dossier: most of a push. Pages are independent, so
 * 8 (AVX2) or 16 (AVX-512) of them are hashed in the lanes of one vector register. The
 * digests are plain FIPS 180-4 SHA-256 (checked against hashlib by the tests); nothing
 * about the format changes. Where the CPU has SHA-NI, hashlib is faster and is used instead
 * (casebridge.security.multihash decides).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_KERNELS 1
#include <immintrin.h>
#endif

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t H256[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t load_be32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

static inline void store_be32(uint8_t *p, uint32_t v) {
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}

/* One lane's place in its message: whole blocks straight from the buffer, then the last
 * partial block and the padding (one or two blocks) from a small copy. */
struct lane {
    int64_t msg;        /* index of the message, -1 when the lane is idle */
    const uint8_t *p;   /* next unread byte */
    uint64_t left;      /* bytes not yet read */
    uint64_t bits;      /* message length in bits */
    int tail_blocks;    /* 0 until the tail is prepared, then 1 or 2 */
    int tail_next;      /* tail blocks already handed out */
    uint8_t tail[128];
};

static void lane_start(struct lane *ln, int64_t msg, const uint8_t *const *msgs,
                       const uint64_t *lens) {
    ln->msg = msg;
    ln->tail_blocks = ln->tail_next = 0;
    if (msg >= 0) {
        ln->p = msgs[msg];
        ln->left = lens[msg];
        ln->bits = lens[msg] * 8;
    }
}

static const uint8_t *lane_block(struct lane *ln) {
    if (ln->tail_blocks == 0 && ln->left >= 64) {
        const uint8_t *b = ln->p;
        ln->p += 64;
        ln->left -= 64;
        return b;
    }
    if (ln->tail_blocks == 0) {
        size_t r = (size_t)ln->left;
        memset(ln->tail, 0, sizeof ln->tail);
        if (r) memcpy(ln->tail, ln->p, r);
        ln->tail[r] = 0x80;
        ln->tail_blocks = r < 56 ? 1 : 2;
        uint8_t *end = ln->tail + 64 * ln->tail_blocks - 8;
        for (int i = 0; i < 8; i++) end[i] = (uint8_t)(ln->bits >> (56 - 8 * i));
        ln->left = 0;
    }
    return ln->tail + 64 * ln->tail_next++;
}

static int lane_done(const struct lane *ln) {
    return ln->tail_blocks && ln->tail_next == ln->tail_blocks;
}

#ifdef HAVE_KERNELS
/* The 16 message words of each lane's next block, big-endian, one vector per word. */
#define LOAD_WORDS(w, block)                                                           \
    for (int i = 0; i < 16; i++) {                                                     \
        uint32_t row[LANES];                                                           \
        for (int l = 0; l < LANES; l++) row[l] = load_be32(block[l] + 4 * i);          \
        memcpy(&w[i], row, sizeof row);                                                \
    }

#define LANES 8
#define FN sha256x8_avx2
#define TARGET "avx2"
#include "sha256x_lanes.h"
#undef LANES
#undef FN
#undef TARGET

#undef LOAD_WORDS
/* AVX-512: each word gathered from the 16 blocks (two gathers of 8 addresses), then
 * byte-swapped in the register. */
#define LOAD_WORDS(w, block)                                                           \
    do {                                                                               \
        __m512i lo_ = _mm512_loadu_si512((const void *)&block[0]);                     \
        __m512i hi_ = _mm512_loadu_si512((const void *)&block[8]);                     \
        const __m512i swap_ = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607,    \
                                                0x00010203);                           \
        for (int i = 0; i < 16; i++) {                                                 \
            __m256i a_ = _mm512_i64gather_epi32(_mm512_add_epi64(lo_, _mm512_set1_epi64(4 * i)), \
                                                NULL, 1);                              \
            __m256i b_ = _mm512_i64gather_epi32(_mm512_add_epi64(hi_, _mm512_set1_epi64(4 * i)), \
                                                NULL, 1);                              \
            __m512i v_ = _mm512_inserti64x4(_mm512_castsi256_si512(a_), b_, 1);        \
            v_ = _mm512_shuffle_epi8(v_, swap_);                                       \
            memcpy(&w[i], &v_, sizeof v_);                                             \
        }                                                                              \
    } while (0)

#define LANES 16
#define FN sha256x16_avx512
#define TARGET "avx512f,avx512bw"
#include "sha256x_lanes.h"
#undef LANES
#undef FN
#undef TARGET

#endif

/* The widest kernel this CPU runs with at most ``lanes`` lanes (0: any); NULL if none. */
static const char *kernel_name(int lanes) {
#ifndef HAVE_KERNELS
    (void)lanes;
    return NULL;
#else
    __builtin_cpu_init();
    if ((lanes == 0 || lanes >= 16) && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw"))
        return "avx512f-x16";
    if ((lanes == 0 || lanes >= 8) && __builtin_cpu_supports("avx2")) return "avx2-x8";
    return NULL;
#endif
}

/* Hash n messages with the widest kernel allowed (the caller checked there is one). */
static void hash_many(const char *kernel, size_t n, const uint8_t *const *ptrs,
                      const uint64_t *lens, uint8_t *out) {
#ifdef HAVE_KERNELS
    if (kernel[3] == '5')
        sha256x16_avx512(n, ptrs, lens, out);
    else
        sha256x8_avx2(n, ptrs, lens, out);
#else
    (void)kernel, (void)n, (void)ptrs, (void)lens, (void)out;
#endif
}

static PyObject *py_digests(PyObject *self, PyObject *args) {
    PyObject *seq;
    int lanes = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "O|i:digests", &seq, &lanes)) return NULL;
    const char *kernel = kernel_name(lanes);
    if (kernel == NULL) {
        PyErr_Format(PyExc_RuntimeError, "no SIMD kernel of at most %d lanes on this CPU", lanes);
        return NULL;
    }
    PyObject *fast = PySequence_Fast(seq, "digests() takes a sequence of buffers");
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    Py_buffer *views = PyMem_Calloc((size_t)n + 1, sizeof(Py_buffer));
    const uint8_t **ptrs = PyMem_Calloc((size_t)n + 1, sizeof(uint8_t *));
    uint64_t *lens = PyMem_Calloc((size_t)n + 1, sizeof(uint64_t));
    PyObject *out = PyBytes_FromStringAndSize(NULL, 32 * n);
    Py_ssize_t got = 0;
    if (views == NULL || ptrs == NULL || lens == NULL || out == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto fail;
    }
    for (; got < n; got++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(fast, got), &views[got],
                               PyBUF_SIMPLE) < 0)
            goto fail;
        ptrs[got] = views[got].buf;
        lens[got] = (uint64_t)views[got].len;
    }
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    hash_many(kernel, (size_t)n, ptrs, lens, dst);
    Py_END_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_DECREF(fast);
    return out;
fail:
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_XDECREF(out);
    Py_DECREF(fast);
    return NULL;
}

/* RFC 6962 Merkle tree hash over n leaf digests (32 bytes each, concatenated): leaves
 * SHA-256(0x00 || d), nodes SHA-256(0x01 || left || right), level by level with an odd last
 * node carried up unchanged (the same tree as RFC 6962's split at the largest power of two
 * below n). Every hash of a level is independent: one batch per level. */
static int merkle(const char *kernel, const uint8_t *digests, size_t n, uint8_t root[32]) {
    size_t cap = n ? n : 1;
    uint8_t *msgs = PyMem_RawMalloc(cap * 65);
    uint8_t *level = PyMem_RawMalloc(cap * 32);
    const uint8_t **ptrs = PyMem_RawMalloc(cap * sizeof(uint8_t *));
    uint64_t *lens = PyMem_RawMalloc(cap * sizeof(uint64_t));
    if (!msgs || !level || !ptrs || !lens) {
        PyMem_RawFree(msgs), PyMem_RawFree(level), PyMem_RawFree(ptrs), PyMem_RawFree(lens);
        return -1;
    }
    if (n == 0) { /* the empty tree: SHA-256 of nothing */
        ptrs[0] = msgs;
        lens[0] = 0;
        hash_many(kernel, 1, ptrs, lens, root);
    } else {
        for (size_t i = 0; i < n; i++) {
            msgs[33 * i] = 0x00;
            memcpy(msgs + 33 * i + 1, digests + 32 * i, 32);
            ptrs[i] = msgs + 33 * i;
            lens[i] = 33;
        }
        hash_many(kernel, n, ptrs, lens, level);
        size_t count = n;
        while (count > 1) {
            size_t pairs = count / 2;
            for (size_t i = 0; i < pairs; i++) {
                msgs[65 * i] = 0x01;
                memcpy(msgs + 65 * i + 1, level + 64 * i, 64);
                ptrs[i] = msgs + 65 * i;
                lens[i] = 65;
            }
            /* the pairs' hashes overwrite the front of the level (their inputs are copied
             * in msgs); an odd last node is carried up unchanged, right after them */
            if (count & 1) memmove(level + 32 * pairs, level + 32 * (count - 1), 32);
            hash_many(kernel, pairs, ptrs, lens, level);
            count = pairs + (count & 1);
        }
        memcpy(root, level, 32);
    }
    PyMem_RawFree(msgs), PyMem_RawFree(level), PyMem_RawFree(ptrs), PyMem_RawFree(lens);
    return 0;
}

static PyObject *py_merkle_root(PyObject *self, PyObject *args) {
    Py_buffer view;
    int lanes = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*|i:merkle_root", &view, &lanes)) return NULL;
    const char *kernel = kernel_name(lanes);
    if (kernel == NULL || view.len % 32) {
        PyBuffer_Release(&view);
        if (kernel == NULL)
            PyErr_Format(PyExc_RuntimeError, "no SIMD kernel of at most %d lanes on this CPU",
                         lanes);
        else
            PyErr_SetString(PyExc_ValueError, "merkle_root() takes 32-byte digests, concatenated");
        return NULL;
    }
    uint8_t root[32];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = merkle(kernel, view.buf, (size_t)view.len / 32, root);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (rc < 0) return PyErr_NoMemory();
    return PyBytes_FromStringAndSize((const char *)root, 32);
}

static PyObject *py_kernel(PyObject *self, PyObject *args) {
    int lanes = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "|i:kernel", &lanes)) return NULL;
    const char *k = kernel_name(lanes);
    if (k == NULL) Py_RETURN_NONE;
    return PyUnicode_FromString(k);
}

static PyMethodDef methods[] = {
    {"digests", py_digests, METH_VARARGS,
     "digests(buffers, lanes=0) -> bytes: the 32-byte SHA-256 of each buffer, concatenated;\n"
     "lanes: the widest kernel to use (16: AVX-512, 8: AVX2, 0: the widest this CPU runs)."},
    {"merkle_root", py_merkle_root, METH_VARARGS,
     "merkle_root(digests, lanes=0) -> bytes: the RFC 6962 tree hash over leaf digests\n"
     "(32 bytes each, concatenated; leaves 0x00||d, nodes 0x01||l||r)."},
    {"kernel", py_kernel, METH_VARARGS,
     "kernel(lanes=0) -> str | None: the kernel digests() runs (None: no AVX2 on this CPU)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sha256x", "Multi-buffer SHA-256 (see sha256x.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__sha256x(void) { return PyModule_Create(&module); }
