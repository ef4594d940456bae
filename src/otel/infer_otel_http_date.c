/*
 * Retry-After, as a collector that throttles sends it (RFC 9110, 10.2.3):
 * delta-seconds, or an HTTP-date in any of its three forms.
 */

#include <string.h>

#include "infer_otel_http.h"


/* the longest Retry-After honoured, in seconds */
#define INFER_OTEL_HTTP_RETRY_MAX  86400


static int infer_otel_http_date(const char *p, const char *end, int64_t now,
    int64_t *t);
static int infer_otel_http_month(const char *p, const char *end);
static int infer_otel_http_clock(const char *p, const char *end,
    int64_t *sec);
static int64_t infer_otel_http_days(int64_t y, int m, int d);
static int64_t infer_otel_http_year(int64_t t);


static const char  infer_otel_http_months[] = "janfebmaraprmayjun"
                                              "julaugsepoctnovdec";


/* delta-seconds or an HTTP-date: seconds from now, within a day */

int64_t
infer_otel_http_retry_after(const char *p, const char *end, int64_t now)
{
    int64_t      t;
    uint64_t     n;
    const char  *q;

    if (p < end && *p >= '0' && *p <= '9') {
        for (q = p; q < end && *q >= '0' && *q <= '9'; q++) {
            /* void */
        }

        if (q != end) {
            return -1;
        }

        /* more digits than a uint64_t holds is still "later" */

        if (infer_parse_uint64(p, end, &n) == NULL
            || n > INFER_OTEL_HTTP_RETRY_MAX)
        {
            return INFER_OTEL_HTTP_RETRY_MAX;
        }

        return (int64_t) n;
    }

    if (infer_otel_http_date(p, end, now, &t) != INFER_OK) {
        return -1;
    }

    if (t <= now) {
        return 0;
    }

    /* t is within years 0 to 9999: t - the cap cannot overflow, t - now can */

    if (now < t - INFER_OTEL_HTTP_RETRY_MAX) {
        return INFER_OTEL_HTTP_RETRY_MAX;
    }

    return t - now;
}


/*
 * RFC 9110, section 5.6.7: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
 * and the obsolete "Sunday, 06-Nov-94 08:49:37 GMT" (RFC 850) and
 * "Sun Nov  6 08:49:37 1994" (asctime).  The day's name is not checked.
 */

static int
infer_otel_http_date(const char *p, const char *end, int64_t now,
    int64_t *t)
{
    int          day, mon;
    int64_t      year, sec, cur;
    const char  *q;

    for (q = p; p < end && ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'); p++) {
        /* void */
    }

    if (p - q < 3 || p == end) {
        return INFER_EINVAL;
    }

    if (*p == ',') {
        if (end - p < 5
            || p[1] != ' '
            || !infer_otel_http_digits(p + 2, end, 2))
        {
            return INFER_EINVAL;
        }

        day = (p[2] - '0') * 10 + (p[3] - '0');
        p += 4;

        if (*p == ' ') {
            /* IMF-fixdate: 06 Nov 1994 */

            if (end - p < 9
                || (mon = infer_otel_http_month(p + 1, end)) < 0
                || p[4] != ' '
                || !infer_otel_http_digits(p + 5, end, 4))
            {
                return INFER_EINVAL;
            }

            year = (p[5] - '0') * 1000 + (p[6] - '0') * 100
                   + (p[7] - '0') * 10 + (p[8] - '0');
            p += 9;

        } else if (*p == '-') {
            /* RFC 850: 06-Nov-94, not more than 50 years ahead */

            if (end - p < 7
                || (mon = infer_otel_http_month(p + 1, end)) < 0
                || p[4] != '-'
                || !infer_otel_http_digits(p + 5, end, 2))
            {
                return INFER_EINVAL;
            }

            cur = infer_otel_http_year(now);
            year = cur - (cur % 100 + 100) % 100
                   + (p[5] - '0') * 10 + (p[6] - '0');

            if (year > cur + 50) {
                year -= 100;
            }

            p += 7;

        } else {
            return INFER_EINVAL;
        }

        if (end - p != 13
            || *p != ' '
            || infer_otel_http_clock(p + 1, p + 9, &sec) != INFER_OK
            || memcmp(p + 9, " GMT", 4) != 0)
        {
            return INFER_EINVAL;
        }

    } else if (*p == ' ') {
        /* asctime: Nov  6 08:49:37 1994 */

        if (end - p != 21
            || (mon = infer_otel_http_month(p + 1, end)) < 0
            || p[4] != ' '
            || (p[5] != ' ' && !infer_otel_http_digits(p + 5, end, 1))
            || !infer_otel_http_digits(p + 6, end, 1)
            || p[7] != ' '
            || infer_otel_http_clock(p + 8, p + 16, &sec) != INFER_OK
            || p[16] != ' '
            || !infer_otel_http_digits(p + 17, end, 4))
        {
            return INFER_EINVAL;
        }

        day = (p[5] == ' ' ? 0 : (p[5] - '0') * 10) + (p[6] - '0');
        year = (p[17] - '0') * 1000 + (p[18] - '0') * 100
               + (p[19] - '0') * 10 + (p[20] - '0');

    } else {
        return INFER_EINVAL;
    }

    /* the day must exist: a day past the month's end is not rolled over */

    if (day < 1
        || day > 31
        || (day > 30 && (mon == 4 || mon == 6 || mon == 9 || mon == 11))
        || (mon == 2 && day > 28
            && (day > 29 || infer_otel_http_days(year, 3, 1)
                            - infer_otel_http_days(year, 2, 1) != 29)))
    {
        return INFER_EINVAL;
    }

    *t = infer_otel_http_days(year, mon, day) * 86400 + sec;

    return INFER_OK;
}


/* "Jan" (any case) at p: 1 to 12, or -1 */

static int
infer_otel_http_month(const char *p, const char *end)
{
    int   m;
    char  s[3];

    if (end - p < 3) {
        return -1;
    }

    s[0] = p[0] | 0x20;
    s[1] = p[1] | 0x20;
    s[2] = p[2] | 0x20;

    for (m = 0; m < 12; m++) {
        if (memcmp(s, infer_otel_http_months + 3 * m, 3) == 0) {
            return m + 1;
        }
    }

    return -1;
}


/* HH:MM:SS, exactly; a leap second (60) is allowed */

static int
infer_otel_http_clock(const char *p, const char *end, int64_t *sec)
{
    int  h, m, s;

    if (end - p != 8
        || !infer_otel_http_digits(p, end, 2) || p[2] != ':'
        || !infer_otel_http_digits(p + 3, end, 2) || p[5] != ':'
        || !infer_otel_http_digits(p + 6, end, 2))
    {
        return INFER_EINVAL;
    }

    h = (p[0] - '0') * 10 + (p[1] - '0');
    m = (p[3] - '0') * 10 + (p[4] - '0');
    s = (p[6] - '0') * 10 + (p[7] - '0');

    if (h > 23 || m > 59 || s > 60) {
        return INFER_EINVAL;
    }

    *sec = h * 3600 + m * 60 + s;

    return INFER_OK;
}


/* days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's) */

static int64_t
infer_otel_http_days(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/* the year unix time t falls in: the inverse of the above */

static int64_t
infer_otel_http_year(int64_t t)
{
    int64_t  z, era, doe, yoe, doy, mp;

    z = t / 86400 - (t % 86400 < 0) + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    return yoe + era * 400 + (mp >= 10);
}
