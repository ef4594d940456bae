/*
 * The fallback source of run-queue delay: /proc/<pid>/schedstat, three
 * decimal numbers, "cpu_ns run_delay_ns timeslices\n" (the kernel's
 * sched_info, Documentation/scheduler/sched-stats.rst).  Its file is a
 * seq_file, so a pread() at offset 0 renders it afresh: the caller opens
 * it once and pays one syscall per read.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "infer_core.h"
#include "infer_schedlat.h"




int
infer_schedstat_open(uint32_t pid)
{
    int   fd;
    char  path[64];

    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/schedstat");

    } else {
        snprintf(path, sizeof(path), "/proc/%u/schedstat", (unsigned) pid);
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -errno;
    }

    return fd;
}


int
infer_schedstat_read(int fd, infer_schedstat_t *ss)
{
    char     buf[96];
    ssize_t  n;

    n = pread(fd, buf, sizeof(buf), 0);
    if (n == -1) {
        return -errno;
    }

    return infer_schedstat_parse(buf, n, ss);
}


int
infer_schedstat_parse(const char *buf, size_t len, infer_schedstat_t *ss)
{
    const char  *p, *end;

    p = buf;
    end = buf + len;

    p = infer_parse_uint64(p, end, &ss->cpu_ns);
    if (p == NULL || p == end || *p++ != ' ') {
        return -EINVAL;
    }

    p = infer_parse_uint64(p, end, &ss->run_delay_ns);
    if (p == NULL || p == end || *p++ != ' ') {
        return -EINVAL;
    }

    p = infer_parse_uint64(p, end, &ss->timeslices);
    if (p == NULL || (p != end && (*p != '\n' || p + 1 != end))) {
        return -EINVAL;
    }

    return 0;
}

