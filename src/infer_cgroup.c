/*
 * cgroup v1 and v2 CPU throttling: see infer_cgroup.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer_cgroup.h"
#include "infer_core.h"


#define INFER_CGROUP_PATH_LEN  4096
#define INFER_CGROUP_FILE_MAX  (4 * 1024 * 1024)  /* mountinfo: hosts with
                                                     thousands of mounts */


static int infer_cgroup_own(const char *buf, size_t len, unsigned version,
    const char **path, size_t *plen);
static int infer_cgroup_mount(const char *p, const char *eol,
    unsigned version, const char **root, size_t *rlen, const char **mnt,
    size_t *mlen);
static size_t infer_cgroup_field(const char **p, const char *eol,
    const char **f);
static int infer_cgroup_has(const char *list, size_t len, const char *name);
static int infer_cgroup_unescape(char *dst, size_t size, const char *src,
    size_t len);
static const char *infer_cgroup_chomp(const char *buf, size_t len);
static ssize_t infer_cgroup_slurp(const char *path, char **out);
static int infer_cgroup_open_dir(infer_cgroup_t *cg, const char *dir,
    unsigned version);


int
infer_cgroup_find(const char *cgroup, size_t clen, const char *mountinfo,
    size_t mlen, unsigned version, char *dir, size_t size)
{
    int          n, rc;
    char         root[INFER_CGROUP_PATH_LEN], mnt[INFER_CGROUP_PATH_LEN];
    size_t       plen, rlen, mntlen, rl;
    const char  *path, *r, *m, *p, *end, *eol, *rel;

    rc = infer_cgroup_own(cgroup, clen, version, &path, &plen);
    if (rc != 0) {
        return rc;
    }

    p = mountinfo;
    end = mountinfo + mlen;

    for ( /* void */ ; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if (infer_cgroup_mount(p, eol, version, &r, &rlen, &m, &mntlen)
            != 0)
        {
            continue;
        }

        if (infer_cgroup_unescape(root, sizeof(root), r, rlen) != 0
            || infer_cgroup_unescape(mnt, sizeof(mnt), m, mntlen) != 0)
        {
            return -ENAMETOOLONG;
        }

        /*
         * A mount shows the subtree under its root: a container's cgroup
         * "/docker/<id>" is the root of its own mount, and a mount whose
         * root does not hold the cgroup (a bind mount of a sibling) is of
         * no use.
         */

        rl = strlen(root);

        if (rl == 1 && root[0] == '/') {
            rel = path;

        } else if (plen >= rl && memcmp(path, root, rl) == 0
                   && (plen == rl || path[rl] == '/'))
        {
            rel = path + rl;

        } else {
            continue;
        }

        rl = plen - (rel - path);

        if (rl == 1) {                  /* "/": the mount itself */
            rl = 0;
        }

        n = snprintf(dir, size, "%s%.*s", mnt, (int) rl, rel);

        if (n < 0 || (size_t) n >= size) {
            return -ENAMETOOLONG;
        }

        return 0;
    }

    return -ENOENT;
}


/* the line of /proc/self/cgroup for the hierarchy: "0::" or "N:...cpu..:" */

static int
infer_cgroup_own(const char *buf, size_t len, unsigned version,
    const char **path, size_t *plen)
{
    int          match;
    const char  *p, *end, *eol, *c1, *c2;

    p = buf;
    end = buf + len;

    for ( /* void */ ; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        c1 = memchr(p, ':', eol - p);
        if (c1 == NULL) {
            continue;
        }

        c2 = memchr(c1 + 1, ':', eol - c1 - 1);
        if (c2 == NULL || c2 + 1 == eol || c2[1] != '/') {
            continue;
        }

        if (version == INFER_CGROUP_V2) {
            match = (c1 - p == 1 && *p == '0' && c2 == c1 + 1);

        } else {
            match = infer_cgroup_has(c1 + 1, c2 - c1 - 1, "cpu");
        }

        if (match) {
            *path = c2 + 1;
            *plen = eol - c2 - 1;
            return 0;
        }
    }

    return -ENOENT;
}


/*
 * One line of mountinfo: "id parent maj:min root mountpoint options
 * [optional fields...] - fstype source super-options".  v1's controllers
 * are in the super options ("rw,cpu,cpuacct"); "cpuacct" alone or
 * "cpuset" is not "cpu".
 */

static int
infer_cgroup_mount(const char *p, const char *eol, unsigned version,
    const char **root, size_t *rlen, const char **mnt, size_t *mlen)
{
    size_t       n, tlen;
    const char  *f, *type;

    (void) infer_cgroup_field(&p, eol, &f);          /* mount id */
    (void) infer_cgroup_field(&p, eol, &f);          /* parent id */
    (void) infer_cgroup_field(&p, eol, &f);          /* major:minor */
    *rlen = infer_cgroup_field(&p, eol, root);
    *mlen = infer_cgroup_field(&p, eol, mnt);
    (void) infer_cgroup_field(&p, eol, &f);          /* mount options */

    do {
        if (p >= eol) {
            return -ENOENT;
        }

        n = infer_cgroup_field(&p, eol, &f);

    } while (n != 1 || *f != '-');

    tlen = infer_cgroup_field(&p, eol, &type);
    (void) infer_cgroup_field(&p, eol, &f);          /* source */
    n = infer_cgroup_field(&p, eol, &f);

    if (*rlen == 0 || *mlen == 0) {
        return -ENOENT;
    }

    if (version == INFER_CGROUP_V2) {
        return (tlen == 7 && memcmp(type, "cgroup2", 7) == 0) ? 0 : -ENOENT;
    }

    return (tlen == 6 && memcmp(type, "cgroup", 6) == 0
            && infer_cgroup_has(f, n, "cpu"))
           ? 0 : -ENOENT;
}


/* the next space-separated field of [*p, eol): *f and its length */

static size_t
infer_cgroup_field(const char **p, const char *eol, const char **f)
{
    const char  *s, *e;

    s = *p;

    e = memchr(s, ' ', eol - s);
    if (e == NULL) {
        e = eol;
    }

    *f = s;
    *p = (e < eol) ? e + 1 : eol;

    return e - s;
}


/* name is one of the comma-separated items of list */

static int
infer_cgroup_has(const char *list, size_t len, const char *name)
{
    size_t       n;
    const char  *p, *end, *comma;

    n = strlen(name);
    p = list;
    end = list + len;

    for ( /* void */ ; p < end; p = comma + 1) {
        comma = memchr(p, ',', end - p);
        if (comma == NULL) {
            comma = end;
        }

        if ((size_t) (comma - p) == n && memcmp(p, name, n) == 0) {
            return 1;
        }
    }

    return 0;
}


/* mountinfo writes space, tab, newline and backslash as "\ooo" */

static int
infer_cgroup_unescape(char *dst, size_t size, const char *src, size_t len)
{
    size_t  i, o;

    for (i = 0, o = 0; i < len; o++) {
        if (o + 1 >= size) {
            return -ENAMETOOLONG;
        }

        if (src[i] == '\\' && len - i >= 4
            && src[i + 1] >= '0' && src[i + 1] <= '3'
            && src[i + 2] >= '0' && src[i + 2] <= '7'
            && src[i + 3] >= '0' && src[i + 3] <= '7')
        {
            dst[o] = (char) ((src[i + 1] - '0') * 64
                             + (src[i + 2] - '0') * 8 + (src[i + 3] - '0'));
            i += 4;

        } else {
            dst[o] = src[i++];
        }
    }

    dst[o] = '\0';

    return 0;
}


int
infer_cgroup_cpu_parse(const char *buf, size_t len, infer_cgroup_cpu_t *st)
{
    size_t       k;
    uint64_t     v, *dst, scale;
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
        scale = 1;

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
            dst = &st->throttled_ns;            /* v2 */
            scale = 1000;
            seen |= 2;

        } else if (k == sizeof("throttled_time") - 1
                   && memcmp(p, "throttled_time", k) == 0)
        {
            dst = &st->throttled_ns;            /* v1, in ns already */
            seen |= 2;
        }

        if (infer_parse_uint64(sp + 1, eol, &v) != eol) {
            return -EINVAL;
        }

        if (dst != NULL) {
            *dst = v * scale;
        }

        p = eol + 1;
    }

    st->throttling = (seen == 3);

    return 0;
}


/* "max 100000" (no limit) or "20000 100000" */

int
infer_cgroup_max_parse(const char *buf, size_t len, infer_cgroup_cpu_t *st)
{
    uint64_t     q, per;
    const char  *end, *sp;

    st->quota = 0;
    st->quota_us = 0;
    st->period_us = 0;

    end = infer_cgroup_chomp(buf, len);

    sp = memchr(buf, ' ', end - buf);
    if (sp == NULL
        || infer_parse_uint64(sp + 1, end, &per) != end
        || per == 0)
    {
        return -EINVAL;
    }

    if (sp - buf == 3 && memcmp(buf, "max", 3) == 0) {
        st->period_us = per;
        return 0;
    }

    if (infer_parse_uint64(buf, sp, &q) != sp) {
        return -EINVAL;
    }

    st->quota_us = q;
    st->period_us = per;
    st->quota = 1;

    return 0;
}


/* cpu.cfs_quota_us: "-1" (no limit) or usec; cpu.cfs_period_us: usec */

int
infer_cgroup_quota_parse(const char *quota, size_t qlen, const char *period,
    size_t plen, infer_cgroup_cpu_t *st)
{
    uint64_t     q, per;
    const char  *qend, *pend;

    st->quota = 0;
    st->quota_us = 0;
    st->period_us = 0;

    qend = infer_cgroup_chomp(quota, qlen);
    pend = infer_cgroup_chomp(period, plen);

    if (infer_parse_uint64(period, pend, &per) != pend || per == 0) {
        return -EINVAL;
    }

    if (qend > quota && quota[0] == '-') {
        if (infer_parse_uint64(quota + 1, qend, &q) != qend) {
            return -EINVAL;
        }

        st->period_us = per;
        return 0;
    }

    if (infer_parse_uint64(quota, qend, &q) != qend) {
        return -EINVAL;
    }

    st->quota_us = q;
    st->period_us = per;
    st->quota = 1;

    return 0;
}


static const char *
infer_cgroup_chomp(const char *buf, size_t len)
{
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
    }

    return buf + len;
}


int
infer_cgroup_open(infer_cgroup_t *cg)
{
    int      rc;
    char    *cgroup, *mountinfo;
    ssize_t  clen, mlen;

    cg->version = 0;

    clen = infer_cgroup_slurp("/proc/self/cgroup", &cgroup);
    if (clen < 0) {
        return (int) clen;
    }

    mlen = infer_cgroup_slurp("/proc/self/mountinfo", &mountinfo);
    if (mlen < 0) {
        free(cgroup);
        return (int) mlen;
    }

    rc = infer_cgroup_open_from(cg, cgroup, clen, mountinfo, mlen);

    free(mountinfo);
    free(cgroup);

    return rc;
}


/*
 * Both hierarchies where the process has both: the one with a quota, else
 * the one with throttling figures (the cpu controller), else v2.
 */

int
infer_cgroup_open_from(infer_cgroup_t *cg, const char *cgroup, size_t clen,
    const char *mountinfo, size_t mlen)
{
    int                 rc, score, best;
    char                dir[INFER_CGROUP_PATH_LEN];
    unsigned            v;
    infer_cgroup_t      cand;
    infer_cgroup_cpu_t  st;

    cg->stat = -1;
    cg->quota = -1;
    cg->period = -1;
    cg->version = 0;

    best = -1;
    rc = -ENOENT;

    for (v = INFER_CGROUP_V2; v >= INFER_CGROUP_V1; v--) {
        rc = infer_cgroup_find(cgroup, clen, mountinfo, mlen, v, dir,
                               sizeof(dir));
        if (rc != 0) {
            continue;
        }

        rc = infer_cgroup_open_dir(&cand, dir, v);
        if (rc != 0) {
            continue;
        }

        score = 0;

        if (infer_cgroup_read(&cand, &st) == 0) {
            score = 1 + st.throttling + 2 * st.quota;
        }

        if (score > best) {
            infer_cgroup_close(cg);
            *cg = cand;
            best = score;

        } else {
            infer_cgroup_close(&cand);
        }
    }

    return (cg->version != 0) ? 0 : rc;
}


/* cpu.stat must open; the limit is optional (the root cgroup has none) */

static int
infer_cgroup_open_dir(infer_cgroup_t *cg, const char *dir, unsigned version)
{
    int   err;
    char  path[INFER_CGROUP_PATH_LEN + 32];

    cg->quota = -1;
    cg->period = -1;
    cg->version = 0;

    (void) snprintf(path, sizeof(path), "%s/cpu.stat", dir);

    cg->stat = open(path, O_RDONLY | O_CLOEXEC);
    if (cg->stat == -1) {
        err = errno;
        return -err;
    }

    cg->version = version;

    if (version == INFER_CGROUP_V2) {
        (void) snprintf(path, sizeof(path), "%s/cpu.max", dir);
        cg->quota = open(path, O_RDONLY | O_CLOEXEC);
        return 0;
    }

    (void) snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
    cg->quota = open(path, O_RDONLY | O_CLOEXEC);

    (void) snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
    cg->period = open(path, O_RDONLY | O_CLOEXEC);

    if (cg->quota == -1 || cg->period == -1) {
        if (cg->quota != -1) {
            (void) close(cg->quota);
        }

        if (cg->period != -1) {
            (void) close(cg->period);
        }

        cg->quota = -1;
        cg->period = -1;
    }

    return 0;
}


int
infer_cgroup_read(const infer_cgroup_t *cg, infer_cgroup_cpu_t *st)
{
    int      rc;
    char     buf[4096], per[64];
    ssize_t  n, m;

    if (cg->version == 0) {
        return -ENOENT;
    }

    n = pread(cg->stat, buf, sizeof(buf), 0);
    if (n == -1) {
        return -errno;
    }

    rc = infer_cgroup_cpu_parse(buf, n, st);
    if (rc != 0) {
        return rc;
    }

    st->version = cg->version;

    if (cg->quota == -1) {
        return 0;
    }

    n = pread(cg->quota, buf, 64, 0);
    if (n <= 0) {
        return 0;
    }

    if (cg->version == INFER_CGROUP_V2) {
        (void) infer_cgroup_max_parse(buf, n, st);
        return 0;
    }

    m = pread(cg->period, per, sizeof(per), 0);
    if (m > 0) {
        (void) infer_cgroup_quota_parse(buf, n, per, m, st);
    }

    return 0;
}


void
infer_cgroup_close(infer_cgroup_t *cg)
{
    if (cg->version == 0) {
        return;
    }

    (void) close(cg->stat);

    if (cg->quota != -1) {
        (void) close(cg->quota);
    }

    if (cg->period != -1) {
        (void) close(cg->period);
    }

    cg->version = 0;
}


/* the whole of a /proc file, which has no size to stat: *out is malloc()ed */

static ssize_t
infer_cgroup_slurp(const char *path, char **out)
{
    int      fd, err;
    char    *buf, *nb;
    size_t   size, len;
    ssize_t  n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -errno;
    }

    size = 4096;
    len = 0;

    buf = malloc(size);
    if (buf == NULL) {
        (void) close(fd);
        return -ENOMEM;
    }

    for ( ;; ) {
        n = read(fd, buf + len, size - len);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            err = -errno;
            goto failed;
        }

        if (n == 0) {
            break;
        }

        len += n;

        if (len == size) {
            if (size >= INFER_CGROUP_FILE_MAX) {
                err = -EFBIG;
                goto failed;
            }

            nb = realloc(buf, size * 2);
            if (nb == NULL) {
                err = -ENOMEM;
                goto failed;
            }

            buf = nb;
            size *= 2;
        }
    }

    (void) close(fd);
    *out = buf;

    return len;

failed:

    (void) close(fd);
    free(buf);

    return err;
}
