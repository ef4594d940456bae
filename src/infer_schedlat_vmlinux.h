/*
 * The few kernel types infer_schedlat.bpf.c touches, hand-trimmed in the
 * manner of tracee's vmlinux.h instead of a generated 3 MB vmlinux.h.
 *
 * Only names matter here, not layout: every struct is marked
 * preserve_access_index, so clang emits a CO-RE relocation for each field
 * access and libbpf resolves the real offset against the running kernel's
 * BTF (/sys/kernel/btf/vmlinux) at load time.
 */

#ifndef __VMLINUX_H__
#define __VMLINUX_H__

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

typedef __s8 s8;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;

typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

typedef int pid_t;
typedef _Bool bool;

enum {
	false = 0,
	true = 1,
};

enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC = 0,
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push(__attribute__((preserve_access_index)), \
			     apply_to = record)
#endif

/*
 * tp_btf and raw_tp programs receive their tracepoint's arguments as an
 * array of u64 (BPF_PROG unpacks it): sched_wakeup(p),
 * sched_wakeup_new(p), sched_switch(preempt, prev, next, prev_state) and
 * sched_process_exit(p, ...).  The raw_tp context as the uapi names it:
 */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

struct task_struct {
	unsigned int __state;
	pid_t pid;
	pid_t tgid;
};

/*
 * commit 2f064a59a11f ("sched: Change task_struct::state") renamed
 * task_struct::state (a volatile long) to task_struct::__state (an
 * unsigned int) in 5.14; this flavor names the older field, see
 * get_task_state() in infer_schedlat.bpf.c.
 */
struct task_struct___o {
	volatile long int state;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
