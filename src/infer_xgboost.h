/*
 * The XGBoost format's insides, shared by its loader (infer_xgboost.c)
 * and its evaluator (infer_xgboost_eval.c), and seen by the benchmark.
 * The rest of the module knows the format by infer_xgboost_ops alone.
 *
 * Trees go in blocks of 8 consecutive trees, and a row walks the 8 trees
 * of a block side by side: 8 independent chains of loads keep the core
 * busy where one chain would wait on each load.  A block whose trees are
 * at most INFER_XGB_MAX_DEPTH deep is stored as 8 perfect trees of the
 * block's depth: node i has children 2i+1 and 2i+2, a shallower leaf is
 * copied into every leaf below it, and a walk is depth steps with no
 * branch.  Each tree's thresholds, slots and leaves are arrays of their
 * own, so that a node's address is one addressing mode.  Deeper blocks,
 * and every block of a model too wide for the row buffer, keep each tree
 * as a node array in breadth-first order, right child next to the left.
 *
 * Comparisons are on keys: a float's bits made into an unsigned integer
 * that orders as the float does (infer_xgb_key()).  x < threshold exactly
 * when key(x) < key(threshold); thresholds are finite, checked at load.
 *
 * The row buffer.  Each row is first gathered into two halves over the
 * features the splits read: keys, with a missing value (NaN) made 0 in
 * the first half, below every threshold, and 0xffffffff in the second,
 * above them all.  A node whose missing values go left reads the first
 * half, one whose missing values go right the second: a slot is the index
 * into that buffer, and the walk compares integers and nothing else.
 */

#ifndef INFER_XGBOOST_H
#define INFER_XGBOOST_H


#include <stdint.h>

#include "infer_model.h"


#define INFER_XGB_WIDTH         8           /* trees walked side by side */
#define INFER_XGB_MAX_DEPTH     8           /* deeper blocks: generic */
#define INFER_XGB_GENERIC       0xff
#define INFER_XGB_ROW_KEYS      4096        /* the row buffer, on the stack */
#define INFER_XGB_BLOCK_ROWS    64          /* rows walked tree-major */
#define INFER_XGB_LANES         16          /* AVX-512: rows side by side */
#define INFER_XGB_SIMD_DEPTH    6           /* a level fits 2 registers */
#define INFER_XGB_SIMD_GROUPS   16
#define INFER_XGB_PAD           32          /* vector loads read past */
#define INFER_XGB_MAX_GROUPS    1024        /* classes */
#define INFER_XGB_MAX_FEATURES  (1 << 20)
#define INFER_XGB_MAX_NODES     (1 << 24)   /* in one tree */
#define INFER_XGB_MAX_TREES     (1 << 20)


typedef enum {
    INFER_XGB_IDENTITY = 0,
    INFER_XGB_SIGMOID,
    INFER_XGB_EXP,
    INFER_XGB_HINGE,
    INFER_XGB_SOFTPROB,
    INFER_XGB_SOFTMAX
} infer_xgb_transform_e;


/* a generic tree's node */
typedef struct {
    union {
        uint32_t            key;
        float               leaf;
    } u;
    uint32_t                slot;
    uint32_t                left;           /* 0: a leaf; right is left + 1 */
} infer_xgb_gnode_t;


typedef struct infer_xgb_block_s  infer_xgb_block_t;

typedef void (*infer_xgb_walk_pt)(const infer_xgb_block_t *b, size_t n,
    const uint32_t *xx, float *sums, size_t ngroups);

struct infer_xgb_block_s {
    uint32_t                depth;          /* or INFER_XGB_GENERIC */
    uint32_t                ntrees;         /* 1 to 8; the rest is padding */
    uint32_t                group[INFER_XGB_WIDTH];
    uint32_t                root[INFER_XGB_WIDTH];    /* generic: gnodes */
    uint32_t                run;            /* blocks from here, same walk */
    infer_xgb_walk_pt       walk;           /* perfect: for the depth */
    const uint32_t         *keys;           /* 8 x (2^depth - 1) */
    const uint16_t         *slots;          /* 8 x (2^depth - 1) */
    const float            *leaves;         /* 8 x 2^depth */
};


typedef struct {
    infer_xgb_block_t      *blocks;
    size_t                  nblocks;
    uint32_t               *keys;
    uint16_t               *slots;
    float                  *leaves;
    infer_xgb_gnode_t      *gnodes;
    uint32_t               *used;           /* features read, ascending */
    size_t                  nused;
    float                  *base;           /* ngroups margins */
    size_t                  ngroups;
    infer_xgb_transform_e   transform;
    unsigned                wide:1;         /* 2 x nused > ROW_KEYS */
    unsigned                simd:1;         /* batches on AVX-512 */
    unsigned                dense:1;        /* used[j] == j: every feature */
} infer_xgb_t;


int infer_xgb_eval(const infer_model_t *m, const float *x, size_t rows,
    float *y);
uint32_t infer_xgb_key(float f);
int infer_xgb_simd_usable(void);


/* the perfect blocks' walks, by depth, 0 to INFER_XGB_MAX_DEPTH */
extern const infer_xgb_walk_pt  infer_xgb_walks[];


#endif /* INFER_XGBOOST_H */
