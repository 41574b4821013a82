/*
 * compute - a deterministic integer workload with a checksum, for speed and
 * correctness comparisons between Rewind and QEMU.
 *
 * Each round works on a 64 KiB buffer:
 *   1. fill it from a xorshift64* generator (64-bit multiply, shifts, stores);
 *   2. CRC32C it with the ARMv8 CRC32 instructions (__crc32cd / __crc32cb);
 *   3. "mix" each word: multiply-high, divide, count-leading-zeros, bit reverse, byte
 *      reverse, rotates, bitfield extracts, conditional selects, indirect calls;
 *   4. heapsort 4096 32-bit keys taken from it and check that they are sorted;
 *   5. sweep it with byte/halfword/word loads and stores, signed and unsigned;
 *   6. run architectural edge cases (divide by zero, INT64_MIN / -1, ...).
 * Every round's results feed the next round's seed, so nothing can be skipped or
 * reordered without changing the final checksum. Progress lines show the running
 * checksum, so a divergence can be pinned to a round.
 *
 * The instruction mix is ARMv8.0 base integer + CRC32 only (build.sh: -mgeneral-regs-only).
 * Size: COMPUTE_ROUNDS (default 180: about 300 million instructions; compute-small.elf
 * is built with 4). See README.md for measured counts.
 */
#include <arm_acle.h>
#include "lib.h"

#ifndef COMPUTE_ROUNDS
#define COMPUTE_ROUNDS 180
#endif

/* Each phase stays a function of its own, so it shows up in backtraces and profiles. */
#define NOINLINE __attribute__((noinline))

#define BUF_WORDS  8192            /* 64 KiB of 64-bit words */
#define SORT_KEYS  4096

static uint64_t buf[BUF_WORDS];
static uint32_t keys[SORT_KEYS];

/* ---- 1. fill: xorshift64* (Vigna), a fast generator with a 64-bit multiply ---- */

static NOINLINE uint64_t fill(uint64_t state)
{
    for (unsigned i = 0; i < BUF_WORDS; i++) {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        buf[i] = state * 0x2545f4914f6cdd1dULL;
    }
    return state;
}

/* ---- 2. CRC32C of the buffer: 8 bytes per instruction, then a byte-wise tail ---- */

static NOINLINE uint32_t crc_buffer(uint32_t crc)
{
    for (unsigned i = 0; i < BUF_WORDS; i++)
        crc = __crc32cd(crc, buf[i]);
    /* A few bytes one at a time, so the byte form is exercised too. */
    const uint8_t *bytes = (const uint8_t *)buf;
    for (unsigned i = 0; i < 61; i++)
        crc = __crc32cb(crc, bytes[i * 7]);
    crc = __crc32w(crc, (uint32_t)buf[3]);
    crc = __crc32h(crc, (uint16_t)buf[5]);
    return crc;
}

/* ---- 3. mix: a bag of integer operations per word ---- */

static inline uint64_t rbit64(uint64_t v)
{
    __asm__("rbit %0, %1" : "=r"(v) : "r"(v));
    return v;
}

static inline uint64_t ror64(uint64_t v, unsigned n)
{
    return (v >> (n & 63)) | (v << ((64 - n) & 63));
}

/* Population count without the SIMD CNT instruction (and without a libgcc call). */
static inline unsigned popcount64(uint64_t v)
{
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((v * 0x0101010101010101ULL) >> 56);
}

/* Eight small operations called through a table of function pointers (BLR): indirect
 * branches whose targets depend on the data. */
static uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
static uint64_t op_sub_shifted(uint64_t a, uint64_t b) { return a - (b << 3); }
static uint64_t op_xor_rotated(uint64_t a, uint64_t b) { return a ^ ror64(b, 17); }
static uint64_t op_mul(uint64_t a, uint64_t b) { return a * (b | 1); }
static uint64_t op_and_not(uint64_t a, uint64_t b) { return a & ~b; }
static uint64_t op_or_shift(uint64_t a, uint64_t b) { return (a | b) >> (b & 31); }
static uint64_t op_asr(uint64_t a, uint64_t b) { return (uint64_t)((int64_t)a >> (b & 63)); }
static uint64_t op_bit_counts(uint64_t a, uint64_t b)
{
    return a + __builtin_clzll(b | 1) + __builtin_ctzll(b | 1);
}

static uint64_t (*const ops[8])(uint64_t, uint64_t) = {
    op_add, op_sub_shifted, op_xor_rotated, op_mul,
    op_and_not, op_or_shift, op_asr, op_bit_counts,
};

static NOINLINE uint64_t mix(uint64_t acc)
{
    for (unsigned i = 0; i < BUF_WORDS; i++) {
        uint64_t w = buf[i];
        uint64_t hi = (uint64_t)(((unsigned __int128)w * (acc | 1)) >> 64); /* UMULH */
        int64_t shi = (int64_t)(((__int128)(int64_t)w * (int64_t)acc) >> 64); /* SMULH */
        uint64_t q = w / ((acc & 0xffff) + 1);                     /* UDIV, 64-bit */
        int32_t sq = (int32_t)w / (int32_t)((acc >> 20) | 1);      /* SDIV, 32-bit */
        uint64_t r = w % 1000003;                                  /* UDIV + MSUB */
        unsigned lz = __builtin_clzll(w | 1);
        uint64_t rev = __builtin_bswap64(w) ^ rbit64(acc);
        uint32_t field = (uint32_t)(w >> 13) & 0x7ff;              /* UBFX */
        int32_t sfield = (int32_t)((int64_t)(w << 7) >> 51);       /* SBFX */

        acc ^= hi + (uint64_t)shi + q + (uint64_t)(int64_t)sq + r;
        acc = ror64(acc, lz) + rev + field + (uint64_t)(int64_t)sfield;
        acc += popcount64(w) > 32 ? w : ~w;                        /* CSEL/CSINV */
        acc = ops[((w >> 61) ^ i) & 7](acc, w);
        buf[i] = acc;
    }
    return acc;
}

/* ---- 4. heapsort of 32-bit keys ---- */

static void sift_down(uint32_t *a, unsigned start, unsigned end)
{
    unsigned root = start;
    while (2 * root + 1 < end) {
        unsigned child = 2 * root + 1;
        if (child + 1 < end && a[child] < a[child + 1])
            child++;
        if (a[root] >= a[child])
            return;
        uint32_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heapsort(uint32_t *a, unsigned n)
{
    for (unsigned start = n / 2; start-- > 0;)
        sift_down(a, start, n);
    for (unsigned end = n; end-- > 1;) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

static NOINLINE uint32_t sort_keys(uint32_t crc)
{
    for (unsigned i = 0; i < SORT_KEYS; i++)
        keys[i] = (uint32_t)(buf[i * 2] >> (i & 31));
    heapsort(keys, SORT_KEYS);
    for (unsigned i = 1; i < SORT_KEYS; i++)
        if (keys[i - 1] > keys[i])
            panic("heapsort: keys[%u] = 0x%x > keys[%u] = 0x%x", i - 1, keys[i - 1], i, keys[i]);
    /* The median and the extremes summarize the sorted order. */
    crc = __crc32cw(crc, keys[0]);
    crc = __crc32cw(crc, keys[SORT_KEYS / 2]);
    return __crc32cw(crc, keys[SORT_KEYS - 1]);
}

/* ---- 5. narrow loads and stores, signed and unsigned ---- */

static NOINLINE uint64_t sweep(uint64_t acc)
{
    uint8_t *b = (uint8_t *)buf;
    uint16_t *h = (uint16_t *)buf;
    uint32_t *w = (uint32_t *)buf;

    for (unsigned i = 0; i < BUF_WORDS; i += 3) {
        acc += (int8_t)b[i * 5 + 1];                   /* LDRSB */
        acc ^= (uint64_t)(int16_t)h[i * 3 + 1] << 7;   /* LDRSH */
        acc += (uint64_t)(int32_t)w[i + 1];            /* LDRSW */
        b[i * 8 + 3] = (uint8_t)acc;                   /* STRB */
        h[i * 4 + 2] = (uint16_t)(acc >> 16);          /* STRH */
        w[i * 2 + 1] = (uint32_t)(acc >> 32);          /* STR (W) */
    }
    return acc;
}

/* ---- 6. architectural edge cases the C language would call undefined ---- */

static NOINLINE uint64_t edge_cases(uint64_t x)
{
    uint64_t zero = x & 0, minus_one = ~zero, int64_min = 1ULL << 63, q1, q2, q3, q4, c0, c1;
    /* Division by zero gives 0, INT64_MIN / -1 gives INT64_MIN (no trap on AArch64). */
    __asm__("udiv %0, %1, %2" : "=r"(q1) : "r"(x), "r"(zero));
    __asm__("sdiv %0, %1, %2" : "=r"(q2) : "r"(x), "r"(zero));
    __asm__("sdiv %0, %1, %2" : "=r"(q3) : "r"(int64_min), "r"(minus_one));
    __asm__("sdiv %w0, %w1, %w2" : "=r"(q4) : "r"(0x80000000u), "r"(0xffffffffu));
    __asm__("clz %0, %1" : "=r"(c0) : "r"(zero));      /* 64 */
    __asm__("cls %0, %1" : "=r"(c1) : "r"(minus_one)); /* 63 */
    if (q1 != 0 || q2 != 0 || q3 != int64_min || (uint32_t)q4 != 0x80000000u || c0 != 64 ||
        c1 != 63)
        panic("edge cases: udiv/0=%lx sdiv/0=%lx min/-1=%lx min32/-1=%x clz0=%lu cls-1=%lu",
              q1, q2, q3, (uint32_t)q4, c0, c1);
    return x + q3 + c0 + c1;
}

int main(void)
{
    uint64_t seed = 0x5265776964ULL; /* "Rewind" */
    uint32_t crc = 0xffffffff;
    unsigned report_every = COMPUTE_ROUNDS >= 10 ? COMPUTE_ROUNDS / 10 : 1;

    printf("compute: %u rounds over a %u KiB buffer\n", COMPUTE_ROUNDS,
           (unsigned)(sizeof buf / 1024));
    for (unsigned round = 1; round <= COMPUTE_ROUNDS; round++) {
        seed = fill(seed ^ crc);
        crc = crc_buffer(crc);
        uint64_t acc = mix(seed + round);
        crc = sort_keys(crc);
        acc = sweep(acc);
        acc = edge_cases(acc);
        crc = __crc32cd(crc, acc);
        if (round % report_every == 0 || round == COMPUTE_ROUNDS)
            printf("round %u/%u: crc 0x%08x\n", round, COMPUTE_ROUNDS, crc);
    }
    printf("checksum: 0x%08x\n", crc);
    return EXIT_OK;
}
