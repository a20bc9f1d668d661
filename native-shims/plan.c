/*
 * Plan parsing: one table describes every directive (its name, and the type
 * and label of each field); one loop splits, counts, orders and decodes
 * fields against it.  The wire format is documented in README.md.
 */
#define _GNU_SOURCE
#include "plan.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum field_type {
	F_NONE,      /* end of the field list */
	F_PID,       /* decimal pid, 1..INT_MAX */
	F_HOST_PATH, /* percent-encoded absolute host path, used as given */
	F_ROOT_PATH, /* percent-encoded absolute path inside the root, normalized */
	F_MODE,      /* octal mode, into d->mode */
	F_RO_RW,     /* "ro" or "rw", into d->ro */
	F_INO,       /* decimal u64, into d->x.ino */
	F_SIZE,      /* decimal u64, into d->x.size */
	F_MTIME,     /* decimal s64 (nanoseconds), into d->x.mtime_ns */
	F_FOLLOW,    /* "follow" or "nofollow", into d->x.follow */
	F_SHA,       /* 64 lower-case hex digits, into d->x.sha */
	F_SHA_OPT,   /* the same, or "-" */
	F_RANGES_OPT,/* "OFF+LEN[,OFF+LEN...]" sorted, disjoint, not adjacent; or "-" */
};

struct field_spec {
	enum field_type type;
	const char *label; /* path fields: names the field in its error, "<label>: <why>" */
};

struct directive_spec {
	const char *name;
	enum kind kind;
	bool expect; /* an expectation: a validate-only plan, or a mount plan's first directives after root */
	struct field_spec fields[MAX_FIELDS];
	/* Checks against the directives before it, when the fields are valid. */
	bool (*link)(struct plan *plan, struct directive *d, struct plan_error *e);
};

static bool link_remount_ro(struct plan *plan, struct directive *d, struct plan_error *e);
static bool link_expect_file(struct plan *plan, struct directive *d, struct plan_error *e);

/* The fields every stat expectation (expect-file, -dir, -link) starts with. */
#define STAT_FIELDS { F_ROOT_PATH, "path" }, { F_INO, NULL }, { F_SIZE, NULL }, { F_MTIME, NULL }, { F_MODE, NULL }

static const struct directive_spec specs[] = {
	{ "ns", D_NS, false, { { F_PID, NULL } }, NULL },
	{ "ns-path", D_NS_PATH, false, { { F_HOST_PATH, "ns-path" } }, NULL },
	{ "root", D_ROOT, false, { { F_ROOT_PATH, "root" } }, NULL },
	{ "tmpfs", D_TMPFS, false, { { F_ROOT_PATH, "target" }, { F_MODE, NULL } }, NULL },
	{ "mkdir", D_MKDIR, false, { { F_ROOT_PATH, "target" }, { F_MODE, NULL } }, NULL },
	{ "bind", D_BIND, false, { { F_HOST_PATH, "source" }, { F_ROOT_PATH, "target" }, { F_RO_RW, NULL } }, NULL },
	{ "dev", D_DEV, false, { { F_HOST_PATH, "source" }, { F_ROOT_PATH, "target" } }, NULL },
	{ "ldconfig",
	  D_LDCONFIG,
	  false,
	  { { F_HOST_PATH, "ldconfig binary" },
	    { F_ROOT_PATH, "ldconfig configuration" },
	    { F_ROOT_PATH, "ldconfig cache" } },
	  NULL },
	{ "remount-ro", D_REMOUNT_RO, false, { { F_ROOT_PATH, "target" } }, link_remount_ro },
	{ "bind-inner",
	  D_BIND_INNER,
	  false,
	  { { F_ROOT_PATH, "source" }, { F_ROOT_PATH, "target" }, { F_RO_RW, NULL } },
	  NULL },
	{ "expect-root", D_EXPECT_ROOT, true, { { F_ROOT_PATH, "expect-root" } }, NULL },
	{ "expect-missing", D_EXPECT_MISSING, true, { { F_ROOT_PATH, "path" } }, NULL },
	{ "expect-resolve",
	  D_EXPECT_RESOLVE,
	  true,
	  { { F_ROOT_PATH, "path" }, { F_FOLLOW, NULL }, { F_SHA, NULL } },
	  NULL },
	{ "expect-file",
	  D_EXPECT_FILE,
	  true,
	  { STAT_FIELDS, { F_SHA_OPT, NULL }, { F_RANGES_OPT, NULL } },
	  link_expect_file },
	{ "expect-dir", D_EXPECT_DIR, true, { STAT_FIELDS, { F_SHA_OPT, NULL } }, NULL },
	{ "expect-link", D_EXPECT_LINK, true, { STAT_FIELDS, { F_SHA_OPT, NULL } }, NULL },
};

static bool perr(struct plan_error *e, int code, int err, long line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static bool perr(struct plan_error *e, int code, int err, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->what, sizeof e->what, fmt, ap);
	va_end(ap);
	e->code = code;
	e->err = err;
	e->line = line;
	return false;
}

#define PLAN_ERR(e, line, ...) perr((e), EXIT_PLAN, EINVAL, (line), __VA_ARGS__)

/* ---- field decoding ------------------------------------------------------ */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In-place percent decoding; returns NULL or the reason of the failure. */
static const char *percent_decode(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		unsigned char c = (unsigned char)*r;
		if (c < 0x20 || c == 0x7f)
			return "raw control character (must be percent-encoded)";
		if (c != '%') {
			*w++ = (char)c;
			continue;
		}
		int hi = hexval((unsigned char)r[1]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
		if (hi < 0 || lo < 0)
			return "bad percent escape";
		if (hi == 0 && lo == 0)
			return "NUL byte (%00) in a path";
		*w++ = (char)(hi * 16 + lo);
		r += 2;
	}
	*w = '\0';
	return NULL;
}

/* A host path: absolute, shorter than PATH_MAX. */
static const char *check_host_path(const char *s)
{
	if (s[0] != '/')
		return "not an absolute path";
	if (strlen(s) >= PATH_MAX)
		return "path too long";
	return NULL;
}

/*
 * A path inside the root: absolute; normalized in place to "/a/b" (repeated
 * slashes and "." components dropped); ".." components are refused; the result
 * must name something below the root (not the root itself).
 */
static const char *normalize_root_path(char *s)
{
	if (s[0] != '/')
		return "not an absolute path";
	if (strlen(s) >= PATH_MAX)
		return "path too long";
	char *w = s, *r = s;
	while (*r) {
		while (*r == '/')
			r++;
		if (!*r)
			break;
		char *end = strchrnul(r, '/');
		size_t len = (size_t)(end - r);
		if (len == 1 && r[0] == '.') {
			r = end;
			continue;
		}
		if (len == 2 && r[0] == '.' && r[1] == '.')
			return "\"..\" component in a path inside the root";
		if (len > NAME_MAX)
			return "path component too long";
		*w++ = '/';
		memmove(w, r, len);
		w += len;
		r = end;
	}
	*w = '\0';
	if (w == s)
		return "path names the root itself";
	return NULL;
}

static bool parse_mode(const char *s, unsigned *mode)
{
	size_t len = strlen(s);
	if (len < 1 || len > 5)
		return false;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return false;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 07777)
		return false;
	*mode = v;
	return true;
}

static bool parse_pid(const char *s)
{
	size_t len = strlen(s);
	if (len < 1 || len > 10 || s[0] == '0')
		return false;
	long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= INT_MAX;
}

/* Decimal digits at s (no sign, no leading zero but "0" itself, no overflow):
 * what follows them, or NULL. */
static const char *parse_u64(const char *s, uint64_t *v)
{
	const char *p = s;
	uint64_t x = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned dig = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - dig) / 10)
			return NULL;
		x = x * 10 + dig;
	}
	if (p == s || (s[0] == '0' && p - s > 1))
		return NULL;
	*v = x;
	return p;
}

static bool parse_dec_u64(const char *s, uint64_t *v)
{
	const char *end = parse_u64(s, v);
	return end && *end == '\0';
}

/* An optional '-', then decimal; within int64_t. */
static bool parse_dec_s64(const char *s, int64_t *v)
{
	bool neg = s[0] == '-';
	uint64_t u;
	if (!parse_dec_u64(s + neg, &u) || (neg && u == 0))
		return false;
	if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
		return false;
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return true;
}

/* Exactly 64 lower-case hex digits. */
static bool parse_sha(const char *s, unsigned char out[32])
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	for (int i = 0; i < 32; i++)
		out[i] = (unsigned char)(hexval((unsigned char)s[2 * i]) * 16 + hexval((unsigned char)s[2 * i + 1]));
	return true;
}

const char *plan_range(const char *s, uint64_t *off, uint64_t *len)
{
	s = parse_u64(s, off);
	if (!s || *s != '+')
		return NULL;
	s = parse_u64(s + 1, len);
	if (!s || (*s != '\0' && *s != ','))
		return NULL;
	return s;
}

/* An expect-file range list; its byte count into *bytes.  NULL or why not. */
static const char *check_ranges(const char *s, uint64_t *bytes)
{
	uint64_t end = 0, sum = 0;
	size_t n = 0;
	for (const char *p = s;; p++) {
		uint64_t off, len;
		if (!(p = plan_range(p, &off, &len)))
			return "malformed (OFF+LEN[,OFF+LEN...], decimal)";
		if (len == 0)
			return "zero-length range";
		if (off > (uint64_t)INT64_MAX - len)
			return "range beyond the largest file offset";
		if (n > 0 && off <= end)
			return "ranges must be sorted, disjoint and not adjacent";
		if (++n > MAX_RANGES)
			return "more than 4096 ranges";
		if (len > MAX_RANGE_BYTES - sum)
			return "more than 64 MiB of ranges";
		sum += len;
		end = off + len;
		if (*p == '\0')
			break;
	}
	*bytes = sum;
	return NULL;
}

/* Decodes and checks one field of d in place. */
static bool decode_field(const struct field_spec *fs, struct directive *d, char *s, struct plan_error *e)
{
	const char *why = NULL;
	switch (fs->type) {
	case F_PID:
		if (!parse_pid(s))
			return PLAN_ERR(e, d->line, "bad pid \"%.32s\"", s);
		return true;
	case F_HOST_PATH:
		if ((why = percent_decode(s)) || (why = check_host_path(s)))
			return PLAN_ERR(e, d->line, "%s: %s", fs->label, why);
		return true;
	case F_ROOT_PATH:
		if ((why = percent_decode(s)) || (why = normalize_root_path(s)))
			return PLAN_ERR(e, d->line, "%s: %s", fs->label, why);
		return true;
	case F_MODE:
		if (!parse_mode(s, &d->mode))
			return PLAN_ERR(e, d->line, "bad octal mode \"%.32s\"", s);
		return true;
	case F_RO_RW:
		if (strcmp(s, "ro") == 0)
			d->ro = true;
		else if (strcmp(s, "rw") != 0)
			return PLAN_ERR(e, d->line, "expected ro or rw, got \"%.32s\"", s);
		return true;
	case F_INO:
		if (!parse_dec_u64(s, &d->x.ino))
			return PLAN_ERR(e, d->line, "bad inode number \"%.32s\"", s);
		return true;
	case F_SIZE:
		if (!parse_dec_u64(s, &d->x.size))
			return PLAN_ERR(e, d->line, "bad size \"%.32s\"", s);
		return true;
	case F_MTIME:
		if (!parse_dec_s64(s, &d->x.mtime_ns))
			return PLAN_ERR(e, d->line, "bad mtime_ns \"%.32s\"", s);
		return true;
	case F_FOLLOW:
		if (strcmp(s, "follow") == 0)
			d->x.follow = true;
		else if (strcmp(s, "nofollow") != 0)
			return PLAN_ERR(e, d->line, "expected follow or nofollow, got \"%.32s\"", s);
		return true;
	case F_SHA_OPT:
		if (strcmp(s, "-") == 0)
			return true;
		/* fall through */
	case F_SHA:
		if (!parse_sha(s, d->x.sha))
			return PLAN_ERR(e, d->line, "bad sha256 \"%.70s\" (64 lower-case hex digits)", s);
		d->x.have_sha = true;
		return true;
	case F_RANGES_OPT:
		if (strcmp(s, "-") == 0)
			return true;
		if ((why = check_ranges(s, &d->x.range_bytes)))
			return PLAN_ERR(e, d->line, "ranges: %s", why);
		d->x.ranges = s;
		return true;
	case F_NONE:
		break;
	}
	return PLAN_ERR(e, d->line, "internal error: field type %d", (int)fs->type);
}

static int field_count(const struct directive_spec *spec)
{
	int n = 0;
	while (n < MAX_FIELDS && spec->fields[n].type != F_NONE)
		n++;
	return n;
}

/* remount-ro names the target of an earlier tmpfs directive (the latest one). */
static bool link_remount_ro(struct plan *plan, struct directive *d, struct plan_error *e)
{
	for (size_t i = plan->n; i-- > 2;) {
		if (plan->ds[i].kind == D_TMPFS && strcmp(plan->ds[i].f[0], d->f[0]) == 0) {
			d->ref = (long)i;
			return true;
		}
	}
	return PLAN_ERR(e, d->line, "remount-ro target was not mounted by an earlier tmpfs directive");
}

/* expect-file: a digest and its ranges come together; the ranges of the
 * whole plan are bounded (that much is read and hashed). */
static bool link_expect_file(struct plan *plan, struct directive *d, struct plan_error *e)
{
	if (d->x.have_sha != (d->x.ranges != NULL))
		return PLAN_ERR(e, d->line, "expect-file takes a sha256 and its ranges, or \"-\" for both");
	if (d->x.range_bytes > MAX_RANGE_BYTES - plan->range_bytes)
		return PLAN_ERR(e, d->line, "ranges: more than 64 MiB of ranges in the plan");
	plan->range_bytes += d->x.range_bytes;
	return true;
}

/* ---- lines --------------------------------------------------------------- */

/* A last line that ends the plan before the end of its input (README.md). */
#define PLAN_END "\nend-of-plan\n"

char *plan_read(int fd, size_t *len_out, struct plan_error *e)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		perr(e, EXIT_OTHER, ENOMEM, 0, "cannot allocate the plan buffer");
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= (size_t)MAX_PLAN_BYTES) {
				perr(e, EXIT_PLAN, EFBIG, 0, "plan larger than %ld bytes", MAX_PLAN_BYTES);
				goto out_fail;
			}
			cap *= 2;
			char *n = realloc(buf, cap + 1);
			if (!n) {
				perr(e, EXIT_OTHER, ENOMEM, 0, "cannot allocate the plan buffer");
				goto out_fail;
			}
			buf = n;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perr(e, EXIT_PLAN, errno, 0, "cannot read the plan from stdin");
			goto out_fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* The end marker: a helper waiting on a descriptor the JVM cannot
		 * close (channel.c) knows the plan is whole without an end of file. */
		if (len >= sizeof PLAN_END - 1 && memcmp(buf + len - (sizeof PLAN_END - 1), PLAN_END, sizeof PLAN_END - 1) == 0) {
			len -= sizeof PLAN_END - 1 - 1;   /* keep the newline before it */
			break;
		}
	}
	buf[len] = '\0';
	*len_out = len;
	return buf;
out_fail:
	free(buf);
	return NULL;
}

/* Splits line at single spaces into at most 1 + MAX_FIELDS non-empty fields. */
static bool split_fields(char *line, long lineno, char *fields[1 + MAX_FIELDS], int *nf_out, struct plan_error *e)
{
	int nf = 0;
	for (char *s = line;;) {
		if (nf == 1 + MAX_FIELDS)
			return PLAN_ERR(e, lineno, "too many fields");
		fields[nf++] = s;
		char *sp = strchr(s, ' ');
		if (!sp)
			break;
		*sp = '\0';
		s = sp + 1;
	}
	for (int i = 0; i < nf; i++)
		if (fields[i][0] == '\0')
			return PLAN_ERR(e, lineno, "empty field (fields are separated by exactly one space)");
	*nf_out = nf;
	return true;
}

/* One directive line (not the header, not a comment) into plan->ds[plan->n]. */
static bool parse_directive(struct plan *plan, char *line, long lineno, struct plan_error *e)
{
	char *fields[1 + MAX_FIELDS];
	int nf = 0;
	if (!split_fields(line, lineno, fields, &nf, e))
		return false;

	const struct directive_spec *spec = NULL;
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if (strcmp(fields[0], specs[i].name) == 0)
			spec = &specs[i];
	if (!spec)
		return PLAN_ERR(e, lineno, "unknown directive \"%.64s\"", fields[0]);
	int nargs = field_count(spec);
	if (nf - 1 != nargs)
		return PLAN_ERR(e, lineno, "%s takes %d field(s), got %d", spec->name, nargs, nf - 1);

	/* Ordering.  A mount plan: ns first, root second, each exactly once;
	 * then optionally expect-root once, right after root, and its expect-*
	 * before any other directive.  A validate-only plan: expect-root first
	 * and once, then expect-* only. */
	size_t n = plan->n;
	bool is_ns = spec->kind == D_NS || spec->kind == D_NS_PATH;
	if (n == 0) {
		if (!is_ns && spec->kind != D_EXPECT_ROOT)
			return PLAN_ERR(e, lineno, "the first directive must be ns, ns-path or expect-root");
		plan->validate_only = spec->kind == D_EXPECT_ROOT;
		if (plan->validate_only)
			plan->expect_end = 1;
	} else if (plan->validate_only) {
		if (spec->kind == D_EXPECT_ROOT)
			return PLAN_ERR(e, lineno, "duplicate expect-root directive");
		if (!spec->expect)
			return PLAN_ERR(e, lineno, "%s in a validate-only plan (only expect-* may follow expect-root)",
					spec->name);
		plan->expect_end = n + 1;
	} else {
		if (is_ns)
			return PLAN_ERR(e, lineno, "duplicate ns directive");
		if (n == 1 && spec->kind != D_ROOT)
			return PLAN_ERR(e, lineno, "the second directive must be root");
		if (n > 1 && spec->kind == D_ROOT)
			return PLAN_ERR(e, lineno, "duplicate root directive");
		if (spec->kind == D_EXPECT_ROOT) {
			if (plan->expect_end)
				return PLAN_ERR(e, lineno, "duplicate expect-root directive");
			if (n != 2)
				return PLAN_ERR(e, lineno, "expect-root in a mount plan must come right after root");
			plan->expect_at = 2;
			plan->expect_end = 3;
		} else if (spec->expect) {
			if (!plan->expect_end)
				return PLAN_ERR(e, lineno, "%s in a mount plan without expect-root (expect-* follow expect-root, right after root)",
						spec->name);
			if (plan->expect_end != n)
				return PLAN_ERR(e, lineno, "%s after a mount directive (expect-* come before any other directive)",
						spec->name);
			plan->expect_end = n + 1;
		}
	}

	struct directive *d = &plan->ds[n];
	*d = (struct directive){
		.kind = spec->kind,
		.line = lineno,
		.ref = -1,
		.src = { .fd = -1, .tree_fd = -1 },
	};
	for (int i = 0; i < nargs; i++) {
		d->f[i] = fields[i + 1];
		if (!decode_field(&spec->fields[i], d, d->f[i], e))
			return false;
	}
	if (spec->link && !spec->link(plan, d, e))
		return false;
	plan->n++;
	return true;
}

bool plan_parse(char *buf, size_t len, struct plan *plan, struct plan_error *e)
{
	/* Count lines first: bounded allocation. */
	long nlines = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n')
			nlines++;
	if (len > 0 && buf[len - 1] != '\n')
		nlines++;
	if (nlines > MAX_PLAN_LINES)
		return PLAN_ERR(e, MAX_PLAN_LINES + 1, "plan has more than %ld lines", MAX_PLAN_LINES);
	if (nlines == 0)
		return PLAN_ERR(e, 1, "empty plan (missing \"" PLAN_HEADER "\" header)");

	plan->n = 0;
	plan->validate_only = false;
	plan->expect_at = 0;
	plan->expect_end = 0;
	plan->range_bytes = 0;
	plan->ds = calloc((size_t)nlines, sizeof *plan->ds);
	if (!plan->ds)
		return perr(e, EXIT_OTHER, ENOMEM, 0, "cannot allocate the plan");
	long lineno = 0;
	char *p = buf, *end = buf + len;
	while (p < end) {
		lineno++;
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t llen = (size_t)(eol - p);
		if (llen > MAX_LINE_BYTES)
			return PLAN_ERR(e, lineno, "line longer than %d bytes", MAX_LINE_BYTES);
		if (memchr(p, '\0', llen))
			return PLAN_ERR(e, lineno, "NUL byte in the plan");
		*eol = '\0';
		char *line = p;
		p = eol + 1;

		if (lineno == 1) {
			if (strcmp(line, PLAN_HEADER) == 0)
				continue;
			if (strncmp(line, "bypass-plan ", 12) == 0)
				return PLAN_ERR(e, lineno, "unsupported plan version \"%.32s\"", line + 12);
			return PLAN_ERR(e, lineno, "missing \"" PLAN_HEADER "\" header");
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (!parse_directive(plan, line, lineno, e))
			return false;
	}
	if (plan->n == 0)
		return PLAN_ERR(e, lineno, "plan has no ns or expect-root directive");
	if (plan->n == 1 && !plan->validate_only)
		return PLAN_ERR(e, lineno, "plan has no root directive");
	return true;
}
