/*
 * What the scheduler-delay probe needs from the kernel, tried one call at
 * a time, so that a container's seccomp profile and capabilities can be
 * checked without the module:
 *
 *   bpf(BPF_PROG_LOAD)            a raw_tracepoint program (r0 = 0; exit)
 *   bpf(BPF_RAW_TRACEPOINT_OPEN)  attached to sched_switch
 *   perf_event_open()             a system-wide software counter on cpu 0
 *
 * Prints one line per call, "NAME ok" or "NAME errno NAME", and exits 0
 * when all succeeded, 1 otherwise.  Built static, so it runs in any
 * image: gcc -static -O2 -o bpf-check bpf-check.c
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>


static long sys_bpf(int cmd, union bpf_attr *attr);
static void report(const char *what, long rc, int *failed);


int
main(void)
{
    int                     failed, prog, tp;
    long                    rc;
    union bpf_attr          attr;
    struct bpf_insn         insns[2];
    struct perf_event_attr  pe;

    failed = 0;

    memset(insns, 0, sizeof(insns));
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;     /* r0 = 0 */
    insns[0].dst_reg = BPF_REG_0;
    insns[1].code = BPF_JMP | BPF_EXIT;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
    attr.insns = (uint64_t) (uintptr_t) insns;
    attr.insn_cnt = 2;
    attr.license = (uint64_t) (uintptr_t) "GPL";

    rc = sys_bpf(BPF_PROG_LOAD, &attr);
    report("bpf_prog_load", rc, &failed);
    prog = (int) rc;

    if (prog >= 0) {
        memset(&attr, 0, sizeof(attr));
        attr.raw_tracepoint.name = (uint64_t) (uintptr_t) "sched_switch";
        attr.raw_tracepoint.prog_fd = prog;

        rc = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &attr);
        report("bpf_raw_tracepoint_open", rc, &failed);
        tp = (int) rc;

        if (tp >= 0) {
            close(tp);
        }

        close(prog);

    } else {
        printf("bpf_raw_tracepoint_open skipped\n");
        failed = 1;
    }

    memset(&pe, 0, sizeof(pe));
    pe.type = PERF_TYPE_SOFTWARE;
    pe.size = sizeof(pe);
    pe.config = PERF_COUNT_SW_CPU_CLOCK;
    pe.disabled = 1;

    rc = syscall(SYS_perf_event_open, &pe, -1, 0, -1, 0);
    report("perf_event_open", rc, &failed);

    if (rc >= 0) {
        close((int) rc);
    }

    return failed;
}


static long
sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}


static void
report(const char *what, long rc, int *failed)
{
    if (rc >= 0) {
        printf("%s ok\n", what);
        return;
    }

    printf("%s errno %s\n", what, strerrorname_np(errno));
    *failed = 1;
}
