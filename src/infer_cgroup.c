/*
 * cgroup v2 CPU throttling: see infer_cgroup.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "infer_cgroup.h"
#include "infer_core.h"




int
infer_cgroup_path(const char *buf, size_t len, const char *root,
    char *path, size_t size)
{
    int          n;
    const char  *p, *end, *eol;

    p = buf;
    end = buf + len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if (eol - p >= 3 && memcmp(p, "0::", 3) == 0 && p[3] == '/') {
            p += 3;

            /* "/" is the root: no trailing slash before cpu.stat */

            n = snprintf(path, size, "%s%.*s/cpu.stat", root,
                         (eol - p == 1) ? 0 : (int) (eol - p), p);

            if (n < 0 || (size_t) n >= size) {
                return -ENAMETOOLONG;
            }

            return 0;
        }

        p = eol + 1;
    }

    return -ENOENT;
}


int
infer_cgroup_cpu_parse(const char *buf, size_t len, infer_cgroup_cpu_t *st)
{
    size_t       k;
    uint64_t     v, *dst;
    unsigned     seen;
    const char  *p, *end, *eol, *sp;

    memset(st, 0, sizeof(infer_cgroup_cpu_t));

    p = buf;
    end = buf + len;
    seen = 0;
    v = 0;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        sp = memchr(p, ' ', eol - p);
        if (sp == NULL) {
            return -EINVAL;
        }

        k = sp - p;
        dst = NULL;

        if (k == sizeof("nr_periods") - 1
            && memcmp(p, "nr_periods", k) == 0)
        {
            dst = &st->nr_periods;

        } else if (k == sizeof("nr_throttled") - 1
                   && memcmp(p, "nr_throttled", k) == 0)
        {
            dst = &st->nr_throttled;
            seen |= 1;

        } else if (k == sizeof("throttled_usec") - 1
                   && memcmp(p, "throttled_usec", k) == 0)
        {
            dst = &st->throttled_usec;
            seen |= 2;
        }

        if (infer_parse_uint64(sp + 1, eol, &v) != eol) {
            return -EINVAL;
        }

        if (dst != NULL) {
            *dst = v;
        }

        p = eol + 1;
    }

    st->throttling = (seen == 3);

    return 0;
}


int
infer_cgroup_cpu_open(void)
{
    int      fd, rc;
    char     buf[4096], path[4096 + 64];
    ssize_t  n;

    fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -errno;
    }

    n = read(fd, buf, sizeof(buf));
    rc = (n == -1) ? -errno : 0;
    close(fd);

    if (rc != 0) {
        return rc;
    }

    rc = infer_cgroup_path(buf, n, INFER_CGROUP_ROOT, path, sizeof(path));
    if (rc != 0) {
        return rc;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -errno;
    }

    return fd;
}


int
infer_cgroup_cpu_read(int fd, infer_cgroup_cpu_t *st)
{
    char     buf[1024];
    ssize_t  n;

    n = pread(fd, buf, sizeof(buf), 0);
    if (n == -1) {
        return -errno;
    }

    return infer_cgroup_cpu_parse(buf, n, st);
}

