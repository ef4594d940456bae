/*
 * The XGBoost format's evaluator: rows through the layout that
 * infer_xgboost.h describes, then the objective's transform.  Nothing
 * here allocates, and the model is only read: any number of threads may
 * evaluate one model at once.
 *
 * A single row walks the blocks in order.  A batch walks them tree-major,
 * a block of rows at a time, so that the trees being walked stay in the
 * L1 cache; on a CPU with AVX-512, 16 rows walk each tree in the lanes of
 * a vector.  Every path adds the leaves in tree order, in float: they
 * give the same bits.
 */

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "infer_model.h"
#include "infer_xgboost.h"


#if (defined(__SSE2__))
#include <emmintrin.h>
#endif

#if ((defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__))
#define INFER_XGB_AVX512  1
#include <immintrin.h>
#else
#define INFER_XGB_AVX512  0
#endif


static void infer_xgb_rows(const infer_model_t *m, const float *x,
    size_t rows, uint32_t *xx, float *sums, float *y);
static void infer_xgb_gather(const infer_xgb_t *xg, const float *row,
    uint32_t *xx);
#if (defined(__SSE2__))
static size_t infer_xgb_gather_dense(const float *row, size_t n,
    uint32_t *xx);
#endif
static void infer_xgb_row(const infer_xgb_t *xg, const uint32_t *xx,
    const float *row, float *sums);
static void infer_xgb_walk0(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk1(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk2(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk3(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk4(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk5(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk6(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk7(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk8(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);
static void infer_xgb_walk_generic(const infer_xgb_t *xg,
    const infer_xgb_block_t *b, const uint32_t *xx, float *leaf);
static void infer_xgb_add(const infer_xgb_block_t *b, const float *leaf,
    float *sums, size_t ngroups);
static void infer_xgb_walk_wide(const infer_xgb_t *xg,
    const infer_xgb_block_t *b, const float *row, float *leaf);
static uint32_t infer_xgb_wide_key(const infer_xgb_t *xg, const float *row,
    uint32_t slot);
#if (INFER_XGB_AVX512)
static void infer_xgb_rows16(const infer_model_t *m, const float *x,
    size_t rows, uint32_t *xt, float *y)
    __attribute__((target("avx512f")));
#endif
static void infer_xgb_transform(const infer_xgb_t *xg, float *sums,
    float *y);
static float infer_xgb_sigmoid(float x);


/* the perfect blocks' walks, by depth */
const infer_xgb_walk_pt  infer_xgb_walks[] = {
    infer_xgb_walk0, infer_xgb_walk1, infer_xgb_walk2, infer_xgb_walk3,
    infer_xgb_walk4, infer_xgb_walk5, infer_xgb_walk6, infer_xgb_walk7,
    infer_xgb_walk8
};


/*
 * Rows go in blocks of as many as the row buffer holds, up to 64, and a
 * block walks the trees tree-major: 8 trees stay in the L1 cache while
 * every row of the block goes through them.  A single row, or a model
 * too wide for the buffer, goes row by row.
 */

int
infer_xgb_eval(const infer_model_t *m, const float *x, size_t rows,
    float *y)
{
    const infer_xgb_t  *xg = m->impl;

    float               sums[INFER_XGB_MAX_GROUPS];
    size_t              r, n, stride;
    uint32_t            xx[INFER_XGB_ROW_KEYS];

    if (rows == 1 || xg->wide || xg->ngroups * 2 > INFER_XGB_MAX_GROUPS) {
        for (r = 0; r < rows; r++) {
            if (!xg->wide) {
                infer_xgb_gather(xg, x + r * m->nfeatures, xx);
            }

            infer_xgb_row(xg, xx, x + r * m->nfeatures, sums);
            infer_xgb_transform(xg, sums, y + r * m->noutputs);
        }

        return INFER_OK;
    }

#if (INFER_XGB_AVX512)

    /* 16 rows at a time; a remainder under 8 goes the scalar way */

    if (xg->simd) {
        for (r = 0; rows - r >= INFER_XGB_LANES / 2; r += n) {
            n = rows - r < INFER_XGB_LANES ? rows - r : INFER_XGB_LANES;
            infer_xgb_rows16(m, x + r * m->nfeatures, n, xx,
                             y + r * m->noutputs);
        }

        x += r * m->nfeatures;
        y += r * m->noutputs;
        rows -= r;
    }

#endif

    stride = 2 * xg->nused;
    n = INFER_XGB_ROW_KEYS / stride;

    if (n > INFER_XGB_MAX_GROUPS / xg->ngroups) {
        n = INFER_XGB_MAX_GROUPS / xg->ngroups;
    }

    if (n > INFER_XGB_BLOCK_ROWS) {
        n = INFER_XGB_BLOCK_ROWS;
    }

    for (r = 0; r < rows; r += n) {
        if (n > rows - r) {
            n = rows - r;
        }

        infer_xgb_rows(m, x + r * m->nfeatures, n, xx, sums,
                       y + r * m->noutputs);
    }

    return INFER_OK;
}


static void
infer_xgb_rows(const infer_model_t *m, const float *x, size_t rows,
    uint32_t *xx, float *sums, float *y)
{
    const infer_xgb_t        *xg = m->impl;

    float                     leaf[INFER_XGB_WIDTH];
    size_t                    r, g, stride, ngroups;
    const infer_xgb_block_t  *blk, *end;

    stride = 2 * xg->nused;
    ngroups = xg->ngroups;

    for (r = 0; r < rows; r++) {
        infer_xgb_gather(xg, x + r * m->nfeatures, xx + r * stride);

        for (g = 0; g < ngroups; g++) {
            sums[r * ngroups + g] = xg->base[g];
        }
    }

    end = xg->blocks + xg->nblocks;

    for (blk = xg->blocks; blk < end; blk++) {
        for (r = 0; r < rows; r++) {
            if (blk->walk != NULL) {
                blk->walk(blk, 1, xx + r * stride, sums + r * ngroups,
                          ngroups);
                continue;
            }

            infer_xgb_walk_generic(xg, blk, xx + r * stride, leaf);
            infer_xgb_add(blk, leaf, sums + r * ngroups, ngroups);
        }
    }

    for (r = 0; r < rows; r++) {
        infer_xgb_transform(xg, sums + r * ngroups, y + r * m->noutputs);
    }
}


/*
 * A float's key: unsigned keys compare as the floats do.  -0 is made +0
 * first, as -0 < +0 is false.
 */

uint32_t
infer_xgb_key(float f)
{
    uint32_t  u;

    f += 0.0f;
    memcpy(&u, &f, sizeof(uint32_t));

    return (u & 0x80000000) ? ~u : (u | 0x80000000);
}


/*
 * The row buffer: the keys of the features read, then again.  A missing
 * value is key 0 in the first half, below every threshold's key, and
 * 0xffffffff in the second, above them all.
 */

static void
infer_xgb_gather(const infer_xgb_t *xg, const float *row, uint32_t *xx)
{
    float            v;
    size_t           j, n;
    uint32_t         u, k;
    const uint32_t  *used;

    n = xg->nused;
    used = xg->used;
    j = 0;

#if (defined(__SSE2__))
    if (xg->dense) {
        j = infer_xgb_gather_dense(row, n, xx);
    }
#endif

    /* infer_xgb_key() written out: nginx builds with -O, inlines little */

    for ( /* void */ ; j < n; j++) {
        v = row[used[j]] + 0.0f;
        memcpy(&u, &v, sizeof(uint32_t));
        k = (u & 0x80000000) ? ~u : (u | 0x80000000);

        xx[j] = isnan(v) ? 0 : k;
        xx[n + j] = isnan(v) ? 0xffffffff : k;
    }
}


#if (defined(__SSE2__))

/*
 * A model that reads every feature reads the row as it is: 4 keys at a
 * time, as infer_xgb_key() makes them (the sign bit chooses between
 * flipping every bit and setting the top one), NaN made 0 in the first
 * half and all ones in the second.  Returns the features done.
 */

static size_t
infer_xgb_gather_dense(const float *row, size_t n, uint32_t *xx)
{
    size_t   j;
    __m128   v;
    __m128i  u, key, nan, top;

    top = _mm_set1_epi32((int) 0x80000000);

    for (j = 0; j + 4 <= n; j += 4) {
        v = _mm_add_ps(_mm_loadu_ps(row + j), _mm_setzero_ps());
        u = _mm_castps_si128(v);
        key = _mm_xor_si128(u, _mm_or_si128(_mm_srai_epi32(u, 31), top));
        nan = _mm_castps_si128(_mm_cmpunord_ps(v, v));

        _mm_storeu_si128((__m128i *) (xx + j), _mm_andnot_si128(nan, key));
        _mm_storeu_si128((__m128i *) (xx + n + j), _mm_or_si128(nan, key));
    }

    return j;
}

#endif


/* sums[g] = base[g] + each leaf of group g, in tree order, in float */

static void
infer_xgb_row(const infer_xgb_t *xg, const uint32_t *xx, const float *row,
    float *sums)
{
    float                     leaf[INFER_XGB_WIDTH];
    size_t                    g;
    const infer_xgb_block_t  *blk, *end;

    for (g = 0; g < xg->ngroups; g++) {
        sums[g] = xg->base[g];
    }

    blk = xg->blocks;
    end = blk + xg->nblocks;

    while (blk < end) {
        if (blk->walk != NULL) {
            blk->walk(blk, blk->run, xx, sums, xg->ngroups);
            blk += blk->run;
            continue;
        }

        if (xg->wide) {
            infer_xgb_walk_wide(xg, blk, row, leaf);

        } else {
            infer_xgb_walk_generic(xg, blk, xx, leaf);
        }

        infer_xgb_add(blk, leaf, sums, xg->ngroups);
        blk++;
    }
}


static void
infer_xgb_add(const infer_xgb_block_t *b, const float *leaf, float *sums,
    size_t ngroups)
{
    float   sum;
    size_t  k;

    if (ngroups == 1) {
        sum = sums[0];

        for (k = 0; k < b->ntrees; k++) {
            sum += leaf[k];
        }

        sums[0] = sum;
        return;
    }

    for (k = 0; k < b->ntrees; k++) {
        sums[b->group[k]] += leaf[k];
    }
}


/*
 * The 8 perfect trees of a block, side by side, one function per depth:
 * with the depth known, a node's address is one addressing mode.  A step
 * goes to 2i + 1 when x < threshold, else to 2i + 2: the compiler makes it
 * a compare and a subtract with borrow, no branch.  The 8 chains are
 * written out, as nginx builds with -O, which unrolls nothing.
 */

#define INFER_XGB_STEP(depth, i, k)                                           \
    i = 2 * i + 2 - (xx[slots[(k) * (((size_t) 1 << depth) - 1) + i]]       \
                     < keys[(k) * (((size_t) 1 << depth) - 1) + i])

#define INFER_XGB_LEAF(depth, i, k)                                           \
    leaf[k] = leaves[(k) * ((size_t) 1 << depth) + i                         \
                     - (((size_t) 1 << depth) - 1)]

/*
 * Two full blocks of one group, 16 chains.  A step waits on two loads in
 * a row (the slot, then the row buffer's key), and the 8 chains of one
 * block leave the core idle for much of each level; 16 keep it busier,
 * though they outnumber the registers.  The second block's arrays follow
 * the first's (a run is laid out in one piece), so tree k of the pair is
 * k trees' sizes from the first block's arrays.  The leaves are added in
 * tree order, as the 8-chain walk adds them.
 */

#define INFER_XGB_WALK16(depth)                                              \
static float                                                                 \
infer_xgb_walk16_##depth(const infer_xgb_block_t *b, const uint32_t *xx,     \
    float sum)                                                               \
{                                                                            \
    size_t           i0, i1, i2, i3, i4, i5, i6, i7;                         \
    size_t           i8, i9, i10, i11, i12, i13, i14, i15;                   \
    uint32_t         d;                                                      \
    const float     *leaves;                                                 \
    const uint16_t  *slots;                                                  \
    const uint32_t  *keys;                                                   \
                                                                             \
    keys = b->keys;                                                          \
    slots = b->slots;                                                        \
    leaves = b->leaves;                                                      \
    i0 = i1 = i2 = i3 = i4 = i5 = i6 = i7 = 0;                               \
    i8 = i9 = i10 = i11 = i12 = i13 = i14 = i15 = 0;                         \
                                                                             \
    for (d = 0; d < depth; d++) {                                            \
        INFER_XGB_STEP(depth, i0, 0);                                        \
        INFER_XGB_STEP(depth, i1, 1);                                        \
        INFER_XGB_STEP(depth, i2, 2);                                        \
        INFER_XGB_STEP(depth, i3, 3);                                        \
        INFER_XGB_STEP(depth, i4, 4);                                        \
        INFER_XGB_STEP(depth, i5, 5);                                        \
        INFER_XGB_STEP(depth, i6, 6);                                        \
        INFER_XGB_STEP(depth, i7, 7);                                        \
        INFER_XGB_STEP(depth, i8, 8);                                        \
        INFER_XGB_STEP(depth, i9, 9);                                        \
        INFER_XGB_STEP(depth, i10, 10);                                      \
        INFER_XGB_STEP(depth, i11, 11);                                      \
        INFER_XGB_STEP(depth, i12, 12);                                      \
        INFER_XGB_STEP(depth, i13, 13);                                      \
        INFER_XGB_STEP(depth, i14, 14);                                      \
        INFER_XGB_STEP(depth, i15, 15);                                      \
    }                                                                        \
                                                                             \
    sum += INFER_XGB_LEAF16(depth, i0, 0);                                   \
    sum += INFER_XGB_LEAF16(depth, i1, 1);                                   \
    sum += INFER_XGB_LEAF16(depth, i2, 2);                                   \
    sum += INFER_XGB_LEAF16(depth, i3, 3);                                   \
    sum += INFER_XGB_LEAF16(depth, i4, 4);                                   \
    sum += INFER_XGB_LEAF16(depth, i5, 5);                                   \
    sum += INFER_XGB_LEAF16(depth, i6, 6);                                   \
    sum += INFER_XGB_LEAF16(depth, i7, 7);                                   \
    sum += INFER_XGB_LEAF16(depth, i8, 8);                                   \
    sum += INFER_XGB_LEAF16(depth, i9, 9);                                   \
    sum += INFER_XGB_LEAF16(depth, i10, 10);                                 \
    sum += INFER_XGB_LEAF16(depth, i11, 11);                                 \
    sum += INFER_XGB_LEAF16(depth, i12, 12);                                 \
    sum += INFER_XGB_LEAF16(depth, i13, 13);                                 \
    sum += INFER_XGB_LEAF16(depth, i14, 14);                                 \
    sum += INFER_XGB_LEAF16(depth, i15, 15);                                 \
                                                                             \
    return sum;                                                              \
}

#define INFER_XGB_LEAF16(depth, i, k)                                         \
    leaves[(k) * ((size_t) 1 << depth) + i - (((size_t) 1 << depth) - 1)]

INFER_XGB_WALK16(1)
INFER_XGB_WALK16(2)
INFER_XGB_WALK16(3)
INFER_XGB_WALK16(4)
INFER_XGB_WALK16(5)
INFER_XGB_WALK16(6)
INFER_XGB_WALK16(7)
INFER_XGB_WALK16(8)


#define INFER_XGB_WALK(depth)                                                \
static void                                                                  \
infer_xgb_walk##depth(const infer_xgb_block_t *b, size_t n,                  \
    const uint32_t *xx, float *sums, size_t ngroups)                         \
{                                                                            \
    float            sum, leaf[INFER_XGB_WIDTH];                             \
    size_t           i0, i1, i2, i3, i4, i5, i6, i7;                         \
    uint32_t         d;                                                      \
    const float     *leaves;                                                 \
    const uint16_t  *slots;                                                  \
    const uint32_t  *keys;                                                   \
                                                                             \
    sum = sums[0];                                                           \
                                                                             \
    if (ngroups == 1) {                                                      \
        for ( /* void */ ; n >= 2 && b[0].ntrees == INFER_XGB_WIDTH          \
                            && b[1].ntrees == INFER_XGB_WIDTH;               \
             n -= 2, b += 2)                                                 \
        {                                                                    \
            sum = infer_xgb_walk16_##depth(b, xx, sum);                      \
        }                                                                    \
    }                                                                        \
                                                                             \
    for ( /* void */ ; n > 0; n--, b++) {                                    \
        keys = b->keys;                                                      \
        slots = b->slots;                                                    \
        leaves = b->leaves;                                                  \
        i0 = i1 = i2 = i3 = i4 = i5 = i6 = i7 = 0;                           \
                                                                             \
        for (d = 0; d < depth; d++) {                                        \
            INFER_XGB_STEP(depth, i0, 0);                                    \
            INFER_XGB_STEP(depth, i1, 1);                                    \
            INFER_XGB_STEP(depth, i2, 2);                                    \
            INFER_XGB_STEP(depth, i3, 3);                                    \
            INFER_XGB_STEP(depth, i4, 4);                                    \
            INFER_XGB_STEP(depth, i5, 5);                                    \
            INFER_XGB_STEP(depth, i6, 6);                                    \
            INFER_XGB_STEP(depth, i7, 7);                                    \
        }                                                                    \
                                                                             \
        INFER_XGB_LEAF(depth, i0, 0);                                        \
        INFER_XGB_LEAF(depth, i1, 1);                                        \
        INFER_XGB_LEAF(depth, i2, 2);                                        \
        INFER_XGB_LEAF(depth, i3, 3);                                        \
        INFER_XGB_LEAF(depth, i4, 4);                                        \
        INFER_XGB_LEAF(depth, i5, 5);                                        \
        INFER_XGB_LEAF(depth, i6, 6);                                        \
        INFER_XGB_LEAF(depth, i7, 7);                                        \
                                                                             \
        if (ngroups == 1 && b->ntrees == INFER_XGB_WIDTH) {                  \
            sum += leaf[0];                                                  \
            sum += leaf[1];                                                  \
            sum += leaf[2];                                                  \
            sum += leaf[3];                                                  \
            sum += leaf[4];                                                  \
            sum += leaf[5];                                                  \
            sum += leaf[6];                                                  \
            sum += leaf[7];                                                  \
            continue;                                                        \
        }                                                                    \
                                                                             \
        sums[0] = sum;                                                       \
        infer_xgb_add(b, leaf, sums, ngroups);                               \
        sum = sums[0];                                                       \
    }                                                                        \
                                                                             \
    sums[0] = sum;                                                           \
}

INFER_XGB_WALK(1)
INFER_XGB_WALK(2)
INFER_XGB_WALK(3)
INFER_XGB_WALK(4)
INFER_XGB_WALK(5)
INFER_XGB_WALK(6)
INFER_XGB_WALK(7)
INFER_XGB_WALK(8)


/* blocks of single leaves */

static void
infer_xgb_walk0(const infer_xgb_block_t *b, size_t n, const uint32_t *xx,
    float *sums, size_t ngroups)
{
    (void) xx;

    for ( /* void */ ; n > 0; n--, b++) {
        infer_xgb_add(b, b->leaves, sums, ngroups);
    }
}


static void
infer_xgb_walk_generic(const infer_xgb_t *xg, const infer_xgb_block_t *b,
    const uint32_t *xx, float *leaf)
{
    uint32_t                  k;
    const infer_xgb_gnode_t  *g, *n;

    for (k = 0; k < b->ntrees; k++) {
        g = xg->gnodes + b->root[k];
        n = g;

        while (n->left != 0) {
            n = &g[n->left + 1 - (xx[n->slot] < n->u.key)];
        }

        leaf[k] = n->u.leaf;
    }
}


/*
 * The row itself, not the row buffer: for models reading many features,
 * whose trees are all kept generic.
 */

static void
infer_xgb_walk_wide(const infer_xgb_t *xg, const infer_xgb_block_t *b,
    const float *row, float *leaf)
{
    uint32_t                  k;
    const infer_xgb_gnode_t  *g, *n;

    for (k = 0; k < b->ntrees; k++) {
        g = xg->gnodes + b->root[k];
        n = g;

        while (n->left != 0) {
            n = &g[n->left + 1
                   - (infer_xgb_wide_key(xg, row, n->slot) < n->u.key)];
        }

        leaf[k] = n->u.leaf;
    }
}


static uint32_t
infer_xgb_wide_key(const infer_xgb_t *xg, const float *row, uint32_t slot)
{
    float  v;

    if (slot < xg->nused) {
        v = row[xg->used[slot]];
        return isnan(v) ? 0 : infer_xgb_key(v);
    }

    v = row[xg->used[slot - xg->nused]];

    return isnan(v) ? 0xffffffff : infer_xgb_key(v);
}


int
infer_xgb_simd_usable(void)
{
#if (INFER_XGB_AVX512)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}


#if (INFER_XGB_AVX512)

/*
 * Batches on AVX-512: 16 rows in the 16 lanes of a vector walk one tree
 * together.  Lane r holds a node's position j within its level; the keys
 * and slots of a level (at most 32 nodes, as depth <= 6) sit in one or two
 * registers, and a permute gives each lane its node's, with no memory
 * access.  The row buffer is transposed, [slot][lane], so that the first
 * level reads its 16 keys with one load and the second with two; deeper
 * levels gather them.  The leaves of a tree are a permute away too, and
 * each lane adds its leaf in float, in tree order, as the scalar code.
 */

static void
infer_xgb_rows16(const infer_model_t *m, const float *x, size_t rows,
    uint32_t *xt, float *y)
{
    const infer_xgb_t        *xg = m->impl;

    float                     v, out[INFER_XGB_LANES * INFER_XGB_SIMD_GROUPS];
    float                     sums[INFER_XGB_SIMD_GROUPS];
    size_t                    r, j, n, g, k, nt, ngroups, first, nodes;
    __m512                    sum, acc[INFER_XGB_SIMD_GROUPS], lv, lo, hi;
    __m512i                   pos[INFER_XGB_WIDTH], one, lane, kv, sv, xv;
    __m512i                   a, b;
    uint32_t                  u, key, level, width, depth;
    __mmask16                 left;
    const float              *row, *leaves;
    const uint16_t           *slots;
    const uint32_t           *keys;
    const infer_xgb_block_t  *blk, *end;

    n = xg->nused;
    ngroups = xg->ngroups;

    /* the row buffer, transposed; the lanes past the rows repeat row 0 */

    for (r = 0; r < INFER_XGB_LANES; r++) {
        row = x + (r < rows ? r : 0) * m->nfeatures;

        for (j = 0; j < n; j++) {
            v = row[xg->used[j]] + 0.0f;
            memcpy(&u, &v, sizeof(uint32_t));
            key = (u & 0x80000000) ? ~u : (u | 0x80000000);

            xt[j * INFER_XGB_LANES + r] = isnan(v) ? 0 : key;
            xt[(n + j) * INFER_XGB_LANES + r] = isnan(v) ? 0xffffffff : key;
        }
    }

    one = _mm512_set1_epi32(1);
    lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                             14, 15);

    for (g = 0; g < ngroups; g++) {
        acc[g] = _mm512_set1_ps(xg->base[g]);
    }

    sum = _mm512_set1_ps(xg->base[0]);
    end = xg->blocks + xg->nblocks;

    for (blk = xg->blocks; blk < end; blk++) {
        depth = blk->depth;
        nodes = ((size_t) 1 << depth) - 1;
        nt = blk->ntrees;

        for (k = 0; k < nt; k++) {
            pos[k] = _mm512_setzero_si512();
        }

        /* level by level, the trees of the block side by side */

        first = 0;

        for (level = 0; level < depth; level++) {
            width = (uint32_t) 1 << level;

            for (k = 0; k < nt; k++) {
                keys = blk->keys + k * nodes + first;
                slots = blk->slots + k * nodes + first;

                a = _mm512_loadu_si512(keys);
                sv = _mm512_cvtepu16_epi32(_mm256_loadu_si256(
                                               (const __m256i *) slots));

                if (width <= INFER_XGB_LANES) {
                    kv = _mm512_permutexvar_epi32(pos[k], a);
                    sv = _mm512_permutexvar_epi32(pos[k], sv);

                } else {
                    b = _mm512_loadu_si512(keys + INFER_XGB_LANES);
                    kv = _mm512_permutex2var_epi32(a, pos[k], b);
                    b = _mm512_cvtepu16_epi32(_mm256_loadu_si256(
                            (const __m256i *) (slots + INFER_XGB_LANES)));
                    sv = _mm512_permutex2var_epi32(sv, pos[k], b);
                }

                if (level == 0) {
                    xv = _mm512_loadu_si512(xt + slots[0] * INFER_XGB_LANES);

                } else if (level == 1) {
                    a = _mm512_loadu_si512(xt + slots[0] * INFER_XGB_LANES);
                    b = _mm512_loadu_si512(xt + slots[1] * INFER_XGB_LANES);
                    xv = _mm512_mask_blend_epi32(
                             _mm512_test_epi32_mask(pos[k], one), a, b);

                } else {
                    sv = _mm512_add_epi32(_mm512_slli_epi32(sv, 4), lane);
                    xv = _mm512_i32gather_epi32(sv, (const void *) xt, 4);
                }

                /* left: 2j; right: 2j + 1 */

                left = _mm512_cmplt_epu32_mask(xv, kv);
                pos[k] = _mm512_slli_epi32(pos[k], 1);
                pos[k] = _mm512_mask_add_epi32(pos[k], (__mmask16) ~left,
                                               pos[k], one);
            }

            first += width;
        }

        /* the leaves, added in tree order */

        width = (uint32_t) 1 << depth;

        for (k = 0; k < nt; k++) {
            leaves = blk->leaves + k * width;

            if (width <= INFER_XGB_LANES) {
                lv = _mm512_permutexvar_ps(pos[k], _mm512_loadu_ps(leaves));

            } else if (width == 2 * INFER_XGB_LANES) {
                lv = _mm512_permutex2var_ps(_mm512_loadu_ps(leaves), pos[k],
                                            _mm512_loadu_ps(leaves + 16));

            } else {
                lo = _mm512_permutex2var_ps(_mm512_loadu_ps(leaves), pos[k],
                                            _mm512_loadu_ps(leaves + 16));
                hi = _mm512_permutex2var_ps(_mm512_loadu_ps(leaves + 32),
                                            pos[k],
                                            _mm512_loadu_ps(leaves + 48));
                lv = _mm512_mask_blend_ps(
                         _mm512_test_epi32_mask(pos[k],
                                                _mm512_set1_epi32(32)),
                         lo, hi);
            }

            if (ngroups == 1) {
                sum = _mm512_add_ps(sum, lv);

            } else {
                acc[blk->group[k]] = _mm512_add_ps(acc[blk->group[k]], lv);
            }
        }
    }

    if (ngroups == 1) {
        acc[0] = sum;
    }

    for (g = 0; g < ngroups; g++) {
        _mm512_storeu_ps(out + g * INFER_XGB_LANES, acc[g]);
    }

    /*
     * Back to SSE code: with the upper halves of the vector registers
     * left dirty, SSE instructions run slower, here and in the rest of
     * the process (libxgboost's took twice as long).  gcc -O2 inserts
     * this, nginx's -O does not.
     */

    _mm256_zeroupper();

    for (r = 0; r < rows; r++) {
        for (g = 0; g < ngroups; g++) {
            sums[g] = out[g * INFER_XGB_LANES + r];
        }

        infer_xgb_transform(xg, sums, y + r * m->noutputs);
    }
}

#endif


/* the objectives' PredTransform(), in float as XGBoost computes them */

static void
infer_xgb_transform(const infer_xgb_t *xg, float *sums, float *y)
{
    float   wmax;
    size_t  g, best;
    double  wsum;

    switch (xg->transform) {

    case INFER_XGB_SIGMOID:
        for (g = 0; g < xg->ngroups; g++) {
            y[g] = infer_xgb_sigmoid(sums[g]);
        }

        return;

    case INFER_XGB_EXP:
        for (g = 0; g < xg->ngroups; g++) {
            y[g] = expf(sums[g]);
        }

        return;

    case INFER_XGB_HINGE:
        for (g = 0; g < xg->ngroups; g++) {
            y[g] = sums[g] > 0.0f ? 1.0f : 0.0f;
        }

        return;

    case INFER_XGB_SOFTPROB:

        /* common::Softmax(): a float maximum, a double sum of floats */

        wmax = sums[0];

        for (g = 1; g < xg->ngroups; g++) {
            wmax = fmaxf(sums[g], wmax);
        }

        wsum = 0.0;

        for (g = 0; g < xg->ngroups; g++) {
            sums[g] = expf(sums[g] - wmax);
            wsum += sums[g];
        }

        for (g = 0; g < xg->ngroups; g++) {
            y[g] = sums[g] / (float) wsum;
        }

        return;

    case INFER_XGB_SOFTMAX:

        /* common::FindMaxIndex(): the first of equal maxima */

        best = 0;

        for (g = 1; g < xg->ngroups; g++) {
            if (sums[g] > sums[best]) {
                best = g;
            }
        }

        y[0] = (float) best;
        return;

    default:
        for (g = 0; g < xg->ngroups; g++) {
            y[g] = sums[g];
        }

        return;
    }
}


/*
 * common::Sigmoid() of XGBoost 1.6 and later: the exponent is capped at
 * 88.7 (std::min, which keeps a NaN), and 1e-16f added to the
 * denominator, which changes nothing in float but is kept to match.
 */

static float
infer_xgb_sigmoid(float x)
{
    float  e;

    e = (88.7f < -x) ? 88.7f : -x;

    return 1.0f / (expf(e) + 1.0f + 1e-16f);
}


