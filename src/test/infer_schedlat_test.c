/*
 * The scheduler-delay probe's parts that need no kernel: slot claims in
 * wrapped memory (reuse by key, reset for another key, exhaustion), the
 * reads, and the /proc/<pid>/schedstat parser and reader.  The probe
 * itself needs root: src/test/schedlat_check.c.
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "infer_schedlat.h"
#include "infer_unit_test.h"


void infer_test_schedlat(void);

static void test_parse(void);
static void test_schedstat_file(void);
static void test_slots(void);
static void test_exhaustion(void);


void
infer_test_schedlat(void)
{
    test_parse();
    test_schedstat_file();
    test_slots();
    test_exhaustion();
}


static void
test_parse(void)
{
    infer_schedstat_t  ss;

#define PARSE(s)  infer_schedstat_parse(s, sizeof(s) - 1, &ss)

    CHECK(PARSE("123 456 789\n") == 0);
    CHECK(ss.cpu_ns == 123 && ss.run_delay_ns == 456 && ss.timeslices == 789);

    CHECK(PARSE("0 18446744073709551615 7") == 0);
    CHECK(ss.cpu_ns == 0 && ss.run_delay_ns == UINT64_MAX
          && ss.timeslices == 7);

    CHECK(PARSE("1 18446744073709551616 7\n") == -EINVAL);
    CHECK(PARSE("") == -EINVAL);
    CHECK(PARSE("\n") == -EINVAL);
    CHECK(PARSE("1 2\n") == -EINVAL);
    CHECK(PARSE("1 2 3 4\n") == -EINVAL);
    CHECK(PARSE("1  2 3\n") == -EINVAL);
    CHECK(PARSE("-1 2 3\n") == -EINVAL);
    CHECK(PARSE("1 2 3\n\n") == -EINVAL);
    CHECK(PARSE("1 2 3x\n") == -EINVAL);

#undef PARSE
}


/* a child blocked on a pipe: its figures hold still while we read them */

static void
test_schedstat_file(void)
{
    int                fd, p[2], status;
    char               c, text[96];
    FILE              *f;
    pid_t              pid;
    size_t             n;
    infer_schedstat_t  a, b;

    CHECK(infer_schedstat_open(4000000000u) == -ENOENT);

    if (pipe(p) != 0) {
        CHECK(0);
        return;
    }

    pid = fork();

    if (pid == 0) {
        close(p[1]);
        _exit(read(p[0], &c, 1) == 0 ? 0 : 1);
    }

    close(p[0]);
    usleep(20000);

    fd = infer_schedstat_open(pid);
    CHECK(fd >= 0);
    CHECK(infer_schedstat_read(fd, &a) == 0);

    /* the same numbers as a fresh open and parse, twice over one fd */

    snprintf(text, sizeof(text), "/proc/%d/schedstat", (int) pid);
    f = fopen(text, "r");
    n = (f != NULL) ? fread(text, 1, sizeof(text), f) : 0;
    if (f != NULL) {
        fclose(f);
    }

    CHECK(infer_schedstat_parse(text, n, &b) == 0);
    CHECK(a.cpu_ns == b.cpu_ns && a.run_delay_ns == b.run_delay_ns
          && a.timeslices == b.timeslices);
    CHECK(a.timeslices >= 1);

    CHECK(infer_schedstat_read(fd, &b) == 0);
    CHECK(a.cpu_ns == b.cpu_ns && a.run_delay_ns == b.run_delay_ns
          && a.timeslices == b.timeslices);

    close(p[1]);
    waitpid(pid, &status, 0);

    /* the task is gone: its file reads ESRCH */

    CHECK(infer_schedstat_read(fd, &b) == -ESRCH);
    close(fd);

    fd = infer_schedstat_open(0);
    CHECK(fd >= 0 && infer_schedstat_read(fd, &a) == 0);
    CHECK(a.cpu_ns > 0);
    close(fd);
}


static void
test_slots(void)
{
    infer_schedlat_t        *sl;
    struct infer_sl_shared  *sh;
    infer_schedlat_stats_t   st;

    sh = calloc(1, sizeof(struct infer_sl_shared));

#if !(INFER_SCHEDLAT_BPF)
    sl = (infer_schedlat_t *) 1;
    CHECK(infer_schedlat_open(&sl, NULL) == -EOPNOTSUPP && sl == NULL);
#endif

    if (sh == NULL || infer_schedlat_wrap(&sl, sh) != 0) {
        CHECK(0);
        free(sh);
        return;
    }

    CHECK_STR(infer_schedlat_attach_type(sl), "none");
    CHECK(infer_schedlat_nslots(sl) == 0);

    CHECK(infer_schedlat_watch(sl, 0, 0) == -EINVAL);
    CHECK(infer_schedlat_watch(sl, INFER_SL_BUSY, 0) == -EINVAL);

    CHECK(infer_schedlat_watch(sl, 100, 0) == 0);
    CHECK(infer_schedlat_watch(sl, 200, 1) == 1);
    CHECK(infer_schedlat_watch(sl, 100, 5) == 0);      /* already there */
    CHECK(infer_schedlat_nslots(sl) == 2);
    CHECK(sh->tgid[0] == 100 && sh->key[0] == 0 && sh->gen[0] == 1);
    CHECK(sh->tgid[1] == 200 && sh->key[1] == 1 && sh->gen[1] == 1);
    CHECK(infer_schedlat_find(sl, 200) == 1);
    CHECK(infer_schedlat_find(sl, 300) == -ENOENT);

    /* what the probe would write */

    sh->slot[0].count = 3;
    sh->slot[0].total_ns = 5000;
    sh->slot[0].hist[1] = 2;
    sh->slot[0].hist[31] = 1;

    CHECK(infer_schedlat_read(sl, 0, &st) == 0);
    CHECK(st.tgid == 100 && st.key == 0 && st.gen == 1);
    CHECK(st.count == 3 && st.total_ns == 5000);
    CHECK(st.hist[0] == 0 && st.hist[1] == 2 && st.hist[31] == 1);
    CHECK(infer_schedlat_total_ns(sl, 0) == 5000);
    CHECK(infer_schedlat_total_ns(sl, 1) == 0);
    CHECK(infer_schedlat_total_ns(sl, INFER_SL_NSLOTS) == 0);
    CHECK(infer_schedlat_read(sl, INFER_SL_NSLOTS, &st) == -EINVAL);

    /* worker 0 is killed (the probe frees the slot), then respawned */

    sh->tgid[0] = 0;
    CHECK(infer_schedlat_find(sl, 100) == -ENOENT);
    CHECK(infer_schedlat_read(sl, 0, &st) == 0);
    CHECK(st.tgid == 0 && st.key == 0 && st.total_ns == 5000);

    CHECK(infer_schedlat_watch(sl, 300, 0) == 0);
    CHECK(infer_schedlat_read(sl, 0, &st) == 0);
    CHECK(st.tgid == 300 && st.gen == 2);
    CHECK(st.count == 3 && st.total_ns == 5000 && st.hist[1] == 2);

    /* a new key takes a fresh slot before another key's free one */

    CHECK(infer_schedlat_unwatch(sl, 200) == 1);
    CHECK(infer_schedlat_unwatch(sl, 200) == -ENOENT);
    CHECK(infer_schedlat_watch(sl, 400, 7) == 2);
    CHECK(infer_schedlat_nslots(sl) == 3);

    /* the old key returns: its slot and counters */

    sh->slot[1].total_ns = 42;
    CHECK(infer_schedlat_watch(sl, 500, 1) == 1);
    CHECK(infer_schedlat_total_ns(sl, 1) == 42 && sh->gen[1] == 2);

    /* a slot being claimed matches no one and is not read as taken */

    sh->tgid[3] = INFER_SL_BUSY;
    CHECK(infer_schedlat_read(sl, 3, &st) == 0 && st.tgid == 0);
    CHECK(infer_schedlat_watch(sl, 600, 8) == 4);
    sh->tgid[3] = 0;

    CHECK(infer_schedlat_lost(sl) == 0);

    infer_schedlat_close(sl);
    free(sh);
}


static void
test_exhaustion(void)
{
    int                      i, ok;
    infer_schedlat_t        *sl;
    struct infer_sl_shared  *sh;
    infer_schedlat_stats_t   st;

    sh = calloc(1, sizeof(struct infer_sl_shared));

    if (sh == NULL || infer_schedlat_wrap(&sl, sh) != 0) {
        CHECK(0);
        free(sh);
        return;
    }

    ok = 1;

    for (i = 0; i < INFER_SL_NSLOTS; i++) {
        ok &= (infer_schedlat_watch(sl, 1000 + i, i) == i);
    }

    CHECK(ok);
    CHECK(infer_schedlat_nslots(sl) == INFER_SL_NSLOTS);
    CHECK(infer_schedlat_watch(sl, 2000, 99) == -ENOSPC);

    /* only another key's slot is free: it starts again from zero */

    sh->slot[9].count = 4;
    sh->slot[9].total_ns = 9000;
    sh->slot[9].hist[3] = 4;
    sh->tgid[9] = 0;

    CHECK(infer_schedlat_watch(sl, 2000, 99) == 9);
    CHECK(infer_schedlat_read(sl, 9, &st) == 0);
    CHECK(st.tgid == 2000 && st.key == 99 && st.gen == 2);
    CHECK(st.count == 0 && st.total_ns == 0 && st.hist[3] == 0);

    infer_schedlat_close(sl);
    free(sh);
}
