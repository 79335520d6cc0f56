# launcher/deps.sh: the Debian packages the project needs, installed when
# missing (as root) or named (otherwise), and the CMake builds the commands
# run against. Reads ROOT, BUILD and BIN.

# Debian packages the build, the tests and the demo need. The ssh test
# uses openssh-client and dropbear-bin (binaries only: no ssh service is
# installed or started); jq reads results in the integration tests,
# procps (ps, pgrep) finds their processes, and bats runs the launcher's
# own tests (tests/launcher). taskset (--cpus) is util-linux's, an
# Essential package: every Debian has it. libmicrohttpd serves /metrics;
# prometheus is the server `up --prometheus` starts and ships promtool,
# which checks scrapes in the tests; curl scrapes (`eventide top`, the
# tests); tmux gives top a terminal in its test. slurm-client (srun,
# salloc, squeue, scancel, sstat, sacct) is what --cluster slurm drives;
# slurm-wlm (slurmctld, slurmd) and munge run the Slurm cluster of its
# test, with a configuration, key and sockets of its own. Under systemd,
# Debian enables their services: munged starts with /etc/munge's key,
# slurmd and slurmctld stay down without /etc/slurm/slurm.conf; the test
# uses none of them. jq also adds the Slurm steps to summary.json.
# libmosquitto-dev is the MQTT client of the producer, eventide-sensors
# and the sink; mosquitto is the broker `--ingest mqtt` and its test
# start; mosquitto-clients has the mosquitto_sub that creates a
# producer's session and the mosquitto_pub the test sends malformed
# payloads with. redis-tools (which redis-server depends on, named here
# because it is used directly) has the redis-cli that checks a --redis
# server answers and that the tests read the feature store and the
# sink's decision stream with. libxxhash-dev has the collector journal's
# checksum (XXH64).
APT_PACKAGES=(build-essential cmake pkg-config libzmq3-dev libmsgpack-dev
              libjansson-dev libcmocka-dev libxgboost-dev gnuplot-nox jq
              iproute2 openssh-client dropbear-bin bats procps
              libmicrohttpd-dev prometheus curl tmux
              slurm-client slurm-wlm munge redis-server redis-tools
              libhiredis-dev libmosquitto-dev mosquitto mosquitto-clients
              libxxhash-dev)

# missing_packages: the packages of APT_PACKAGES not installed, on one
# line (empty when all are, or when this is not Debian).
missing_packages() {
  local pkg missing=()
  if ! command -v dpkg-query >/dev/null 2>&1; then
    return 0 # not Debian: let the build say what is missing
  fi
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
      grep -q 'install ok installed' || missing+=("$pkg")
  done
  echo "${missing[*]-}"
}

ensure_deps() {
  local missing
  missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    info "installing missing packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
      die "apt-get install failed for: $missing"
  else
    echo "$PROG: missing packages: $missing" >&2
    echo "run this first:  sudo apt-get update && sudo apt-get install -y $missing" >&2
    exit 1
  fi
}

# build_into DIR [extra cmake args]: configure once, then an incremental
# build.
build_into() {
  local dir="$1"; shift
  mkdir -p "$dir"
  local log="$dir/build.log"
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$dir" "$@" >"$log" 2>&1 ||
      { cat "$log" >&2; die "cmake configure failed (log: $log)"; }
  fi
  cmake --build "$dir" -j "$(nproc)" >>"$log" 2>&1 ||
    { tail -n 60 "$log" >&2; die "build failed (log: $log)"; }
}

# ensure_built: the release build in BUILD, up to date.
ensure_built() {
  # Tests run the launcher against a build they made already.
  if [ "${EVENTIDE_NO_BUILD:-0}" = 1 ] && [ -x "$BIN/eventide-broker" ]; then
    return 0
  fi
  ensure_deps
  build_into "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
}
