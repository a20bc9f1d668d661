#!/bin/bash
# Tests for native-shims/bypass-mount-helper.  Run as root (needs unshare -m):
#   tests/native/helper-test.sh /path/to/bypass-mount-helper
# (make -C native-shims check OUT=dir runs it.)
#
# A sleeper in a new private mount namespace stands in for the container; a
# scratch directory in /tmp stands in for its rootfs.  Every functional and
# hostile case runs once per resolver/mount-API combination.  Prints
# "ok - name" / "not ok - name" and exits non-zero if any check failed.

set -u
shopt -s lastpipe # the "printf ... | bad_plan" checks must count in this shell
export LC_ALL=C

HELPER=${1:?usage: helper-test.sh HELPER}
case $HELPER in /*) ;; *) HELPER=$PWD/$HELPER ;; esac
if [ ! -x "$HELPER" ]; then
	echo "not ok - helper $HELPER is not executable"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "not ok - helper-test.sh must run as root"
	exit 1
fi
for tool in unshare nsenter timeout findmnt; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "not ok - required tool $tool is missing"
		exit 1
	fi
done

LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
LDCONFIG=$(readlink -f "$LDCONFIG")
LIBC=$(ldconfig -p | awk '$1 == "libc.so.6" && /x86-64|64bit|AArch64|ARM/ { print $NF; exit }')
[ -n "$LIBC" ] || LIBC=$(ldconfig -p | awk '$1 == "libc.so.6" { print $NF; exit }')
LIBC=$(readlink -f "$LIBC")

SCRATCH=$(mktemp -d /tmp/bypass-helper-test.XXXXXX)
HOSTDIR=$(mktemp -d /tmp/bypass-hostdir.XXXXXX) # must stay empty and unmounted
UNIQUE=bypass-helper-test-$$-$RANDOM           # must never appear in the host's /
SLEEPERS=()
FAILED=0
PASSED=0

cleanup() {
	local p
	for p in "${SLEEPERS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf --one-file-system "$SCRATCH" "$HOSTDIR"
	rmdir "/$UNIQUE" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HOST_MI_BEFORE=$SCRATCH/host-mountinfo.before
mi_fields() { awk '{ $1 = ""; $2 = ""; print }' "$1" | sort; }
cat /proc/$$/mountinfo >"$HOST_MI_BEFORE"

ok() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
not_ok() {
	echo "not ok - $1"
	FAILED=$((FAILED + 1))
	shift
	local l
	for l in "$@"; do printf '#   %s\n' "$l"; done
}
# check NAME COMMAND... : ok when the command succeeds
check() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name" "command: $*" "stderr: ${ERR:-}"; fi
}

# --- namespace --------------------------------------------------------------

NSPID=
start_ns() {
	unshare -m --propagation private sleep 3600 &
	local pid=$! i self
	SLEEPERS+=("$pid")
	self=$(readlink /proc/$$/ns/mnt)
	for i in $(seq 1 200); do
		# unshare execs sleep: the pid is the one in the new namespace once it differs
		if [ "$(readlink /proc/$pid/ns/mnt 2>/dev/null)" != "$self" ] &&
			[ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ]; then
			NSPID=$pid
			return 0
		fi
		sleep 0.05
	done
	echo "not ok - could not start a sleeper in a new mount namespace"
	exit 1
}
in_ns() { nsenter -t "$NSPID" -m -- "$@"; }
ns_mountinfo() { in_ns cat /proc/self/mountinfo | awk '{ $1 = ""; $2 = ""; print }' | sort; }
ns_tree() { in_ns find "$1" -path "$1/proc" -prune -o -printf '%y %m %p\n' 2>/dev/null | sort; }
# mount options (field 6) and fs type of the mount on path P inside the namespace (top-most)
mnt_opts() { in_ns env MP="$(mi_escape "$1")" awk '$5 == ENVIRON["MP"] { o = $6 } END { print o }' /proc/self/mountinfo; }
mnt_fstype() { in_ns env MP="$(mi_escape "$1")" awk '$5 == ENVIRON["MP"] { for (i = 7; $i != "-"; i++); t = $(i + 1) } END { print t }' /proc/self/mountinfo; }
mi_escape() { printf '%s' "$1" | sed -e 's/\\/\\134/g' -e 's/ /\\040/g' -e 's/\t/\\011/g'; }
has_opt() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }

# --- plans ------------------------------------------------------------------

enc() { printf '%s' "$1" | sed -e 's/%/%25/g' -e 's/ /%20/g'; }
# mkplan FILE ROOT DIRECTIVE... (directives already encoded)
mkplan() {
	local f=$1 root=$2
	shift 2
	{
		echo "bypass-plan 1"
		echo "ns $NSPID"
		echo "root $(enc "$root")"
		local l
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

MODE=default
RC=0
ERR=
OUTPUT= # the helper's stdout: the report of what it created (also in $SCRATCH/stdout)
# run_helper PLAN [HELPER-ARGS...]: runs the helper in $MODE, which the test
# switches below force (the helper honours them in every build: they can only
# select the fallbacks, which are equally safe); $WRAP (e.g. strace) goes in front.
WRAP=()
run_helper() {
	local plan=$1
	shift
	local -a envs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin)
	case $MODE in
	no-openat2) envs+=(BYPASS_HELPER_NO_OPENAT2=1) ;;
	no-mount-api) envs+=(BYPASS_HELPER_NO_MOUNT_API=1) ;;
	compat) envs+=(BYPASS_HELPER_NO_OPENAT2=1 BYPASS_HELPER_NO_MOUNT_API=1) ;;
	esac
	# LeakSanitizer cannot work under ptrace (make check-asan); other builds ignore it
	[ ${#WRAP[@]} -eq 0 ] || envs+=(ASAN_OPTIONS=detect_leaks=0)
	RC=0
	env -i "${envs[@]}" timeout 120 "${WRAP[@]}" "$HELPER" "$@" <"$plan" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr" || RC=$?
	ERR=$(cat "$SCRATCH/stderr")
	OUTPUT=$(cat "$SCRATCH/stdout")
}
HAVE_STRACE=
command -v strace >/dev/null 2>&1 && HAVE_STRACE=1
one_error_line() {
	[ -n "$ERR" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] &&
		printf '%s\n' "$ERR" | grep -Eq '^bypass-mount-helper: [0-9]+: .+: .+$'
}
expect_rc() { # NAME WANT
	if [ "$RC" = "$2" ]; then ok "$1 (exit $2)"; else not_ok "$1 (exit $2)" "got exit $RC" "stderr: $ERR"; fi
}
expect_success() {
	if [ "$RC" = 0 ] && [ -z "$ERR" ]; then ok "$1 (exit 0, silent)"; else not_ok "$1 (exit 0, silent)" "got exit $RC" "stderr: $ERR"; fi
}
hostdir_untouched() {
	[ -z "$(ls -A "$HOSTDIR")" ] || return 1
	# nothing mounted on or below it, inside the namespace either
	! in_ns awk -v d="$HOSTDIR" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# --- host fixtures ----------------------------------------------------------

HOST=$SCRATCH/host
mkdir -p "$HOST/dir"
DATA="bypass data $RANDOM$RANDOM"
printf '%s\n' "$DATA" >"$HOST/data.txt"
printf '/opt/bypass/lib\n' >"$HOST/ld.conf"
echo "dir content" >"$HOST/dir/inside.txt"

# --- validate-only plans ------------------------------------------------------

# The values the Java side records, computed here with stat and sha256sum.
mtime_ns() { local t; t=$(stat -c '%.9Y' "$1"); echo $((${t%.*} * 1000000000 + 10#${t#*.})); }
meta() { echo "$(stat -c %i "$1") $(stat -c %s "$1") $(mtime_ns "$1") $(stat -c %a "$1")"; }
sha_of() { sha256sum | cut -c1-64; }
ranges_sha() { # FILE OFF+LEN[,OFF+LEN...]
	local r
	for r in ${2//,/ }; do tail -c +$((${r%+*} + 1)) "$1" | head -c "${r#*+}"; done | sha_of
}
listing_sha() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\0' | sort -z | sha_of; }
path_sha() { printf '%s' "$1" | sha_of; }
NOTHING_SHA=$(printf '\0' | sha_of)
# xfile/xdir/xlink ROOT PATH [content]: the stat expectation of ROOT/PATH as
# recorded now; with "content", its digest too (a file: of the ranges in $RANGES)
xfile() {
	local f=$1$2
	if [ $# -gt 2 ]; then echo "expect-file $(enc "$2") $(meta "$f") $(ranges_sha "$f" "$RANGES") $RANGES"; else
		echo "expect-file $(enc "$2") $(meta "$f") - -"; fi
}
xdir() {
	local f=$1$2
	if [ $# -gt 2 ]; then echo "expect-dir $(enc "$2") $(meta "$f") $(listing_sha "$f")"; else
		echo "expect-dir $(enc "$2") $(meta "$f") -"; fi
}
xlink() {
	local f=$1$2
	if [ $# -gt 2 ]; then echo "expect-link $(enc "$2") $(meta "$f") $(printf '%s' "$(readlink "$f")" | sha_of)"; else
		echo "expect-link $(enc "$2") $(meta "$f") -"; fi
}
# mkxplan FILE ROOT DIRECTIVE...: a validate-only plan
mkxplan() {
	local f=$1 root=$2 l
	shift 2
	{
		echo "bypass-plan 1"
		echo "expect-root $(enc "$root")"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}
# the state of a tree that a check must not change (access times aside)
tree_state() { find "$1" -printf '%y %m %i %s %T@ %C@ %p %l\n' | sort; }
# expect_stale NAME PATH: exit 17 and the one line naming the path
expect_stale() {
	if [ "$RC" = 17 ] && one_error_line && printf '%s\n' "$ERR" | grep -Fq ": $2: "; then ok "$1 (exit 17)"; else
		not_ok "$1 (exit 17)" "got exit $RC" "stderr: $ERR"; fi
}
# expect_stale_why NAME PATH WHAT: also says what differs
expect_stale_why() {
	if [ "$RC" = 17 ] && one_error_line && printf '%s\n' "$ERR" | grep -Fq ": $2: $3"; then ok "$1 (exit 17: $3)"; else
		not_ok "$1 (exit 17: $3)" "got exit $RC" "stderr: $ERR"; fi
}

expect_suite() { # T base resolver
	local T=$1 base=$2 resolver=$3
	local R=$base/expect/root P=$base/expect.plan
	mkdir -p "$R/usr/lib" "$R/etc" "$R/data/sub" "$R/a/b" "$R/chain" "$R/empty"
	head -c 200000 /dev/urandom >"$R/usr/lib/libx.so.1"
	ln -s libx.so.1 "$R/usr/lib/libx.so"
	echo container >"$R/etc/passwd"
	echo real >"$R/data/real"
	echo other >"$R/data/other"
	echo below >"$R/a/b/file"
	printf 'with space\n' >"$R/data/sp ace"
	ln -s /chain/b "$R/chain/a"     # absolute, re-rooted
	ln -s ../data/c "$R/chain/b"    # relative
	ln -s real "$R/data/c"
	ln -s /data "$R/lnkdir"
	ln -s /etc "$R/x"               # re-rooted, never the host's /etc
	ln -s ../../../../../../../etc "$R/up"
	ln -s /nowhere "$R/dangling"
	mkfifo "$R/fifo"
	local RANGES="0+100,4096+5000,150000+50000"

	# Everything as recorded: exit 0, silent, nothing changed.
	local all=("$(xfile "$R" /usr/lib/libx.so.1 content)" "$(RANGES=0+5 xfile "$R" "/data/sp ace" content)"
		"$(xfile "$R" /etc/passwd)" "$(xdir "$R" /data content)" "$(xdir "$R" /empty content)" "$(xdir "$R" /usr)"
		"$(xlink "$R" /usr/lib/libx.so content)" "$(xlink "$R" /chain/a)"
		"expect-missing /usr/lib/libnone.so" "expect-missing /etc/passwd/sub" "expect-missing /dangling/x"
		"expect-resolve /usr/lib/libx.so follow $(path_sha /usr/lib/libx.so.1)"
		"expect-resolve /usr/lib/libx.so nofollow $(path_sha /usr/lib/libx.so)"
		"expect-resolve /chain/a follow $(path_sha /data/real)"
		"expect-resolve /lnkdir/real nofollow $(path_sha /data/real)"
		"expect-resolve /dangling follow $NOTHING_SHA"
		"expect-resolve /nope/nope follow $NOTHING_SHA"
		"expect-resolve /x/passwd follow $(path_sha /etc/passwd)"
		"expect-resolve /up/passwd follow $(path_sha /etc/passwd)")
	mkxplan "$P" "$R" "${all[@]}"
	local before
	before=$(tree_state "$R")
	run_helper "$P"
	expect_success "$T validate-only plan whose expectations all hold"
	check "$T ... nothing on stdout" test ! -s "$SCRATCH/stdout"
	check "$T ... nothing changed in the root" test "$before" = "$(tree_state "$R")"
	run_helper "$P" -v
	if [ "$RC" = 0 ] && printf '%s\n' "$ERR" | head -n 1 | grep -q "; resolver $resolver\$" &&
		[ "$(printf '%s\n' "$ERR" | wc -l)" -eq $((${#all[@]} + 1 + 5)) ]; then
		ok "$T -v: the resolver, then one line per check"
	else not_ok "$T -v: the resolver, then one line per check" "exit $RC" "stderr: $ERR"; fi
	if [ -n "$HAVE_STRACE" ]; then
		local trace=$base/expect.trace bad=
		WRAP=(strace -f -qq -o "$trace" -e trace=setns,unshare,mount,umount2,open_tree,move_mount,fsopen,mkdirat,mknodat,unlinkat,renameat2,openat,openat2,write,pwrite64)
		run_helper "$P"
		WRAP=()
		grep -Eq '^([0-9]+ +)?(setns|unshare|mount|umount2|open_tree|move_mount|fsopen|mkdirat|mknodat|unlinkat|renameat2|pwrite64)\(' "$trace" && bad="$bad mount/namespace/create"
		grep -Eq 'O_CREAT|O_WRONLY|O_RDWR|O_TRUNC' "$trace" && bad="$bad open-for-writing"
		grep -q 'ns/mnt' "$trace" && bad="$bad namespace-file"
		grep -Eq '^([0-9]+ +)?write\((0|1|[3-9])' "$trace" && bad="$bad write"
		if [ "$resolver" = openat2 ]; then grep -q 'openat2(' "$trace" || bad="$bad no-openat2"; else
			grep -q 'openat2(' "$trace" && bad="$bad openat2"; fi
		if [ "$RC" = 0 ] && [ -z "$bad" ]; then ok "$T validate-only: no namespace, nothing created, mounted or written"; else
			not_ok "$T validate-only: no namespace, nothing created, mounted or written" "exit $RC" "unexpected:$bad" "stderr: $ERR"; fi
	else
		ok "$T validate-only: no namespace, nothing created, mounted or written # skip: strace is not installed"
	fi

	# FIPS 180-4's examples, through the helper's own SHA-256, and lengths
	# around the block and read-chunk boundaries against sha256sum.
	printf abc >"$R/fips1"
	printf abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq >"$R/fips2"
	head -c 1000000 /dev/zero | tr '\0' a >"$R/fips3"
	mkxplan "$P" "$R" \
		"expect-file /fips1 $(meta "$R/fips1") ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 0+3" \
		"expect-file /fips2 $(meta "$R/fips2") 248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1 0+56" \
		"expect-file /fips3 $(meta "$R/fips3") cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0 0+1000000"
	run_helper "$P"
	expect_success "$T SHA-256 of FIPS 180-4's three examples"
	local n lines=()
	for n in 1 55 56 57 63 64 65 119 120 128 65535 65536 65537 131073; do
		lines+=("$(RANGES=0+$n xfile "$R" /usr/lib/libx.so.1 content)")
	done
	lines+=("$(RANGES=1+54,56+1,58+63,122+65536,65700+65537 xfile "$R" /usr/lib/libx.so.1 content)")
	mkxplan "$P" "$R" "${lines[@]}"
	run_helper "$P"
	expect_success "$T SHA-256 of 1..131073 bytes and of split ranges agrees with sha256sum"

	# Each kind of difference.  xplan_with LINE: the all-hold plan plus LINE.
	local f=$R/usr/lib/libx.so.1 m ino size mt mode
	read -r ino size mt mode <<<"$(meta "$f")"
	local sha
	sha=$(ranges_sha "$f" "$RANGES")
	mkxplan "$P" "$R" "expect-file /usr/lib/libx.so.1 $((ino + 1)) $size $mt $mode - -"
	run_helper "$P"
	expect_stale_why "$T wrong inode" /usr/lib/libx.so.1 "metadata changed"
	mkxplan "$P" "$R" "expect-file /usr/lib/libx.so.1 $ino $((size - 1)) $mt $mode - -"
	run_helper "$P"
	expect_stale_why "$T wrong size" /usr/lib/libx.so.1 "metadata changed"
	mkxplan "$P" "$R" "expect-file /usr/lib/libx.so.1 $ino $size $((mt + 1)) $mode - -"
	run_helper "$P"
	expect_stale_why "$T wrong mtime" /usr/lib/libx.so.1 "metadata changed"
	mkxplan "$P" "$R" "expect-file /usr/lib/libx.so.1 $ino $size $mt 755 - -"
	run_helper "$P"
	expect_stale_why "$T wrong mode" /usr/lib/libx.so.1 "metadata changed"
	mkxplan "$P" "$R" "expect-dir /usr/lib/libx.so.1 $ino $size $mt $mode -"
	run_helper "$P"
	expect_stale_why "$T a file where a directory is expected" /usr/lib/libx.so.1 "not a directory now"
	mkxplan "$P" "$R" "expect-link /usr/lib/libx.so.1 $ino $size $mt $mode -"
	run_helper "$P"
	expect_stale_why "$T a file where a link is expected" /usr/lib/libx.so.1 "not a symbolic link now"
	mkxplan "$P" "$R" "expect-file /data $(meta "$R/data") - -"
	run_helper "$P"
	expect_stale_why "$T a directory where a file is expected" /data "not a regular file now"
	mkxplan "$P" "$R" "expect-file /usr/lib/libx.so $(meta "$R/usr/lib/libx.so") - -"
	run_helper "$P"
	expect_stale_why "$T a link where a file is expected (the final link is not followed)" /usr/lib/libx.so "not a regular file now"
	mkxplan "$P" "$R" "$(xfile "$R" /usr/lib/libx.so.1 content)" "expect-file /nope $ino $size $mt $mode - -"
	run_helper "$P"
	expect_stale_why "$T a file that is gone" /nope "is gone"
	# the metadata checks all come before the first content check
	mkxplan "$P" "$R" "expect-file /usr/lib/libx.so.1 $ino $size $mt $mode $NOTHING_SHA $RANGES" \
		"expect-file /etc/passwd 1 2 3 644 - -"
	run_helper "$P"
	expect_stale_why "$T every stat is checked before any content" /etc/passwd "metadata changed"

	# Content: a change inside a recorded range (metadata restored) is
	# stale, one outside the ranges is not; a range past the end is stale.
	local rec
	rec=$(xfile "$R" /usr/lib/libx.so.1 content)
	touch -r "$f" "$base/ref"
	printf 'Z' | dd of="$f" bs=1 seek=120000 conv=notrunc status=none
	touch -r "$base/ref" "$f"
	mkxplan "$P" "$R" "$rec"
	run_helper "$P"
	expect_success "$T a change outside the recorded ranges still holds"
	printf 'Z' | dd of="$f" bs=1 seek=4100 conv=notrunc status=none
	touch -r "$base/ref" "$f"
	run_helper "$P"
	expect_stale_why "$T a change inside a recorded range (same metadata)" /usr/lib/libx.so.1 "content changed"
	mkxplan "$P" "$R" "$(RANGES=199990+20 xfile "$R" /usr/lib/libx.so.1 content)"
	run_helper "$P"
	expect_stale_why "$T a range beyond the end of the file" /usr/lib/libx.so.1 "content changed"
	rec=$(RANGES=0+100 xfile "$R" /usr/lib/libx.so.1 content)
	cp -p "$f" "$f.new" && mv "$f.new" "$f"
	mkxplan "$P" "$R" "$rec"
	run_helper "$P"
	expect_stale_why "$T a file replaced by an identical copy (new inode)" /usr/lib/libx.so.1 "metadata changed"

	# A FIFO where a file is expected: refused without opening it.
	mkxplan "$P" "$R" "expect-file /fifo $(meta "$R/fifo") $NOTHING_SHA 0+1"
	WRAP=(timeout 5)
	run_helper "$P"
	WRAP=()
	expect_stale_why "$T a FIFO where a file is expected, without blocking" /fifo "not a regular file now"

	# Missing, resolve, listing, link.
	mkxplan "$P" "$R" "expect-missing /data/new"
	run_helper "$P"
	expect_success "$T a missing path still missing"
	echo new >"$R/data/new"
	run_helper "$P"
	expect_stale_why "$T a missing path that now exists" /data/new "now exists"
	rm "$R/data/new"
	mkxplan "$P" "$R" "expect-missing /dangling"
	run_helper "$P"
	expect_stale_why "$T a dangling link is not missing (the final link is not followed)" /dangling "now exists"

	mkxplan "$P" "$R" "expect-resolve /chain/a follow $(path_sha /data/real)"
	ln -sfn other "$R/data/c"
	run_helper "$P"
	expect_stale_why "$T a lookup whose target moved" /chain/a "now resolves elsewhere"
	rm "$R/data/c"
	run_helper "$P"
	expect_stale_why "$T a lookup that no longer resolves" /chain/a "no longer resolves"
	ln -s real "$R/data/c"
	run_helper "$P"
	expect_success "$T the lookup through the absolute/relative link chain holds again"
	mkxplan "$P" "$R" "expect-resolve /chain/a follow $NOTHING_SHA"
	run_helper "$P"
	expect_stale_why "$T a lookup recorded as resolving to nothing now resolves" /chain/a "now resolves elsewhere"

	rec=$(xdir "$R" /data content)
	touch -r "$R/data" "$base/ref"
	echo added >"$R/data/added"
	touch -r "$base/ref" "$R/data"
	mkxplan "$P" "$R" "$rec"
	run_helper "$P"
	expect_stale_why "$T a directory with a name added (metadata restored)" /data "content changed"
	rm "$R/data/added"
	touch -r "$base/ref" "$R/data"
	run_helper "$P"
	expect_success "$T the directory's listing as recorded again"
	echo added >"$R/data/added"
	run_helper "$P"
	expect_stale "$T a directory with a name added" /data

	rec=$(xlink "$R" /usr/lib/libx.so content)
	mkxplan "$P" "$R" "${rec% *} $(path_sha other)"
	run_helper "$P"
	expect_stale_why "$T a link whose target text differs from the record" /usr/lib/libx.so "content changed"
	mkxplan "$P" "$R" "$rec"
	ln -sfn libx.so.2 "$R/usr/lib/libx.so"
	run_helper "$P"
	expect_stale "$T a link whose target text changed" /usr/lib/libx.so

	# Canonical paths: a directory on the way replaced by a symlink is a
	# difference, even to the very same file.
	mkxplan "$P" "$R" "$(xfile "$R" /a/b/file)" "$(RANGES=0+6 xfile "$R" /a/b/file content)"
	run_helper "$P"
	expect_success "$T a file below a directory"
	mv "$R/a/b" "$R/a/b.orig"
	ln -s b.orig "$R/a/b"
	run_helper "$P"
	expect_stale_why "$T its directory replaced by a symlink to it (same file)" /a/b/file "now resolves elsewhere"
	rm "$R/a/b"
	cp -a "$R/a/b.orig" "$R/a/b.copy"
	ln -s /a/b.copy "$R/a/b"
	run_helper "$P"
	expect_stale "$T its directory replaced by a symlink to a copy" /a/b/file

	# Links out of the root are re-rooted: never the host's files.
	mkxplan "$P" "$R" "$(xfile "$R" /etc/passwd)" "expect-file /x/passwd $(meta "$R/etc/passwd") - -"
	run_helper "$P"
	expect_stale_why "$T a stat through /x -> /etc is re-rooted, and not canonical" /x/passwd "now resolves elsewhere"
	mkxplan "$P" "$R" "expect-file /x/passwd $(meta /etc/passwd) - -"
	run_helper "$P"
	expect_stale "$T /x/passwd is never the host's /etc/passwd" /x/passwd
	mkxplan "$P" "$R" "expect-missing /x/group" "expect-missing /up/group" \
		"expect-resolve /up/passwd follow $(path_sha /etc/passwd)" "expect-resolve /x/group follow $NOTHING_SHA"
	run_helper "$P"
	expect_success "$T /x -> /etc and ../../.. stay in the root (the host's /etc/group is not seen)"
	mkxplan "$P" "$R" "expect-resolve /up/passwd follow $(path_sha "$R/etc/passwd")"
	run_helper "$P"
	expect_stale "$T a lookup never yields a host path" /up/passwd

	# The root itself.
	mkxplan "$P" "$base/expect/nonexistent" "expect-missing /a"
	run_helper "$P"
	if [ "$RC" = 17 ] && one_error_line; then ok "$T expect-root that does not exist (exit 17)"; else
		not_ok "$T expect-root that does not exist (exit 17)" "exit $RC" "stderr: $ERR"; fi
	ln -sfn root "$base/expect/rootlink"
	mkxplan "$P" "$base/expect/rootlink" "expect-missing /a"
	run_helper "$P"
	if [ "$RC" = 17 ] && one_error_line; then ok "$T expect-root through a symlink (exit 17)"; else
		not_ok "$T expect-root through a symlink (exit 17)" "exit $RC" "stderr: $ERR"; fi
	mkxplan "$P" "$R/etc/passwd" "expect-missing /a"
	run_helper "$P"
	if [ "$RC" = 17 ] && one_error_line; then ok "$T expect-root that is a file (exit 17)"; else
		not_ok "$T expect-root that is a file (exit 17)" "exit $RC" "stderr: $ERR"; fi
	mkxplan "$P" "$R"
	run_helper "$P"
	expect_success "$T a validate-only plan with no expectation"
	mkxplan "$P" "$R" "expect-missing /data/new"
	echo new >"$R/data/new"
	run_helper "$P"
	check "$T a stale validate-only plan: exit 17, nothing on stdout" test "$RC:$(stat -c %s "$SCRATCH/stdout")" = 17:0
	rm "$R/data/new"
}

# --- a mount plan that carries its expectations ---------------------------------

# A decision-cache hit costs one spawn: the mount plan carries the
# expectations (expect-root and expect-* right after root), checked first in
# the host namespace; stale, and nothing at all is opened, created or mounted.
expect_mount_suite() { # T base resolver
	local T=$1 base=$2 resolver=$3
	local R=$base/xmount/root P=$base/xmount.plan Q=$base/xmount-bare.plan
	mkdir -p "$R/usr/lib" "$R/opt"
	head -c 5000 /dev/urandom >"$R/usr/lib/libxm.so.1"
	ln -s libxm.so.1 "$R/usr/lib/libxm.so"
	local XR="expect-root $(enc "$R")" X
	record_x() { # X: the expectations as recorded now
		X=("$(RANGES=0+100,4096+100 xfile "$R" /usr/lib/libxm.so.1 content)" "$(xdir "$R" /usr/lib content)"
			"$(xlink "$R" /usr/lib/libxm.so content)" "expect-missing /opt/bypass"
			"expect-resolve /usr/lib/libxm.so follow $(path_sha /usr/lib/libxm.so.1)")
	}
	record_x
	local M=("mkdir /opt/bypass/lib 0755" "bind $(enc "$HOST/data.txt") /opt/bypass/lib/data ro")
	local want="created /opt/bypass 40755
created /opt/bypass/lib 40755
created /opt/bypass/lib/data 100444"
	undo_xmount() { in_ns umount "$R/opt/bypass/lib/data" 2>/dev/null; in_ns rm -rf "$R/opt/bypass"; }

	# Without the expectations: the reference.
	mkplan "$Q" "$R" "${M[@]}"
	run_helper "$Q"
	local bare
	bare=$(cut -d' ' -f1-3 "$SCRATCH/stdout")
	undo_xmount
	# With them, all holding: the same binds, the same report.
	mkplan "$P" "$R" "$XR" "${X[@]}" "${M[@]}"
	run_helper "$P"
	expect_success "$T a mount plan whose expectations hold"
	check "$T ... reports its created lines as without them" test "$bare" = "$want" -a "$(cut -d' ' -f1-3 "$SCRATCH/stdout")" = "$want"
	check "$T ... and performs its bind" test "$(in_ns cat "$R/opt/bypass/lib/data")" = "$DATA"
	check "$T ... the created directories are those reported" test "$(sed -n 1p "$SCRATCH/stdout" | cut -d' ' -f4)" = "$(in_ns stat -c %i "$R/opt/bypass")"
	undo_xmount
	run_helper "$P" -v
	if [ "$RC" = 0 ] && printf '%s\n' "$ERR" | head -n 1 | grep -q "^bypass-mount-helper: 4: expectations of a mount plan, in the host namespace; root .*; resolver $resolver\$" &&
		printf '%s\n' "$ERR" | grep -q "; resolver $resolver; mount API "; then
		ok "$T -v: the expectations first, then the namespace"
	else not_ok "$T -v: the expectations first, then the namespace" "exit $RC" "stderr: $ERR"; fi
	undo_xmount
	if [ -n "$HAVE_STRACE" ]; then
		local trace=$base/xmount.trace first
		WRAP=(strace -f -qq -o "$trace" -e trace=openat,openat2,open,setns)
		run_helper "$P"
		WRAP=()
		first=$(grep -E 'libxm|ns/mnt|data\.txt|setns\(' "$trace" | sed -E 's/^[0-9]+ +//' |
			sed -E 's/.*libxm.*/expect/; s/.*ns\/mnt.*/ns/; s/.*data\.txt.*/source/; s/^setns\(.*/setns/' | uniq | tr '\n' ' ')
		case "$RC:$first" in
		"0:expect ns source setns "*) ok "$T ... expectations checked before the namespace and the sources are opened" ;;
		*) not_ok "$T ... expectations checked before the namespace and the sources are opened" "exit $RC" "order: $first" ;;
		esac
		undo_xmount
	else
		ok "$T ... expectations checked before the namespace and the sources are opened # skip: strace is not installed"
	fi

	# An expect-root with no expectation is allowed.
	mkplan "$P" "$R" "$XR" "${M[@]}"
	run_helper "$P"
	if [ "$RC" = 0 ] && [ -z "$ERR" ] && [ "$(cut -d' ' -f1-3 "$SCRATCH/stdout")" = "$want" ]; then
		ok "$T a mount plan with expect-root and no expectation (exit 0, silent, reported)"
	else not_ok "$T a mount plan with expect-root and no expectation (exit 0, silent, reported)" "exit $RC" "stdout: $OUTPUT" "stderr: $ERR"; fi
	undo_xmount

	# Stale: 17, one line, nothing on stdout, nothing created or mounted,
	# the namespace file and the host sources never opened.
	local before_tree before_mi
	stale_case() { # NAME PATH-IN-ERROR plan-lines...
		local name=$1 what=$2
		shift 2
		before_tree=$(tree_state "$R")
		before_mi=$(ns_mountinfo)
		mkplan "$P" "$R" "$@" "${M[@]}"
		if [ -n "$HAVE_STRACE" ]; then
			WRAP=(strace -f -qq -o "$base/xmount.trace" -e trace=setns,unshare,mount,open_tree,move_mount,fsopen,mkdirat,mknodat,openat,openat2,open,write)
		fi
		run_helper "$P"
		WRAP=()
		if [ "$RC" = 17 ] && one_error_line && printf '%s\n' "$ERR" | grep -Fq ": $what"; then ok "$T $name (exit 17)"; else
			not_ok "$T $name (exit 17)" "got exit $RC" "stderr: $ERR"; fi
		check "$T ... nothing on stdout" test ! -s "$SCRATCH/stdout"
		check "$T ... nothing created or mounted in the root" test "$before_tree$before_mi" = "$(tree_state "$R")$(ns_mountinfo)"
		if [ -n "$HAVE_STRACE" ]; then
			local bad=
			grep -Eq '^([0-9]+ +)?(setns|unshare|mount|open_tree|move_mount|fsopen|mkdirat|mknodat)\(' "$base/xmount.trace" && bad="$bad mount/namespace/create"
			grep -q 'ns/mnt' "$base/xmount.trace" && bad="$bad namespace-file"
			grep -q 'data\.txt' "$base/xmount.trace" && bad="$bad host-source"
			grep -Eq 'O_CREAT|O_WRONLY|O_RDWR|O_TRUNC' "$base/xmount.trace" && bad="$bad open-for-writing"
			grep -Eq '^([0-9]+ +)?write\((0|1|[3-9])' "$base/xmount.trace" && bad="$bad write"
			if [ -z "$bad" ]; then ok "$T ... the namespace file and the sources never opened"; else
				not_ok "$T ... the namespace file and the sources never opened" "unexpected:$bad"; fi
		else
			ok "$T ... the namespace file and the sources never opened # skip: strace is not installed"
		fi
	}
	echo changed >"$R/usr/lib/new"
	stale_case "a mount plan with a new file in a recorded directory" "/usr/lib: metadata changed" "$XR" "${X[@]}"
	rm "$R/usr/lib/new"
	record_x
	# the same metadata, other bytes in a recorded range: the content pass
	local t
	t=$(stat -c '%.9Y' "$R/usr/lib/libxm.so.1")
	printf 'XXXX' | dd of="$R/usr/lib/libxm.so.1" bs=1 seek=4100 conv=notrunc status=none
	touch -d "@$t" "$R/usr/lib/libxm.so.1"
	stale_case "a mount plan whose file content changed" "/usr/lib/libxm.so.1: content changed" "$XR" "${X[@]}"
	head -c 5000 /dev/urandom >"$R/usr/lib/libxm.so.1"
	record_x
	stale_case "a mount plan whose last expectation fails" "/opt: now resolves elsewhere" "$XR" "${X[@]}" \
		"expect-resolve /opt follow $NOTHING_SHA"
	stale_case "a mount plan whose expect-root cannot be opened" "cannot open root $base/xmount/nonexistent" \
		"expect-root $(enc "$base/xmount/nonexistent")" "expect-missing /opt/bypass"
	# expect-root is opened in the host namespace, not in the container's:
	# a rootfs only the container's namespace has is not found.
	in_ns mkdir -p "$base/xmount/nsonly"
	in_ns mount -t tmpfs tmpfs "$base/xmount/nsonly"
	before_mi=$(ns_mountinfo)
	mkplan "$P" "$R" "expect-root $(enc "$base/xmount/nsonly")" "expect-missing /x" "${M[@]}"
	in_ns mkdir "$base/xmount/nsonly/x"
	run_helper "$P"
	expect_success "$T expect-root is the host's view (the container's tmpfs there is not seen)"
	undo_xmount
	in_ns umount "$base/xmount/nsonly"
}

# ============================================================================
# Per-mode suites
# ============================================================================

suite() {
	local T="[$MODE]"
	local base=$SCRATCH/$MODE
	mkdir -p "$base"
	start_ns

	# --- the mode is the one forced --------------------------------------
	local resolver=openat2 api=open_tree/move_mount
	case $MODE in no-openat2 | compat) resolver="component walk" ;; esac
	case $MODE in no-mount-api | compat) api=classic ;; esac
	local R=$base/mode/root
	mkdir -p "$R"
	mkplan "$base/mode.plan" "$R" "tmpfs /t 0755" "mkdir /t/a/b/c 0700" "bind $(enc "$HOST/data.txt") /t/a/f ro"
	run_helper "$base/mode.plan" -v
	if [ "$RC" = 0 ] && printf '%s\n' "$ERR" | grep -q "; resolver $resolver; mount API $api\$"; then
		ok "$T -v reports resolver $resolver, mount API $api"
	else not_ok "$T -v reports resolver $resolver, mount API $api" "exit $RC" "stderr: $ERR"; fi
	in_ns umount "$R/t/a/f" "$R/t"
	# Ground truth: the system calls made.  Those of the other mode never
	# happen.  And ensure_target resolves a deep missing target once, longest
	# prefix first, then makes each missing component relative to its parent:
	# no openat2 from the root between its first mkdirat and its last.
	if [ -n "$HAVE_STRACE" ]; then
		local trace=$base/mode.trace calls c bad= want_none= want_some=
		mkplan "$base/mode2.plan" "$R" "mkdir /x 0755" "mkdir /x/a/b/c/d 0700" "tmpfs /x/a/t 0755" \
			"bind $(enc "$HOST/data.txt") /x/a/b/f ro"
		WRAP=(strace -f -qq -o "$trace" -e trace=openat2,open_tree,move_mount,fsopen,fsmount,mount,mkdirat)
		run_helper "$base/mode2.plan"
		WRAP=()
		calls=$(sed -E 's/^[0-9]+ +//; s/\(.*//' "$trace" | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')
		if [ "$resolver" = openat2 ]; then want_some=openat2; else want_none=openat2; fi
		if [ "$api" = classic ]; then
			want_none="$want_none open_tree move_mount fsopen fsmount"
			want_some="$want_some mount"
		else
			want_some="$want_some open_tree move_mount fsopen fsmount"
		fi
		for c in $want_none; do grep -Eq "^([0-9]+ +)?$c\(" "$trace" && bad="$bad $c"; done
		for c in $want_some; do grep -Eq "^([0-9]+ +)?$c\(" "$trace" || bad="$bad no-$c"; done
		if [ "$RC" = 0 ] && [ -z "$bad" ]; then ok "$T system calls match the mode ($calls)"; else
			not_ok "$T system calls match the mode" "exit $RC" "unexpected:$bad" "calls: $calls" "stderr: $ERR"; fi
		if [ "$resolver" = openat2 ]; then
			# lookups in the root, and creations: mkdir /x is 1 lookup, 1 mkdirat;
			# mkdir /x/a/b/c/d is 5 lookups (d, c, b, a missing; /x found), then 4 mkdirat
			local seq
			seq=$(grep -E '^([0-9]+ +)?(mkdirat\(|openat2\(.*RESOLVE_IN_ROOT)' "$trace" |
				sed -E 's/^[0-9]+ +//; s/\(.*//' | tr '\n' ' ')
			case $seq in
			"openat2 mkdirat openat2 openat2 openat2 openat2 openat2 mkdirat mkdirat mkdirat mkdirat "*)
				ok "$T a deep target is looked up once, longest prefix first, then created by descriptor" ;;
			*) not_ok "$T a deep target is looked up once, longest prefix first, then created by descriptor" \
				"openat2/mkdirat sequence: $seq" ;;
			esac
		fi
		in_ns umount "$R/x/a/b/f" "$R/x/a/t"
	else
		ok "$T system calls match the mode # skip: strace is not installed"
	fi

	# --- the report of what was created (stdout) ---------------------------
	# One line per entry ensure_target made, in creation order, stat'ed by
	# descriptor before anything is mounted on it: the hook records exactly
	# these.  stat_line ENTRY [PATH [SIZE]]: the line stat gives of ENTRY now
	# (a directory with the size of an empty one on this file system, or
	# SIZE: it was empty when created).
	R=$base/report/root
	mkdir -p "$R/opt" "$R/real" "$base/report/empty"
	ln -s /real "$R/via"
	local dsize
	dsize=$(stat -c %s "$base/report/empty")
	stat_line() {
		local f=$1 p=${2:-${1#"$R"}} m i d s w
		read -r m i d s w <<<"$(in_ns stat -c '%f %i %Hd:%Ld %s %W' "$f")"
		[ "$((16#$m & 0170000))" != $((8#40000)) ] || s=${3:-$dsize}
		case $w in 0 | -) w=0 ;; *) w=$(in_ns stat -c '%.9W' "$f"); w=$((${w%.*} * 1000000000 + 10#${w#*.})) ;; esac
		printf 'created %s %o %s %s %s %s\n' "$p" "$((16#$m))" "$i" "${d/:/ }" "$s" "$w"
	}
	mkplan "$base/r1.plan" "$R" "bind $(enc "$HOST/data.txt") /opt/a/b/lib.so ro"
	run_helper "$base/r1.plan"
	expect_success "$T report: a file mount point under two missing directories"
	check "$T report: three lines, parent, directory, file, in creation order" \
		test "$(cut -d' ' -f1-2 "$SCRATCH/stdout" | tr '\n' ,)" = "created /opt/a,created /opt/a/b,created /opt/a/b/lib.so,"
	check "$T report: each line is 'created PATH MODE INO MAJOR MINOR SIZE BIRTH_NS'" \
		test "$(grep -Ec '^created /[^ ]+ [0-7]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+$' "$SCRATCH/stdout")" = 3
	local fline
	fline=$(sed -n 3p "$SCRATCH/stdout")
	check "$T report: the file's line was taken before the bind (not the source's inode)" \
		test "$(echo "$fline" | cut -d' ' -f4)" != "$(stat -c %i "$HOST/data.txt")"
	in_ns umount "$R/opt/a/b/lib.so"
	local want
	want=$(stat_line "$R/opt/a"; stat_line "$R/opt/a/b"; stat_line "$R/opt/a/b/lib.so")
	if [ "$OUTPUT" = "$want" ]; then ok "$T report: mode, inode, device, size, birth time as stat gives them after the unmount"; else
		not_ok "$T report: mode, inode, device, size, birth time as stat gives them after the unmount" "want: $want" "got:  $OUTPUT"; fi
	check "$T report: modes 40755, 40755, 100444" test "$(cut -d' ' -f3 "$SCRATCH/stdout" | tr '\n' ' ')" = "40755 40755 100444 "
	if case $(stat -c %W "$R/opt/a/b/lib.so") in 0 | -) false ;; esac then
		check "$T report: birth_ns is non-zero where the file system has a birth time" test "$(echo "$fline" | cut -d' ' -f8)" != 0
	else ok "$T report: birth_ns is non-zero where the file system has a birth time # skip: no btime here"; fi
	run_helper "$base/r1.plan"
	expect_success "$T report: the same plan again"
	check "$T ... an existing target reports nothing" test ! -s "$SCRATCH/stdout"
	in_ns umount "$R/opt/a/b/lib.so"

	# A tmpfs mount point, and a mkdir inside the tmpfs (its device).
	mkplan "$base/r2.plan" "$R" "tmpfs /t 0755" "mkdir /t/in 0700" "mkdir /opt 0755"
	run_helper "$base/r2.plan"
	want=$(stat_line "$R/t/in" /t/in "$(in_ns stat -c %s "$R/t/in")") # still empty, in the tmpfs
	in_ns umount "$R/t"
	want="$(stat_line "$R/t")
$want"
	if [ "$RC" = 0 ] && [ "$OUTPUT" = "$want" ]; then ok "$T report: tmpfs mount point and a directory inside the tmpfs"; else
		not_ok "$T report: tmpfs mount point and a directory inside the tmpfs" "exit $RC" "want: $want" "got:  $OUTPUT"; fi

	# The path is canonical: a symlink on the way is not in it.
	mkplan "$base/r3.plan" "$R" "mkdir /via/d/e 0700"
	run_helper "$base/r3.plan"
	want=$(stat_line "$R/real/d"; stat_line "$R/real/d/e")
	if [ "$RC" = 0 ] && [ "$OUTPUT" = "$want" ]; then ok "$T report: canonical paths (through /via -> /real)"; else
		not_ok "$T report: canonical paths (through /via -> /real)" "exit $RC" "want: $want" "got:  $OUTPUT"; fi

	# Percent-encoded like plan paths: upper-case %XX for %, space, 0x01-0x20
	# and 0x7F, other bytes raw.
	local odd=$'new\nline%\t\x7f\xc3\xa9'
	mkplan "$base/r4.plan" "$R" "mkdir /sp%20ace/new%0aline%25%09%7f"$'\xc3\xa9'" 0700"
	run_helper "$base/r4.plan"
	want=$(stat_line "$R/sp ace" "/sp%20ace"; stat_line "$R/sp ace/$odd" "/sp%20ace/new%0Aline%25%09%7F"$'\xc3\xa9')
	if [ "$RC" = 0 ] && [ "$OUTPUT" = "$want" ]; then ok "$T report: a name with a space, a newline, %, a tab, DEL and UTF-8"; else
		not_ok "$T report: a name with a space, a newline, %, a tab, DEL and UTF-8" "exit $RC" "want: $want" "got:  $OUTPUT"; fi

	# A failing plan undoes everything: nothing on stdout.
	echo regular >"$R/regfile"
	local before_r
	before_r=$(ns_tree "$R")$(ns_mountinfo)
	mkplan "$base/r5.plan" "$R" "mkdir /fa/b 0755" "bind $(enc "$HOST/data.txt") /fa/c/f ro" "tmpfs /fa/t 0755" \
		"mkdir /regfile/x 0755"
	run_helper "$base/r5.plan"
	if [ "$RC" = 13 ] && one_error_line && [ ! -s "$SCRATCH/stdout" ] && [ "$before_r" = "$(ns_tree "$R")$(ns_mountinfo)" ]; then
		ok "$T report: a plan that fails later reports nothing (everything undone)"
	else not_ok "$T report: a plan that fails later reports nothing (everything undone)" "exit $RC" "stdout: $OUTPUT" "stderr: $ERR"; fi

	# --- functional -----------------------------------------------------
	R=$base/func/root
	mkdir -p "$R/etc" "$R/var/cache/ldconfig"
	mkplan "$base/func.plan" "$R" \
		"# a comment line" "" \
		"bind $(enc "$HOST/data.txt") /opt/with%20space/data.txt ro" \
		"bind $(enc "$HOST/dir") /srv/hostdir rw" \
		"tmpfs /run/bypass 0755" \
		"mkdir /run/bypass/sub/dir 0700" \
		"bind $(enc "$HOST/data.txt") /run/bypass/sub/data.txt ro" \
		"remount-ro /run/bypass" \
		"dev /dev/null /dev/null" \
		"bind $(enc "$LIBC") /opt/bypass/lib/libc.so.6 ro" \
		"bind $(enc "$HOST/ld.conf") /etc/bypass-ld.so.conf ro" \
		"tmpfs /ldcache 0755" \
		"ldconfig $(enc "$LDCONFIG") /etc/bypass-ld.so.conf /ldcache/ld.so.cache" \
		"bind-inner /ldcache/ld.so.cache /etc/ld.so.cache ro" \
		"bind-inner /run/bypass/sub/data.txt /etc/inner-copy.txt ro"
	run_helper "$base/func.plan"
	expect_success "$T functional plan"

	local f="$R/opt/with space/data.txt" o
	check "$T bound file has the host file's content" test "$(in_ns cat "$f")" = "$DATA"
	o=$(mnt_opts "$f")
	if has_opt "$o" ro && has_opt "$o" nosuid && has_opt "$o" nodev && ! has_opt "$o" noexec; then
		ok "$T bound file is mounted ro,nosuid,nodev (not noexec)"
	else not_ok "$T bound file is mounted ro,nosuid,nodev (not noexec)" "options: $o"; fi
	check "$T bound file is read-only inside" bash -c "! nsenter -t $NSPID -m -- sh -c 'echo x >> \"\$1\"' sh '$f'"
	check "$T bound file is not visible on the host" bash -c "[ ! -s '$f' ]"

	o=$(mnt_opts "$R/srv/hostdir")
	if has_opt "$o" rw && has_opt "$o" nosuid && has_opt "$o" nodev; then
		ok "$T rw directory bind is rw,nosuid,nodev"
	else not_ok "$T rw directory bind is rw,nosuid,nodev" "options: $o"; fi
	check "$T rw directory bind shows the host directory" test "$(in_ns cat "$R/srv/hostdir/inside.txt")" = "dir content"
	check "$T rw directory bind is writable" in_ns sh -c "echo w > '$R/srv/hostdir/written.txt'"
	check "$T write through the rw bind reaches the host directory" test -f "$HOST/dir/written.txt"
	rm -f "$HOST/dir/written.txt"

	o=$(mnt_opts "$R/run/bypass")
	if [ "$(mnt_fstype "$R/run/bypass")" = tmpfs ] && has_opt "$o" ro && has_opt "$o" nosuid && has_opt "$o" nodev; then
		ok "$T tmpfs mounted, then remounted ro,nosuid,nodev"
	else not_ok "$T tmpfs mounted, then remounted ro,nosuid,nodev" "options: $o"; fi
	check "$T directory created inside the tmpfs with its mode" test "$(in_ns stat -c %a "$R/run/bypass/sub/dir")" = 700
	check "$T file bound inside the tmpfs" test "$(in_ns cat "$R/run/bypass/sub/data.txt")" = "$DATA"
	check "$T tmpfs is read-only after remount-ro" bash -c "! nsenter -t $NSPID -m -- touch '$R/run/bypass/new' 2>/dev/null"
	check "$T tmpfs contents are not on the host" test ! -e "$R/run/bypass/sub"

	check "$T dev /dev/null is a character device inside" test "$(in_ns stat -c %F "$R/dev/null")" = "character special file"
	check "$T writing to the bound /dev/null succeeds" in_ns sh -c "echo discard > '$R/dev/null'"
	o=$(mnt_opts "$R/dev/null")
	if has_opt "$o" nosuid && ! has_opt "$o" nodev; then
		ok "$T dev bind is nosuid without nodev"
	else not_ok "$T dev bind is nosuid without nodev" "options: $o"; fi

	check "$T bind-inner shows the inner file at its target" test "$(in_ns cat "$R/etc/inner-copy.txt")" = "$DATA"
	o=$(mnt_opts "$R/etc/inner-copy.txt")
	if has_opt "$o" ro && has_opt "$o" nosuid && has_opt "$o" nodev; then
		ok "$T bind-inner is ro,nosuid,nodev"
	else not_ok "$T bind-inner is ro,nosuid,nodev" "options: $o"; fi
	check "$T no aux-cache written into the root" test ! -e "$R/var/cache/ldconfig/aux-cache"

	check "$T ldconfig produced a cache" in_ns test -s "$R/etc/ld.so.cache"
	local listing
	listing=$(in_ns ldconfig -p -C "$R/etc/ld.so.cache" 2>&1)
	if printf '%s\n' "$listing" | grep -q '=> /opt/bypass/lib/libc.so.6$'; then
		ok "$T ldconfig cache lists the bound library"
	else not_ok "$T ldconfig cache lists the bound library" "ldconfig -p: $listing"; fi

	# --- hostile: symlinks out of the rootfs --------------------------------
	R=$base/hostile/root
	mkdir -p "$R/usr" "$R/chain" "$R/chain40" "$R/realdir"
	ln -s "$HOSTDIR" "$R/opt"
	ln -s "../../../../../../../../..$HOSTDIR" "$R/etc"
	ln -s / "$R/usr/lib"
	ln -s "$HOSTDIR/lib.so" "$R/dangling.so"
	local i
	for i in $(seq 1 40); do ln -s "l$((i + 1))" "$R/chain/l$i"; done
	ln -s "$HOSTDIR" "$R/chain/l41"
	for i in $(seq 1 39); do ln -s "l$((i + 1))" "$R/chain40/l$i"; done
	ln -s /realdir "$R/chain40/l40"

	# A symlink whose re-rooted target does not exist inside the root is
	# refused (like mkdir -p, nothing is created through a dangling link).
	mkplan "$base/h0.plan" "$R" "bind $(enc "$HOST/data.txt") /opt/lib/libx.so ro" "mkdir /etc/sub 0755"
	local before_tree before_mi
	before_tree=$(ns_tree "$R")
	before_mi=$(ns_mountinfo)
	run_helper "$base/h0.plan"
	expect_rc "$T bind through a symlink to a host dir that is missing in the root is refused" 13
	check "$T ... one error line" one_error_line
	check "$T ... host dir untouched" hostdir_untouched
	check "$T ... nothing created, nothing mounted" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	# Once the re-rooted target exists inside the root, the same plans land there.
	mkdir -p "$R$HOSTDIR"
	mkplan "$base/h1.plan" "$R" "bind $(enc "$HOST/data.txt") /opt/lib/libx.so ro"
	run_helper "$base/h1.plan"
	expect_success "$T bind through absolute symlink to a host dir stays in the root"
	check "$T ... host dir untouched" hostdir_untouched
	check "$T ... landed re-rooted inside the rootfs" test "$(in_ns cat "$R$HOSTDIR/lib/libx.so")" = "$DATA"

	mkplan "$base/h2.plan" "$R" "mkdir /etc/sub 0755" "tmpfs /etc/tmp 0755"
	run_helper "$base/h2.plan"
	expect_success "$T mkdir/tmpfs through ../../.. symlink stay in the root"
	check "$T ... host dir untouched" hostdir_untouched
	check "$T ... created inside the rootfs" test -d "$R$HOSTDIR/sub"

	mkplan "$base/h3.plan" "$R" "tmpfs /usr/lib/$UNIQUE 0755" "bind $(enc "$HOST/data.txt") /usr/lib/$UNIQUE-f ro"
	run_helper "$base/h3.plan"
	expect_success "$T targets under usr/lib -> / stay in the root"
	check "$T ... nothing created in the host's /" test ! -e "/$UNIQUE" -a ! -e "/$UNIQUE-f"
	check "$T ... nothing mounted on the host's / paths in the namespace" \
		test -z "$(mnt_opts "/$UNIQUE")$(mnt_opts "/$UNIQUE-f")"
	check "$T ... tmpfs is at the re-rooted place" test "$(mnt_fstype "$R/$UNIQUE")" = tmpfs

	mkplan "$base/h4.plan" "$R" "bind $(enc "$HOST/data.txt") /chain/l1/x ro"
	before_tree=$(ns_tree "$R")
	before_mi=$(ns_mountinfo)
	run_helper "$base/h4.plan"
	expect_rc "$T 41-link chain is refused" 13
	check "$T ... one error line" one_error_line
	check "$T ... host dir untouched" hostdir_untouched
	check "$T ... nothing created, nothing mounted" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/h5.plan" "$R" "bind $(enc "$HOST/data.txt") /chain40/l1/x ro"
	run_helper "$base/h5.plan"
	expect_success "$T 40-link chain inside the root is followed"
	check "$T ... bound at the chain's end" test "$(in_ns cat "$R/realdir/x")" = "$DATA"

	# bind-inner's source is resolved inside the root too: a link to a host
	# file that the root does not have is refused, never read from the host.
	ln -s /etc/hostname "$R/leak"
	mkplan "$base/hi.plan" "$R" "bind-inner /leak /realdir/leaked ro"
	before_tree=$(ns_tree "$R")
	before_mi=$(ns_mountinfo)
	run_helper "$base/hi.plan"
	expect_rc "$T bind-inner of a link to a host file is refused" 13
	check "$T ... nothing created, nothing mounted" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/h6.plan" "$R" "bind $(enc "$HOST/data.txt") /dangling.so ro"
	before_tree=$(ns_tree "$R")
	before_mi=$(ns_mountinfo)
	run_helper "$base/h6.plan"
	expect_rc "$T bind onto a dangling symlink to a host path is refused" 13
	check "$T ... host dir untouched, nothing created or mounted" \
		test "$(hostdir_untouched && echo y)$before_tree$before_mi" = "y$(ns_tree "$R")$(ns_mountinfo)"

	# Partial lookup: a dangling link in the middle of an existing prefix
	# stops creation there; a deep target under usr/lib -> / is created
	# component by component inside the root, with 0755 parents.
	ln -s "$HOSTDIR/nowhere" "$R/realdir/dl"
	mkplan "$base/hp1.plan" "$R" "mkdir /realdir/dl/a/b 0755"
	before_tree=$(ns_tree "$R")
	before_mi=$(ns_mountinfo)
	run_helper "$base/hp1.plan"
	expect_rc "$T mkdir below a dangling link inside an existing directory is refused" 13
	check "$T ... the error names the link" bash -c "printf '%s\n' \"\$1\" | grep -q ': /realdir/dl exists but does not resolve inside the root'" _ "$ERR"
	check "$T ... host dir untouched, nothing created or mounted" \
		test "$(hostdir_untouched && echo y)$before_tree$before_mi" = "y$(ns_tree "$R")$(ns_mountinfo)"
	mkplan "$base/hp2.plan" "$R" "mkdir /usr/lib/$UNIQUE-d/a/b 0700"
	run_helper "$base/hp2.plan"
	expect_success "$T deep mkdir under usr/lib -> / stays in the root"
	check "$T ... nothing created in the host's /" test ! -e "/$UNIQUE-d"
	check "$T ... parents 0755, the target with its mode, re-rooted" \
		test "$(stat -c %a "$R/$UNIQUE-d" "$R/$UNIQUE-d/a" "$R/$UNIQUE-d/a/b" | tr '\n' ' ')" = "755 755 700 "

	printf 'bypass-plan 1\nns %s\nroot %s\nbind %s /realdir/../../../../../../%s ro\n' \
		"$NSPID" "$(enc "$R")" "$(enc "$HOST/data.txt")" "${HOSTDIR#/}/x" >"$base/h7.plan"
	before_tree=$(ns_tree "$R")
	run_helper "$base/h7.plan"
	expect_rc "$T .. chain in a target is refused" 10
	check "$T ... host dir untouched, nothing created" \
		test "$(hostdir_untouched && echo y)$before_tree" = "y$(ns_tree "$R")"

	# magic links: a procfs inside the rootfs (as runc has at prestart)
	mkdir -p "$R/proc"
	in_ns mount -t proc proc "$R/proc"
	# the sleeper stands in for runc init: same capabilities as the helper
	ln -s "/proc/$NSPID/root$HOSTDIR" "$R/magic"
	mkplan "$base/h8.plan" "$R" "mkdir /magic/sub 0755" "bind $(enc "$HOST/data.txt") /magic/f ro"
	run_helper "$base/h8.plan"
	if [ "$RC" = 0 ] || [ "$RC" = 13 ]; then ok "$T procfs magic link in a target: refused or re-rooted (exit $RC)"; else
		not_ok "$T procfs magic link in a target: refused or re-rooted" "exit $RC" "stderr: $ERR"; fi
	check "$T ... host dir untouched" hostdir_untouched

	mkplan "$base/h9.plan" "$R" \
		"bind $(enc "$HOST/ld.conf") /conf/ld.conf ro" \
		"ldconfig $(enc "$LDCONFIG") /conf/ld.conf /magic/ld.so.cache"
	before_tree=$(ns_tree "$R")
	before_mi=$(ns_mountinfo)
	run_helper "$base/h9.plan"
	expect_rc "$T ldconfig cannot write through a procfs magic link" 16
	check "$T ... one error line" one_error_line
	check "$T ... host dir untouched" hostdir_untouched
	check "$T ... rolled back" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/h10.plan" "$R" \
		"bind $(enc "$HOST/ld.conf") /conf/ld.conf ro" \
		"tmpfs /opt 0755" \
		"ldconfig $(enc "$LDCONFIG") /conf/ld.conf /opt/ld.so.cache"
	run_helper "$base/h10.plan"
	expect_success "$T ldconfig cache through an absolute symlink stays in the root"
	check "$T ... host dir untouched" hostdir_untouched
	check "$T ... cache written re-rooted" in_ns test -s "$R$HOSTDIR/ld.so.cache"
	in_ns umount "$R/proc"

	# --- failures in the middle roll back -----------------------------------
	R=$base/undo/root
	mkdir -p "$R/etc"
	echo regular >"$R/regfile"
	before_tree=$(ns_tree "$R")
	before_mi=$(ns_mountinfo)
	local prefix=("tmpfs /t 0755" "mkdir /a/b/c 0755" "bind $(enc "$HOST/data.txt") /x/y/data ro"
		"dev /dev/null /d/null" "bind $(enc "$HOST/dir") /srv/dir rw" "mkdir /t/inner 0755")

	mkplan "$base/u1.plan" "$R" "${prefix[@]}" "bind $(enc "$SCRATCH/does-not-exist") /z ro" "mkdir /never 0755"
	run_helper "$base/u1.plan"
	expect_rc "$T missing bind source" 11
	check "$T ... one error line naming the directive's line" bash -c "printf '%s\n' \"\$1\" | grep -q '^bypass-mount-helper: 10: '" _ "$ERR"
	check "$T ... nothing done" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/u2.plan" "$R" "${prefix[@]}" "bind $(enc "$HOST/data.txt") /regfile/x ro" "mkdir /never 0755"
	run_helper "$base/u2.plan"
	expect_rc "$T target whose parent is a regular file" 13
	check "$T ... one error line" one_error_line
	check "$T ... nothing on stdout" test ! -s "$SCRATCH/stdout"
	check "$T ... everything rolled back" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/u3.plan" "$R" "${prefix[@]}" "bind $(enc "$HOST/dir") /regfile rw"
	run_helper "$base/u3.plan"
	expect_rc "$T directory bound onto a regular file" 14
	check "$T ... one error line" one_error_line
	check "$T ... everything rolled back" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/u4.plan" "$R" "${prefix[@]}" "bind $(enc "$HOST/ld.conf") /etc/ld.conf ro" \
		"ldconfig $(enc "$LDCONFIG") /etc/ld.conf /no/such/dir/ld.so.cache"
	run_helper "$base/u4.plan"
	expect_rc "$T failing ldconfig" 16
	check "$T ... one error line" one_error_line
	check "$T ... nothing on stdout (not ldconfig's output either)" test ! -s "$SCRATCH/stdout"
	check "$T ... everything rolled back" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/u5.plan" "$R" "${prefix[@]}" "dev $(enc "$HOST/data.txt") /dev/data"
	run_helper "$base/u5.plan"
	expect_rc "$T dev of a non-device" 15
	check "$T ... nothing done" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	mkplan "$base/u6.plan" "$R" "${prefix[@]}" "remount-ro /t" "tmpfs /t 0755" "mkdir /regfile/x 0755"
	run_helper "$base/u6.plan"
	expect_rc "$T failure after remount-ro and a stacked tmpfs" 13
	# /t/inner cannot be removed from the read-only tmpfs: the rollback is
	# incomplete, and the report names what it left (the tmpfs went anyway).
	if printf '%s\n' "$ERR" | grep -Fq ' (rollback incomplete): ' &&
		[ "$(cut -d' ' -f1-3 "$SCRATCH/stdout")" = "created /t/inner 40755" ]; then
		ok "$T ... the entry the rollback could not remove is reported"
	else not_ok "$T ... the entry the rollback could not remove is reported" "stdout: $OUTPUT" "stderr: $ERR"; fi
	check "$T ... everything rolled back" test "$before_tree$before_mi" = "$(ns_tree "$R")$(ns_mountinfo)"

	expect_suite "$T" "$base" "$resolver"
	expect_mount_suite "$T" "$base" "$resolver"

	check "$T host mount table unchanged" test "$(mi_fields "$HOST_MI_BEFORE")" = "$(mi_fields /proc/$$/mountinfo)"
}

for MODE in default no-openat2 no-mount-api compat; do
	suite
done

# ============================================================================
# Plan syntax and namespace errors (mode-independent)
# ============================================================================

MODE=default
start_ns
R=$SCRATCH/plan/root
mkdir -p "$R"
P=$SCRATCH/bad.plan
H="bypass-plan 1"
N="ns $NSPID"
RT="root $(enc "$R")"
bad_plan() { # NAME then the plan text via stdin
	cat >"$P"
	run_helper "$P"
	if [ "$RC" = 10 ] && one_error_line; then ok "malformed plan: $1 (exit 10, one line)"; else
		not_ok "malformed plan: $1 (exit 10, one line)" "exit $RC" "stderr: $ERR"; fi
}
printf '%s\n%s\nmkdir /a 0755\n' "$N" "$RT" | bad_plan "missing header"
printf 'bypass-plan 2\n%s\n%s\n' "$N" "$RT" | bad_plan "unsupported version"
printf '' | bad_plan "empty input"
printf '%s\n%s\n%s\nfrobnicate /a\n' "$H" "$N" "$RT" | bad_plan "unknown directive"
printf '%s\n%s\n%s\nmkdir a/b 0755\n' "$H" "$N" "$RT" | bad_plan "relative target"
printf '%s\n%s\n%s\nbind relative/src /a ro\n' "$H" "$N" "$RT" | bad_plan "relative source"
printf '%s\n%s\n%s\nmkdir /a%%zz 0755\n' "$H" "$N" "$RT" | bad_plan "bad percent escape"
printf '%s\n%s\n%s\nmkdir /a%%2 0755\n' "$H" "$N" "$RT" | bad_plan "truncated percent escape"
printf '%s\n%s\n%s\nmkdir /a%%00b 0755\n' "$H" "$N" "$RT" | bad_plan "encoded NUL"
printf '%s\n%s\n%s\nmkdir /a\0b 0755\n' "$H" "$N" "$RT" | bad_plan "raw NUL byte"
printf '%s\n%s\n%s\nmkdir /a\tb 0755\n' "$H" "$N" "$RT" | bad_plan "raw control character"
printf '%s\n%s\n%s\nmkdir  /a 0755\n' "$H" "$N" "$RT" | bad_plan "double space"
printf '%s\n%s\n%s\nmkdir /a 0755 \n' "$H" "$N" "$RT" | bad_plan "trailing space"
printf '%s\n%s\n%s\nmkdir /a 0755 extra\n' "$H" "$N" "$RT" | bad_plan "extra field"
printf '%s\n%s\n%s\nmkdir /a\n' "$H" "$N" "$RT" | bad_plan "missing field"
printf '%s\n%s\n%s\nmkdir /a 0799\n' "$H" "$N" "$RT" | bad_plan "bad octal mode"
printf '%s\n%s\n%s\nmkdir /a 17777\n' "$H" "$N" "$RT" | bad_plan "mode out of range"
printf '%s\n%s\n%s\nbind /etc/hostname /a rx\n' "$H" "$N" "$RT" | bad_plan "bad ro/rw"
printf '%s\n%s\n%s\nmkdir /a/../b 0755\n' "$H" "$N" "$RT" | bad_plan ".. in a target"
printf '%s\n%s\n%s\nmkdir / 0755\n' "$H" "$N" "$RT" | bad_plan "target is the root"
printf '%s\n%s\n%s\nremount-ro /t\n' "$H" "$N" "$RT" | bad_plan "remount-ro without tmpfs"
printf '%s\n%s\nmkdir /a 0755\n' "$H" "$N" | bad_plan "missing root"
printf '%s\n%s\n%s\n' "$H" "$RT" "$N" | bad_plan "root before ns"
printf '%s\n%s\n%s\n%s\n' "$H" "$N" "$RT" "$RT" | bad_plan "duplicate root"
printf '%s\n%s\n%s\n%s\n' "$H" "$N" "$RT" "$N" | bad_plan "duplicate ns"
printf '%s\nns 12ab\n%s\n' "$H" "$RT" | bad_plan "bad pid"
printf '%s\n%s\nroot /\n' "$H" "$N" | bad_plan "root is /"
{ printf '%s\n%s\n%s\n# ' "$H" "$N" "$RT"; head -c 16400 /dev/zero | tr '\0' x; printf '\n'; } | bad_plan "line over 16 KiB"
{ printf '%s\n%s\n%s\n' "$H" "$N" "$RT"; yes '#' | head -n 100000; } | bad_plan "more than 100000 lines"
{ printf '%s\n%s\n%s\n' "$H" "$N" "$RT"; yes '#' | head -n 99990; } >"$P"
run_helper "$P"
expect_success "100000 lines of which most are comments"
printf '%s\r\n%s\n%s\n' "$H" "$N" "$RT" | bad_plan "CRLF line ends"

# Each field of each directive has its own message: the exact line, which the
# Java side and operators read, is part of the format.
plan_message() { # NAME EXPECTED-LINE, the directive on stdin (after header, ns, root)
	{ printf '%s\n%s\n%s\n' "$H" "$N" "$RT"; cat; } >"$P"
	run_helper "$P"
	if [ "$RC" = 10 ] && [ "$ERR" = "bypass-mount-helper: $2" ]; then ok "plan message: $1"; else
		not_ok "plan message: $1" "exit $RC" "want: bypass-mount-helper: $2" "got:  $ERR"; fi
}
EI=": Invalid argument"
echo "ns 1" | plan_message "duplicate ns" "4: duplicate ns directive$EI"
echo "tmpfs /t" | plan_message "field count" "4: tmpfs takes 2 field(s), got 1$EI"
echo "remount-ro /t%2" | plan_message "remount-ro target" "4: target: bad percent escape$EI"
echo "tmpfs /t 8" | plan_message "tmpfs mode" "4: bad octal mode \"8\"$EI"
echo "mkdir /d/./../e 0755" | plan_message "mkdir target" "4: target: \"..\" component in a path inside the root$EI"
echo "bind rel /t ro" | plan_message "bind source" "4: source: not an absolute path$EI"
echo "bind /s /t%00 ro" | plan_message "bind target" "4: target: NUL byte (%00) in a path$EI"
echo "bind /s /t RO" | plan_message "bind ro/rw" "4: expected ro or rw, got \"RO\"$EI"
echo "bind-inner /s/.. /t rw" | plan_message "bind-inner source (inside the root)" "4: source: \"..\" component in a path inside the root$EI"
echo "bind-inner /s / rw" | plan_message "bind-inner target" "4: target: path names the root itself$EI"
echo "bind-inner /s /t r" | plan_message "bind-inner ro/rw" "4: expected ro or rw, got \"r\"$EI"
echo "dev /dev/null dev/null" | plan_message "dev target" "4: target: not an absolute path$EI"
echo "dev /dev/%7" | plan_message "dev field count" "4: dev takes 2 field(s), got 1$EI"
echo "ldconfig sbin/ldconfig /c /k" | plan_message "ldconfig binary" "4: ldconfig binary: not an absolute path$EI"
echo "ldconfig /sbin/ldconfig /$(head -c 256 /dev/zero | tr '\0' c) /k" |
	plan_message "ldconfig configuration" "4: ldconfig configuration: path component too long$EI"
echo "ldconfig /sbin/ldconfig /c /" | plan_message "ldconfig cache" "4: ldconfig cache: path names the root itself$EI"
printf '%s\nns-path proc/1/ns/mnt\n%s\n' "$H" "$RT" >"$P"
run_helper "$P"
if [ "$RC" = 10 ] && [ "$ERR" = "bypass-mount-helper: 2: ns-path: not an absolute path$EI" ]; then ok "plan message: ns-path"; else
	not_ok "plan message: ns-path" "exit $RC" "got: $ERR"; fi
printf '%s\n%s\nroot /r/%%zz\n' "$H" "$N" >"$P"
run_helper "$P"
if [ "$RC" = 10 ] && [ "$ERR" = "bypass-mount-helper: 3: root: bad percent escape$EI" ]; then ok "plan message: root"; else
	not_ok "plan message: root" "exit $RC" "got: $ERR"; fi

# Validate-only plans: expect-root first, then expect-* only.
XR="expect-root $(enc "$R")"
XS=$(printf x | sha_of)
XF="expect-file /f 1 2 3 644"
printf '%s\n%s\n%s\nexpect-missing /a\n' "$H" "$N" "$RT" | bad_plan "expect-missing in a mount plan"
printf '%s\n%s\n%s\nmkdir /a 0755\nexpect-missing /a\n' "$H" "$N" "$RT" | bad_plan "expect-missing after a mount directive"
printf '%s\n%s\n%s\n%s\nbind /etc/hostname /a ro\nexpect-missing /a\n' "$H" "$N" "$RT" "$XR" | bad_plan "expect-* after a bind"
printf '%s\n%s\n%s\n%s\n%s\n' "$H" "$N" "$RT" "$XR" "$XR" | bad_plan "two expect-root in a mount plan"
printf '%s\n%s\n%s\n%s\nexpect-missing /a\n%s\n' "$H" "$N" "$RT" "$XR" "$XR" | bad_plan "a second expect-root after expectations"
printf '%s\n%s\n%s\n%s - -\n' "$H" "$N" "$RT" "$XF" | bad_plan "expect-file without expect-root"
printf '%s\n%s\n%s\n%s\n' "$H" "$N" "$XR" "$RT" | bad_plan "expect-root before root"
printf '%s\n%s\n%s\nmkdir /a 0755\n%s\n' "$H" "$N" "$RT" "$XR" | bad_plan "expect-root after a mount directive"
printf '%s\n%s\n%s\n%s\n%s - -\nmkdir /a 0755\n%s - -\n' "$H" "$N" "$RT" "$XR" "$XF" "$XF" | bad_plan "expect-file after a mount directive, with expectations before it"
printf '%s\n%s\n%s\nexpect-root /\n' "$H" "$N" "$RT" | bad_plan "expect-root is / in a mount plan"
printf '%s\n%s\n%s\n%s\n' "$H" "$N" "$RT" "$XR" >"$P"
run_helper "$P"
expect_success "a mount plan with expect-root alone and nothing to do"
printf '%s\n%s\n%s\n' "$H" "$N" "$XR" | bad_plan "expect-root second"
printf '%s\n%s\n%s\n' "$H" "$XR" "$N" | bad_plan "ns after expect-root"
printf '%s\n%s\n%s\n' "$H" "$XR" "$RT" | bad_plan "root after expect-root"
printf '%s\n%s\nmkdir /a 0755\n' "$H" "$XR" | bad_plan "mkdir in a validate-only plan"
printf '%s\n%s\nbind /etc/hostname /a ro\n' "$H" "$XR" | bad_plan "bind in a validate-only plan"
printf '%s\n%s\n%s\n' "$H" "$XR" "$XR" | bad_plan "duplicate expect-root"
printf '%s\nexpect-missing /a\n' "$H" | bad_plan "expect-missing before expect-root"
printf '%s\nexpect-root /\n' "$H" | bad_plan "expect-root is /"
printf '%s\nexpect-root rel/root\n' "$H" | bad_plan "relative expect-root"
printf '%s\n%s\nexpect-missing /a/../b\n' "$H" "$XR" | bad_plan ".. in an expectation's path"
printf '%s\n%s\nexpect-missing a\n' "$H" "$XR" | bad_plan "relative expectation path"
printf '%s\n%s\nexpect-missing /\n' "$H" "$XR" | bad_plan "expectation of the root itself"
printf '%s\n%s\nexpect-resolve /a follow %s\n' "$H" "$XR" "${XS:1}" | bad_plan "sha256 of 63 digits"
printf '%s\n%s\nexpect-resolve /a follow %s0\n' "$H" "$XR" "$XS" | bad_plan "sha256 of 65 digits"
printf '%s\n%s\nexpect-resolve /a follow %s\n' "$H" "$XR" "$(printf '%s' "$XS" | tr a-f A-F)" | bad_plan "upper-case sha256"
printf '%s\n%s\nexpect-resolve /a follow -\n' "$H" "$XR" | bad_plan "expect-resolve without a sha256"
printf '%s\n%s\nexpect-resolve /a maybe %s\n' "$H" "$XR" "$XS" | bad_plan "follow/nofollow"
printf '%s\n%s\n%s %s 0+1,2+1,1+1\n' "$H" "$XR" "$XF" "$XS" | bad_plan "unsorted ranges"
printf '%s\n%s\n%s %s 0+10,5+10\n' "$H" "$XR" "$XF" "$XS" | bad_plan "overlapping ranges"
printf '%s\n%s\n%s %s 0+10,10+10\n' "$H" "$XR" "$XF" "$XS" | bad_plan "adjacent ranges"
printf '%s\n%s\n%s %s 0+0\n' "$H" "$XR" "$XF" "$XS" | bad_plan "zero-length range"
printf '%s\n%s\n%s %s 0+1,\n' "$H" "$XR" "$XF" "$XS" | bad_plan "trailing comma in ranges"
printf '%s\n%s\n%s %s 0-1\n' "$H" "$XR" "$XF" "$XS" | bad_plan "range without +"
printf '%s\n%s\n%s %s 9223372036854775807+1\n' "$H" "$XR" "$XF" "$XS" | bad_plan "range past the largest offset"
printf '%s\n%s\n%s %s 0+67108865\n' "$H" "$XR" "$XF" "$XS" | bad_plan "one range over 64 MiB"
printf '%s\n%s\n%s %s 0+33554432\nexpect-file /g 1 2 3 644 %s 0+33554433\n' "$H" "$XR" "$XF" "$XS" "$XS" |
	bad_plan "ranges over 64 MiB in the whole plan"
{ printf '%s\n%s\n%s %s ' "$H" "$XR" "$XF" "$XS"; seq 0 2 8192 | sed 's/$/+1/' | paste -sd, -; } | bad_plan "more than 4096 ranges"
printf '%s\n%s\n%s %s -\n' "$H" "$XR" "$XF" "$XS" | bad_plan "sha256 without ranges"
printf '%s\n%s\n%s - 0+1\n' "$H" "$XR" "$XF" | bad_plan "ranges without sha256"
printf '%s\n%s\n%s - -\n' "$H" "$XR" "expect-file /f 12a 2 3 644" | bad_plan "bad inode number"
printf '%s\n%s\n%s - -\n' "$H" "$XR" "expect-file /f 18446744073709551616 2 3 644" | bad_plan "inode number over 64 bits"
printf '%s\n%s\n%s - -\n' "$H" "$XR" "expect-file /f 1 -2 3 644" | bad_plan "negative size"
printf '%s\n%s\n%s - -\n' "$H" "$XR" "expect-file /f 1 2 9223372036854775808 644" | bad_plan "mtime over 63 bits"
printf '%s\n%s\n%s - -\n' "$H" "$XR" "expect-file /f 1 2 3 0789" | bad_plan "bad octal mode in expect-file"
printf '%s\n%s\nexpect-dir /d 1 2 3 755 - -\n' "$H" "$XR" | bad_plan "expect-dir with ranges"
printf '%s\n%s\nexpect-link /l 1 2 3 777\n' "$H" "$XR" | bad_plan "expect-link without its digest field"
printf '%s\n%s\nexpect-dir /d 1 2 3 755 -\nexpect-link /l 1 2 3 777 -\nexpect-file /f 1 2 -3 644 - -\n' "$H" "$XR" >"$P"
run_helper "$P"
if [ "$RC" = 17 ]; then ok "a well-formed validate-only plan parses (stale here: exit 17)"; else
	not_ok "a well-formed validate-only plan parses (stale here: exit 17)" "exit $RC" "stderr: $ERR"; fi
# the messages (they name the field, like every other plan error)
xplan_message() { # NAME EXPECTED-LINE, the directive on stdin (after header, expect-root)
	{ printf '%s\n%s\n' "$H" "$XR"; cat; } >"$P"
	run_helper "$P"
	if [ "$RC" = 10 ] && [ "$ERR" = "bypass-mount-helper: $2" ]; then ok "plan message: $1"; else
		not_ok "plan message: $1" "exit $RC" "want: bypass-mount-helper: $2" "got:  $ERR"; fi
}
echo "expect-resolve /a follow ${XS:1}" | xplan_message "sha256" "3: bad sha256 \"${XS:1}\" (64 lower-case hex digits)$EI"
echo "$XF $XS 0+10,10+1" | xplan_message "ranges" "3: ranges: ranges must be sorted, disjoint and not adjacent$EI"
echo "$XF $XS -" | xplan_message "sha256 without ranges" "3: expect-file takes a sha256 and its ranges, or \"-\" for both$EI"
echo "$N" | xplan_message "ns in a validate-only plan" "3: ns in a validate-only plan (only expect-* may follow expect-root)$EI"
echo "expect-missing /a" | plan_message "expect-* in a mount plan without expect-root" \
	"4: expect-missing in a mount plan without expect-root (expect-* follow expect-root, right after root)$EI"
printf 'mkdir /a 0755\n%s\n' "$XR" | plan_message "expect-root after a mount directive" \
	"5: expect-root in a mount plan must come right after root$EI"
printf '%s\nmkdir /a 0755\nexpect-missing /a\n' "$XR" | plan_message "expect-* after a mount directive" \
	"6: expect-missing after a mount directive (expect-* come before any other directive)$EI"
printf '%s\n%s\n' "$XR" "$XR" | plan_message "duplicate expect-root in a mount plan" "5: duplicate expect-root directive$EI"

ns_error() { # NAME WANT-EXIT plan-on-stdin
	cat >"$P"
	run_helper "$P"
	if [ "$RC" = "$2" ] && one_error_line; then ok "$1 (exit $2, one line)"; else
		not_ok "$1 (exit $2, one line)" "exit $RC" "stderr: $ERR"; fi
}
printf '%s\nns-path /proc/%s/ns/mnt\n%s\n' "$H" "$$" "$RT" | ns_error "refuses to join the helper's own namespace" 12
printf '%s\nns 999999999\n%s\n' "$H" "$RT" | ns_error "nonexistent pid" 12
printf '%s\nns-path %s\n%s\n' "$H" "$(enc "$HOST/data.txt")" "$RT" | ns_error "ns-path that is not a namespace" 12
printf '%s\n%s\nroot %s\n' "$H" "$N" "$(enc "$SCRATCH/plan/nonexistent")" | ns_error "nonexistent root" 12
ln -s "$R" "$SCRATCH/plan/rootlink"
printf '%s\n%s\nroot %s\n' "$H" "$N" "$(enc "$SCRATCH/plan/rootlink")" | ns_error "root path containing a symlink" 12
printf '%s\n%s\n%s\nldconfig /bin/sh /etc/ld.so.conf /etc/ld.so.cache\n' "$H" "$N" "$RT" |
	ns_error "dynamically linked ldconfig is refused" 11
printf '%s\nns-path /proc/%s/ns/mnt\n%s\nmkdir /ok 0755\n' "$H" "$NSPID" "$RT" >"$P"
run_helper "$P"
expect_success "ns-path directive"
check "ns-path plan created its directory" in_ns test -d "$R/ok"

# verbose mode: actions on stderr, still exit 0
printf '%s\n%s\n%s\nmkdir /verbose 0755\n' "$H" "$N" "$RT" >"$P"
RC=0
env -i "$HELPER" -v <"$P" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr" || RC=$?
if [ "$RC" = 0 ] && grep -q 'created directory /verbose' "$SCRATCH/stderr"; then ok "-v reports actions"; else
	not_ok "-v reports actions" "exit $RC" "stderr: $(cat "$SCRATCH/stderr")"; fi
check "-v: stdout has the report only" test "$(cut -d' ' -f1-3 "$SCRATCH/stdout")" = "created /verbose 40755"
check "-v: stderr has no report line" bash -c "! grep -q '^created ' '$SCRATCH/stderr'"

# A write error on stdout ends the report, nothing else: exit 0, silent.
if [ -w /dev/full ]; then
	printf '%s\n%s\n%s\nmkdir /full/a/b 0755\n' "$H" "$N" "$RT" >"$P"
	RC=0
	env -i "$HELPER" <"$P" >/dev/full 2>"$SCRATCH/stderr" || RC=$?
	if [ "$RC" = 0 ] && [ ! -s "$SCRATCH/stderr" ] && in_ns test -d "$R/full/a/b"; then
		ok "a write error on stdout does not fail a successful plan"
	else not_ok "a write error on stdout does not fail a successful plan" "exit $RC" "stderr: $(cat "$SCRATCH/stderr")"; fi
else
	ok "a write error on stdout does not fail a successful plan # skip: no /dev/full"
fi

# --- the end marker and the helper the launcher starts (channel.c) --------------------------------
# A plan that ends with the line end-of-plan is whole: the helper reads no more (a line sent later
# would make it a plan error) and does not wait for an end of file.
printf '%s\n%s\n%s\nmkdir /marker/a 0755\nend-of-plan\n' "$H" "$N" "$RT" >"$P"
RC=0
{ cat "$P"; sleep 2; echo "mkdir /marker/late 0755"; } | env -i timeout 10 "$HELPER" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr" || RC=$?
if [ "$RC" = 0 ] && [ ! -s "$SCRATCH/stderr" ] && in_ns test -d "$R/marker/a" && ! in_ns test -e "$R/marker/late"; then
	ok "end-of-plan: the plan runs without an end of file"
else not_ok "end-of-plan: the plan runs without an end of file" "exit $RC" "stderr: $(cat "$SCRATCH/stderr")"; fi
printf '%s\n%s\n%s\nend-of-plan\nmkdir /marker/b 0755\n' "$H" "$N" "$RT" >"$P"
run_helper "$P"
if [ "$RC" = 10 ] && one_error_line && ! in_ns test -e "$R/marker/b"; then ok "end-of-plan before the last line: a plan error, nothing done"
else not_ok "end-of-plan before the last line: a plan error, nothing done" "exit $RC" "stderr: $ERR"; fi

# --exec-with-channel: the program gets the waiting helper's stdin, stdout, stderr and status at
# 3, 4, 5 and 6, keeps its own stdin, stdout and stderr, and its exit status is the command's.
printf '%s\n%s\n%s\nmkdir /channel/a 0755\nend-of-plan\n' "$H" "$N" "$RT" >"$P"
RC=0
OUTPUT=$(echo own-stdin | env -i timeout 20 "$HELPER" --exec-with-channel /bin/sh -c \
	'cat "$1" >&3; read -r own; echo "own=$own report=$(cat <&4) err=[$(cat <&5)] $(cat <&6)"; exit 3' sh "$P" 2>"$SCRATCH/stderr") || RC=$?
case $OUTPUT in
"own=own-stdin report=created /channel "*" err=[] exit 0") good=yes ;;
*) good=no ;;
esac
if [ "$RC" = 3 ] && [ "$good" = yes ] && in_ns test -d "$R/channel/a"; then ok "--exec-with-channel: the plan on 3, the report on 4, the status on 6"
else not_ok "--exec-with-channel: the plan on 3, the report on 4, the status on 6" "exit $RC" "output: $OUTPUT" "stderr: $(cat "$SCRATCH/stderr")"; fi
RC=0
OUTPUT=$(env -i timeout 20 "$HELPER" --exec-with-channel /bin/sh -c 'exec 3>&-; echo "$(cat <&5) / $(cat <&6)"' 2>&1) || RC=$?
case $OUTPUT in
*"empty plan"*" / exit 10") good=yes ;;
*) good=no ;;
esac
if [ "$RC" = 0 ] && [ "$good" = yes ]; then ok "--exec-with-channel: no plan, nothing done (exit 10)"
else not_ok "--exec-with-channel: no plan, nothing done (exit 10)" "exit $RC" "output: $OUTPUT"; fi
# The waiting helper holds none of the command's own descriptors: its stdout ends with the program.
RC=0
OUTPUT=$(env -i timeout 5 "$HELPER" --exec-with-channel /bin/echo done 2>&1) || RC=$?
if [ "$RC" = 0 ] && [ "$OUTPUT" = done ]; then ok "--exec-with-channel: the command's stdout ends when the program exits"
else not_ok "--exec-with-channel: the command's stdout ends when the program exits" "exit $RC" "output: $OUTPUT"; fi
RC=0
OUTPUT=$(env -i "$HELPER" --exec-with-channel sh -c true 2>&1) || RC=$?
if [ "$RC" = 1 ] && [ "$OUTPUT" = "bypass-mount-helper: --exec-with-channel needs an absolute program path" ]; then
	ok "--exec-with-channel: a relative program is refused (exit 1)"
else not_ok "--exec-with-channel: a relative program is refused (exit 1)" "exit $RC" "output: $OUTPUT"; fi

check "host mount table never gained an entry" test "$(mi_fields "$HOST_MI_BEFORE")" = "$(mi_fields /proc/$$/mountinfo)"
check "nothing created in the host's /" test ! -e "/$UNIQUE"
check "host dir still empty" test -z "$(ls -A "$HOSTDIR")"

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
