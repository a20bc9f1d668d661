# shellcheck shell=bash
# A private apt for one Debian suite, for building test root filesystems and sysroots without
# debootstrap and without touching the host's apt: its own sources.list, lists, archive of .debs
# and an EMPTY dpkg status (apt resolves every dependency as if nothing were installed), amd64
# only. The configuration reaches apt through APT_CONFIG, which apt reads before anything else; it
# points Dir::Etc::main and Dir::Etc::parts away from /etc/apt, so nothing in the host's
# apt.conf.d applies (its Post-Invoke hooks, docker-clean; a proxy configured there neither).
# Lists are kept compressed, no source package cache: about 20 MB of lists and 40 MB of cache
# per suite besides the .debs. Signatures are checked as usual, but not the Release file's
# Valid-Until: sid's expires within days, and the mirror this machine reaches may lag behind it
# (the stable suites carry no Valid-Until, so this changes nothing for them).
#
# Source it; it defines functions and changes nothing until one is called (bash, root).
#
#   private_apt_init SUITE CACHE     make or reuse CACHE/apt/SUITE; sets PRIVATE_APT_DIR and
#                                    PRIVATE_APT_SUITE; `apt-get update` when there are no lists
#                                    yet or they are older than a week
#   private_apt ARGS...              apt-get with the private configuration
#   private_apt_update               apt-get update (prints one line to stderr)
#   private_apt_closure PKGS...      the full dependency closure of PKGS (no recommends), one
#                                    "NAME VERSION ARCH" a line, from a simulated install
#   private_apt_fetch PKGS...        download the closure of PKGS (once; lists refreshed and the
#                                    download retried once if the mirror has moved on) and print
#                                    the path of every .deb in it, one a line
#   private_apt_fetch_only PKGS...   the same for exactly PKGS, without their dependencies
#   private_apt_lock                 hold an exclusive lock on this suite's tree until the shell
#                                    exits (fd 8); concurrent builds wait for each other

private_apt_init() { # SUITE CACHE
    PRIVATE_APT_SUITE=$1
    mkdir -p "$2/apt/$1"
    PRIVATE_APT_DIR=$(cd "$2/apt/$1" && pwd)
    local d=$PRIVATE_APT_DIR
    mkdir -p "$d/etc/apt.conf.d" "$d/etc/sources.list.d" "$d/etc/preferences.d" \
        "$d/etc/trusted.gpg.d" "$d/state/lists/partial" "$d/cache" "$d/archives/partial" "$d/log"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $1 main" \
        > "$d/etc/sources.list"
    [ -f "$d/state/status" ] || : > "$d/state/status"
    cat > "$d/etc/apt.conf" <<EOF
Dir::Etc "$d/etc";
Dir::Etc::main "none";
Dir::Etc::parts "apt.conf.d";
Dir::Etc::sourcelist "sources.list";
Dir::Etc::sourceparts "sources.list.d";
Dir::Etc::preferences "preferences";
Dir::Etc::preferencesparts "preferences.d";
Dir::Etc::trusted "trusted.gpg";
Dir::Etc::trustedparts "trusted.gpg.d";
Dir::State "$d/state";
Dir::State::lists "$d/state/lists";
Dir::State::status "$d/state/status";
Dir::State::extended_states "$d/state/extended_states";
Dir::Cache "$d/cache";
Dir::Cache::srcpkgcache "";
Dir::Cache::archives "$d/archives";
Dir::Log "$d/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order { "gz"; };
Acquire::Check-Valid-Until "false";
EOF
    if ! compgen -G "$d/state/lists/*_Packages*" >/dev/null \
        || [ -n "$(find "$d/state/lists" -maxdepth 1 -name '*_Release' -mtime +7)" ]; then
        private_apt_update
    fi
}

private_apt() {
    APT_CONFIG=$PRIVATE_APT_DIR/etc/apt.conf apt-get "$@"
}

private_apt_update() {
    echo "private-apt[$PRIVATE_APT_SUITE]: apt-get update" >&2
    private_apt -qq update >&2
}

private_apt_lock() {
    exec 8>"$PRIVATE_APT_DIR.lock"
    flock 8
}

private_apt_closure() { # PKGS...
    private_apt -s -y install "$@" | _private_apt_inst
}

# "Inst libc6 (2.41-12 Debian:13.2/stable [amd64]) []" -> "libc6 2.41-12 amd64"; only NAMES if given.
_private_apt_inst() { # [NAMES...]
    awk -v names="$*" 'BEGIN { n = split(names, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
        $1 == "Inst" && (n == 0 || ($2 in want)) {
            v = $3; sub(/^\(/, "", v)
            if (match($0, /\[[a-z0-9]+\]/)) print $2, v, substr($0, RSTART + 1, RLENGTH - 2) }'
}

# The archive's file name of NAME VERSION ARCH (an epoch's ":" is "%3a" there).
_private_apt_deb() {
    echo "$PRIVATE_APT_DIR/archives/${1}_${2//:/%3a}_${3}.deb"
}

_private_apt_paths() { # reads "NAME VERSION ARCH" lines; prints the .deb paths, fails if one is missing
    local name version arch deb missing=0
    while read -r name version arch; do
        deb=$(_private_apt_deb "$name" "$version" "$arch")
        if [ -f "$deb" ]; then echo "$deb"; else echo "private-apt: missing $deb" >&2; missing=1; fi
    done
    return "$missing"
}

# MODE closure|only, PKGS...: what to fetch, its download, one retry after `apt-get update`.
_private_apt_get_debs() {
    local mode=$1 attempt list
    shift
    for attempt in 1 2; do
        if [ "$mode" = closure ]; then
            list=$(private_apt_closure "$@")
        else
            list=$(private_apt -s -y install "$@" | _private_apt_inst "$@")
        fi
        if [ -n "$list" ] && _private_apt_paths <<<"$list" >/dev/null 2>&1; then
            _private_apt_paths <<<"$list"
            return 0
        fi
        if [ "$mode" = closure ]; then
            private_apt -qq -y --download-only install "$@" >&2 || true
        else
            (cd "$PRIVATE_APT_DIR/archives" && private_apt -qq download "$@") >&2 || true
        fi
        if [ -n "$list" ] && _private_apt_paths <<<"$list" >/dev/null 2>&1; then
            _private_apt_paths <<<"$list"
            return 0
        fi
        [ "$attempt" = 2 ] || private_apt_update
    done
    echo "private-apt[$PRIVATE_APT_SUITE]: could not fetch: $*" >&2
    return 1
}

private_apt_fetch() { # PKGS...
    _private_apt_get_debs closure "$@"
}

private_apt_fetch_only() { # PKGS...
    _private_apt_get_debs only "$@"
}
