# launcher/util.sh: the launcher's messages and exit statuses (die: 1,
# usage_error: 2), number checks and path helpers every module uses.
# Sourced by ./eventide and by the tests; reads PROG.

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }
info() { echo "$PROG: $*" >&2; }

is_number() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }

# abs_path PATH: PATH made absolute against the current directory when it
# names an existing file there; otherwise unchanged (relative to ROOT).
abs_path() {
  case "$1" in
    /*) echo "$1" ;;
    *) if [ -e "$1" ]; then echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
       else echo "$1"; fi ;;
  esac
}

# abs_dir DIR: DIR as an absolute path with '.' and '..' taken by name, as
# `cd DIR && pwd` gives it, whether or not DIR exists yet.
abs_dir() {
  case "$1" in
    /*) realpath -m -s -- "$1" ;;
    *) realpath -m -s -- "$PWD/$1" ;;
  esac
}

# now_ns: this machine's time in nanoseconds since the epoch.
now_ns() { local t="$EPOCHREALTIME"; echo "${t/./}000"; }

# nap SECONDS: sleep without starting a process. The watch loops run five
# times a second for the whole run, and an external sleep is a fork and an
# exec each time, CPU taken from the pipeline being measured. read -t on
# a pipe that never delivers (this shell holds its write end) waits the
# time out instead; a trapped signal still ends it early.
nap() {
  [ -n "${NAP_FD:-}" ] || exec {NAP_FD}<> <(:)
  read -r -t "$1" -u "$NAP_FD" 2>/dev/null || true
}
