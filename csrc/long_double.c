/*
 * C `long double` arithmetic for the commands whose results Redis computes in that type
 * (INCRBYFLOAT, HINCRBYFLOAT). Rust has no 80-bit extended type, and those commands' replies
 * depend on its precision and on glibc's strtold / printf("%.17Lf"), so the few operations
 * they need are done here. A value crosses the boundary as 16 opaque bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(long double) <= 16, "long double must fit the 16-byte Rust buffer");

/* Longest text accepted or produced, as Redis's MAX_LONG_DOUBLE_CHARS. */
#define RRS_LD_MAX_CHARS (5 * 1024)

static long double load(const unsigned char *p) {
    long double v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store(unsigned char *p, long double v) {
    memset(p, 0, 16);
    memcpy(p, &v, sizeof v);
}

/* Parses the whole of s[0..len) as strtold would; 1 on success. Refuses leading space, trailing
 * bytes (an embedded NUL included), NaN, and overflow or underflow to zero. */
int rrs_ld_parse(const char *s, size_t len, unsigned char *out) {
    char buf[RRS_LD_MAX_CHARS];
    char *end;
    long double v;

    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    errno = 0;
    v = strtold(buf, &end);
    if (end != buf + len) return 0;
    if (errno == EINVAL || isnan(v)) return 0;
    if (errno == ERANGE && (isinf(v) || v == 0.0L)) return 0;
    store(out, v);
    return 1;
}

void rrs_ld_from_i64(long long n, unsigned char *out) {
    store(out, (long double)n);
}

/* out = a + b; returns 0 (and leaves out alone) when the sum is NaN or infinite. */
int rrs_ld_add(const unsigned char *a, const unsigned char *b, unsigned char *out) {
    long double v = load(a) + load(b);
    if (isnan(v) || isinf(v)) return 0;
    store(out, v);
    return 1;
}

/* Writes v as "%.17Lf" with the trailing zeros of the fraction (and a bare '.') removed, and
 * "-0" turned into "0". Returns the length, or 0 when cap is too small. */
size_t rrs_ld_format_human(const unsigned char *p, char *buf, size_t cap) {
    long double v = load(p);
    int n;
    size_t l;

    if (isinf(v)) {
        const char *t = v > 0 ? "inf" : "-inf";
        l = strlen(t);
        if (cap < l + 1) return 0;
        memcpy(buf, t, l + 1);
        return l;
    }
    n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > cap) return 0;
    l = (size_t)n;
    if (memchr(buf, '.', l) != NULL) {
        while (l > 0 && buf[l - 1] == '0') l--;
        if (l > 0 && buf[l - 1] == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return l;
}

/* A blocking command's timeout: seconds (as parsed) times 1000, rounded up, as a 64-bit
 * integer the way x86 converts: a value outside the range (infinities included) becomes the
 * most negative integer, which the caller then refuses as negative, as Redis 7.0 does. */
long long rrs_ld_timeout_ms(const unsigned char *v) {
    long double ms = load(v) * 1000.0L;
    if (!(ms > -9223372036854775808.0L && ms < 9223372036854775808.0L)) return (-9223372036854775807LL - 1);
    return (long long)ceill(ms);
}
