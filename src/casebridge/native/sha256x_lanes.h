/* One multi-buffer SHA-256 kernel, included once per lane width (see sha256x.c).
 *
 * LANES messages are hashed side by side, one in each 32-bit lane of a vector register:
 * SHA-256 of one message is a chain no SIMD can shorten, but independent messages share
 * every instruction. A lane that finishes its message takes the next one, so a batch of
 * pages of different sizes keeps the lanes busy until the last few messages.
 *
 * Defined by the includer: LANES, FN (the function's name), TARGET (gcc target string).
 */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC CAT(FN, _vec)
#define ROTR CAT(FN, _rotr)
#define COMPRESS CAT(FN, _compress)

typedef uint32_t VEC __attribute__((vector_size(LANES * 4)));

__attribute__((target(TARGET))) static inline VEC ROTR(VEC x, int n) {
    return (x >> n) | (x << (32 - n));
}

#define ROUND(a, b, c, d, e, f, g, h, k, wt)                                      \
    do {                                                                           \
        VEC t1_ = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) \
                  + (k) + (wt);                                                   \
        VEC t2_ = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) | (c & (a | b))); \
        d += t1_;                                                                  \
        h = t1_ + t2_;                                                             \
    } while (0)

/* Eight rounds with the variables renamed instead of moved, as every fast SHA-256 does. */
#define EIGHT(t, W)                                                                \
    ROUND(a, b, c, d, e, f, g, h, K256[(t) + 0], W((t) + 0));                      \
    ROUND(h, a, b, c, d, e, f, g, K256[(t) + 1], W((t) + 1));                      \
    ROUND(g, h, a, b, c, d, e, f, K256[(t) + 2], W((t) + 2));                      \
    ROUND(f, g, h, a, b, c, d, e, K256[(t) + 3], W((t) + 3));                      \
    ROUND(e, f, g, h, a, b, c, d, K256[(t) + 4], W((t) + 4));                      \
    ROUND(d, e, f, g, h, a, b, c, K256[(t) + 5], W((t) + 5));                      \
    ROUND(c, d, e, f, g, h, a, b, K256[(t) + 6], W((t) + 6));                      \
    ROUND(b, c, d, e, f, g, h, a, K256[(t) + 7], W((t) + 7))

__attribute__((target(TARGET))) static void COMPRESS(VEC s[8], const VEC w_in[16]) {
    VEC w[16];
    VEC a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (int i = 0; i < 16; i++) w[i] = w_in[i];
#define W_FIRST(t) w[t]
#define W_NEXT(t)                                                                  \
    (w[(t) & 15] += (ROTR(w[((t) - 15) & 15], 7) ^ ROTR(w[((t) - 15) & 15], 18)      \
                     ^ (w[((t) - 15) & 15] >> 3))                                  \
                    + w[((t) - 7) & 15]                                            \
                    + (ROTR(w[((t) - 2) & 15], 17) ^ ROTR(w[((t) - 2) & 15], 19)     \
                       ^ (w[((t) - 2) & 15] >> 10)))
    EIGHT(0, W_FIRST);
    EIGHT(8, W_FIRST);
    EIGHT(16, W_NEXT);
    EIGHT(24, W_NEXT);
    EIGHT(32, W_NEXT);
    EIGHT(40, W_NEXT);
    EIGHT(48, W_NEXT);
    EIGHT(56, W_NEXT);
#undef W_FIRST
#undef W_NEXT
    s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

#undef EIGHT
#undef ROUND

__attribute__((target(TARGET))) static void FN(
    size_t n, const uint8_t *const *msgs, const uint64_t *lens, uint8_t *out) {
    struct lane lanes[LANES];
    VEC s[8];
    VEC w[16];
    static const uint8_t zero[64];
    size_t next = 0, active = 0;
    for (int l = 0; l < LANES; l++) {
        lane_start(&lanes[l], next < n ? (int64_t)next : -1, msgs, lens);
        if (next < n) { next++; active++; }
        for (int i = 0; i < 8; i++) s[i][l] = H256[i];
    }
    while (active) {
        const uint8_t *block[LANES];
        for (int l = 0; l < LANES; l++) block[l] = lanes[l].msg < 0 ? zero : lane_block(&lanes[l]);
        LOAD_WORDS(w, block);
        COMPRESS(s, w);
        for (int l = 0; l < LANES; l++) {
            struct lane *ln = &lanes[l];
            if (ln->msg < 0 || !lane_done(ln)) continue;
            for (int i = 0; i < 8; i++) store_be32(out + 32 * ln->msg + 4 * i, s[i][l]);
            if (next < n) {
                lane_start(ln, (int64_t)next++, msgs, lens);
            } else {
                ln->msg = -1;
                active--;
            }
            for (int i = 0; i < 8; i++) s[i][l] = H256[i];
        }
    }
}

#undef VEC
#undef ROTR
#undef COMPRESS
#undef CAT
#undef CAT_
