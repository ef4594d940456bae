/*
 * Run-queue latency of the watched processes (nginx workers), the
 * runqlat method: a task's wait starts when it is woken (sched_wakeup,
 * sched_wakeup_new) or preempted while still runnable (sched_switch,
 * prev in TASK_RUNNING), and ends when it is switched in (sched_switch,
 * next).  Each wait lands in its process's slot of sl_shared, the .bss
 * that user space reads as shared memory (infer_schedlat_abi.h).
 *
 * tp_btf programs, and the same handlers as raw_tp programs for kernels
 * without tp_btf: the loader picks one set with bpf_program__set_autoload.
 * Kernel style, as in libbpf-tools, not nginx style.
 */

/*
 * The core's Makefile compiles src/infer_*.c for the host by wildcard,
 * and this file matches: there it is an empty translation unit.
 */
#if defined(__bpf__)

#include "infer_schedlat_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "infer_schedlat_abi.h"

#define TASK_RUNNING	0
#define MAX_ENTRIES	4096	/* threads of the watched processes */

/* tid -> when its wait started, ns */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct infer_sl_shared sl_shared = {};

/*
 * tp_btf programs get BTF-typed task pointers and read fields directly;
 * raw_tp programs must go through bpf_probe_read_kernel().  btf is a
 * constant in each program, so the other branch compiles away.
 */
#define TASK_READ(btf, t, field) \
	((btf) ? (t)->field : BPF_CORE_READ(t, field))

/*
 * commit 2f064a59a11f ("sched: Change task_struct::state") renamed
 * task_struct::state to task_struct::__state in 5.14, see
 * https://github.com/torvalds/linux/commit/2f064a59a11f
 */
static __always_inline long get_task_state(struct task_struct *t, bool btf)
{
	struct task_struct___o *o = (void *)t;

	if (bpf_core_field_exists(t->__state))
		return TASK_READ(btf, t, __state);
	return TASK_READ(btf, o, state);
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/* the slot watching tgid, or -1; a short scan, most often of nothing */
static __always_inline int find_slot(__u32 tgid)
{
	__u32 i, n = sl_shared.nused;

	for (i = 0; i < INFER_SL_NSLOTS; i++) {
		if (i >= n)
			break;
		if (sl_shared.tgid[i] == tgid)
			return i;
	}
	return -1;
}

/* a wait starts: woken, or preempted while runnable */
static __always_inline void trace_enqueue(__u32 pid)
{
	__u64 ts = bpf_ktime_get_ns();

	if (bpf_map_update_elem(&start, &pid, &ts, BPF_ANY))
		__sync_fetch_and_add(&sl_shared.lost, 1);
}

static __always_inline int handle_wakeup(struct task_struct *p, bool btf)
{
	if (!sl_shared.nused)
		return 0;

	if (find_slot(TASK_READ(btf, p, tgid)) >= 0)
		trace_enqueue(TASK_READ(btf, p, pid));
	return 0;
}

static __always_inline int handle_switch(struct task_struct *prev,
					 struct task_struct *next, bool btf)
{
	struct infer_sl_slot *s;
	__u64 *tsp, delta;
	__u32 pid, b;
	int slot;

	if (!sl_shared.nused)
		return 0;

	/* preempted: back on the run queue */
	if (find_slot(TASK_READ(btf, prev, tgid)) >= 0
	    && get_task_state(prev, btf) == TASK_RUNNING)
		trace_enqueue(TASK_READ(btf, prev, pid));

	/* checked at the end of the wait too: the slot may have changed hands */
	slot = find_slot(TASK_READ(btf, next, tgid));
	if (slot < 0 || slot >= INFER_SL_NSLOTS)
		return 0;

	pid = TASK_READ(btf, next, pid);
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;

	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &pid);
	if ((__s64)delta < 0)
		return 0;

	b = log2_u64(delta / 1000);
	if (b >= INFER_SL_NBUCKETS)
		b = INFER_SL_NBUCKETS - 1;

	s = &sl_shared.slot[slot];
	__sync_fetch_and_add(&s->hist[b], 1);
	__sync_fetch_and_add(&s->total_ns, delta);
	__sync_fetch_and_add(&s->count, 1);
	return 0;
}

/* the leader's exit frees the slot; key and counters stay for a successor */
static __always_inline int handle_exit(struct task_struct *p, bool btf)
{
	__u32 pid, tgid;
	int slot;

	if (!sl_shared.nused)
		return 0;

	tgid = TASK_READ(btf, p, tgid);
	slot = find_slot(tgid);
	if (slot < 0 || slot >= INFER_SL_NSLOTS)
		return 0;

	pid = TASK_READ(btf, p, pid);
	bpf_map_delete_elem(&start, &pid);
	if (pid == tgid)
		sl_shared.tgid[slot] = 0;
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup, struct task_struct *p)
{
	return handle_wakeup(p, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new, struct task_struct *p)
{
	return handle_wakeup(p, true);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch(prev, next, true);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p)
{
	return handle_exit(p, true);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(wakeup_raw, struct task_struct *p)
{
	return handle_wakeup(p, false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(wakeup_new_raw, struct task_struct *p)
{
	return handle_wakeup(p, false);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return handle_switch(prev, next, false);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(proc_exit_raw, struct task_struct *p)
{
	return handle_exit(p, false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#else

typedef int infer_schedlat_bpf_host_t;	/* ISO C: not an empty file */

#endif /* __bpf__ */
