/*
 * The memory shared by the scheduler-delay probe (infer_schedlat.bpf.c)
 * and user space: one struct in the BPF program's .bss.
 *
 * libbpf maps .bss MAP_SHARED (the map is BPF_F_MMAPABLE), so a process
 * forked after the load shares it with the kernel: nginx workers claim a
 * slot and read their counters as plain memory, with no bpf() call.
 *
 * Fixed-width __u32/__u64 only: bpftool copies the type names into the
 * skeleton as written.  The kernel side gets them from
 * infer_schedlat_vmlinux.h.
 */

#ifndef INFER_SCHEDLAT_ABI_H
#define INFER_SCHEDLAT_ABI_H


#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif


#define INFER_SL_NSLOTS     64            /* watched processes */
#define INFER_SL_NBUCKETS   32            /* log2 buckets of usec */
#define INFER_SL_BUSY       0xffffffffu   /* tgid of a slot being claimed */


/*
 * One watched process.  Bucket i counts waits of [2^i, 2^(i+1)) usec,
 * bucket 0 also those under 1 usec, the last one also the longer ones:
 * the buckets of runqlat.  Only the probe writes here, with atomic adds,
 * except when user space zeroes a slot it takes over for another key.
 * 320 bytes: a multiple of the 64-byte cache line.
 */

struct infer_sl_slot {
    __u64  count;                        /* run-queue waits that ended */
    __u64  total_ns;                     /* their sum, ns */
    __u64  hist[INFER_SL_NBUCKETS];
    __u64  pad[6];
};


struct infer_sl_shared {
    __u32                 nused;         /* slots ever claimed */
    __u32                 pad0;
    __u64                 lost;          /* enqueues the hash map refused */
    __u64                 pad1[6];

    /*
     * tgid: 0 for a free slot (never used, or its process exited: the
     * probe clears it on the leader's exit), INFER_SL_BUSY while user
     * space claims it.  key: the caller's label (nginx: the worker
     * number), kept when the process exits, so that a respawned worker
     * takes its predecessor's slot and counters.  gen: bumped at each
     * claim.
     */
    __u32                 tgid[INFER_SL_NSLOTS];
    __u32                 key[INFER_SL_NSLOTS];
    __u32                 gen[INFER_SL_NSLOTS];

    struct infer_sl_slot  slot[INFER_SL_NSLOTS];
};


#endif /* INFER_SCHEDLAT_ABI_H */
