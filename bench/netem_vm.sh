#!/usr/bin/env bash
# bench/netem_vm.sh: what network delay and loss (tc netem) do to Eventide's
# latency, measured for real inside a small QEMU virtual machine (KVM where
# the CPU has hardware virtualization, else TCG emulation), because the
# development machine's kernel has no sch_netem. Run on demand, never by the
# tests or CI. Needs root (/dev/kvm, namespaces inside the VM, apt-get).
#
# On the host: take a snapshot of the repository's HEAD (git clone) and build
# it outside the work tree; fetch Debian's kernel package and busybox-static
# and unpack them (the host's /boot is not touched); build an initramfs with
# the modules the VM needs; boot the kernel with the host's / shared
# read-only over 9p (tmpfs overlay for writes) and this script's run
# directory shared writable. Inside the VM (this script again, --in-vm):
# check that netem works, build the three namespaces of
# tests/integration/test_netns_hosts.sh, run `./eventide run --hosts ...`
# once per network condition, copy the results out, power off. Back on the
# host: a markdown table from the summary.json files.
set -euo pipefail

PROG="bench/netem_vm.sh"
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$(dirname "$SELF")/.." && pwd)"

# Defaults (bench/README.md and RESULTS.md explain them).
WORK=/var/cache/eventide-netem-vm
RATE=100
DURATION=20
SEEDS=1,2           # two runs per condition: the spread is part of the figure
SERVICE=exp:2ms
VM_MEM=4G
VM_SMP=2
ACCEL=auto          # kvm, tcg, or auto: kvm when the CPU has vmx/svm
BOOT_TIMEOUT=180    # seconds until the VM's init must have said it is up
TIMEOUT=""          # seconds for the whole VM; default: from the run count
KERNEL_PKG=linux-image-amd64

# The conditions: NAME|--netem value (empty: none)|extra run options.
CONDITIONS=(
  "base||"
  "cloud-delay-10ms|cloud=delay 10ms|"
  "cloud-delay-20ms|cloud=delay 20ms|"
  "edge-delay-20ms|edge=delay 20ms|"
  "cloud-delay-10ms-jitter-5ms|cloud=delay 10ms 5ms|"
  "cloud-loss-1pct|cloud=loss 1%|"
  # A delayed result also returns the worker's slot late (the broker's
  # credit): more slots separate the pure delay from the lost capacity.
  "base-slots-4||--slots 4"
  "cloud-delay-10ms-slots-4|cloud=delay 10ms|--slots 4"
  "cloud-delay-20ms-slots-4|cloud=delay 20ms|--slots 4"
  "edge-delay-20ms-slots-4|edge=delay 20ms|--slots 4"
)

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }
note() { echo "$PROG: $*" >&2; }

usage() {
  cat <<EOF
usage: bench/netem_vm.sh [options]
Boots a QEMU VM (KVM, or TCG emulation without vmx/svm) whose kernel has
sch_netem and measures Eventide's latency across three network namespaces
under each network condition. Needs root.
  --work DIR        caches, snapshot build and run directories
                    (default $WORK; keep it outside the repository)
  --rate EPS        events per second (default $RATE)
  --duration S      seconds of load per run (default $DURATION)
  --seeds LIST      seeds, one run per condition each, e.g. 1,2 (default $SEEDS)
  --service DIST    synthetic service time (default $SERVICE)
  --mem SIZE        VM memory (default $VM_MEM)
  --smp N           VM CPUs (default $VM_SMP)
  --only LIST       only these conditions, by NAME, e.g. base,cloud-loss-1pct
  --accel A         kvm, tcg or auto (default: kvm when /proc/cpuinfo shows
                    vmx/svm, else tcg emulation)
  --boot-timeout S  the VM's init must be up within S seconds (default $BOOT_TIMEOUT)
  --timeout S       hard limit for the whole VM (default: 120 s + duration
                    + 40 s per run)
  --help            this text
Conditions (NAME | --netem | extra options):
$(printf '  %s\n' "${CONDITIONS[@]}")
EOF
}

# select_conditions LIST: keep the named conditions, in their usual order.
select_conditions() {
  local want=",$1," c kept=() n
  for c in "${CONDITIONS[@]}"; do
    n="${c%%|*}"
    [[ "$want" == *",$n,"* ]] && kept+=("$c") && want="${want/,$n,/,}"
  done
  [ "$want" = "," ] || usage_error "--only: unknown condition(s) '${want:1:${#want}-2}' (see --help)"
  CONDITIONS=("${kept[@]}")
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) usage; exit 0 ;;
    esac
    local flag="$1" value="${2-}"
    [ -n "$value" ] || usage_error "$flag needs a value (see --help)"
    case "$flag" in
      --work) WORK="$value" ;;
      --rate) [[ "$value" =~ ^[1-9][0-9]*$ ]] || usage_error "--rate '$value': expected events per second"; RATE="$value" ;;
      --duration) [[ "$value" =~ ^[1-9][0-9]*$ ]] || usage_error "--duration '$value': expected seconds"; DURATION="$value" ;;
      --seeds) [[ "$value" =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_error "--seeds '$value': expected a list like 1,2"; SEEDS="$value" ;;
      --service) SERVICE="$value" ;;
      --mem) [[ "$value" =~ ^[1-9][0-9]*[MG]$ ]] || usage_error "--mem '$value': expected e.g. 4G"; VM_MEM="$value" ;;
      --smp) [[ "$value" =~ ^[1-9][0-9]*$ ]] || usage_error "--smp '$value': expected a CPU count"; VM_SMP="$value" ;;
      --accel) [[ "$value" =~ ^(auto|kvm|tcg)$ ]] || usage_error "--accel '$value': expected auto, kvm or tcg"; ACCEL="$value" ;;
      --only) select_conditions "$value" ;;
      --boot-timeout) [[ "$value" =~ ^[1-9][0-9]*$ ]] || usage_error "--boot-timeout '$value': expected seconds"; BOOT_TIMEOUT="$value" ;;
      --timeout) [[ "$value" =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout '$value': expected seconds"; TIMEOUT="$value" ;;
      *) usage_error "unknown option '$flag' (see --help)" ;;
    esac
    shift 2
  done
  case "$WORK" in /*) ;; *) WORK="$(pwd)/$WORK" ;; esac
  case "$WORK/" in "$REPO"/*) usage_error "--work '$WORK': keep it outside the repository" ;; esac
}

# ===========================================================================
# Host side
# ===========================================================================

# ensure_host_tools: qemu (and the rest, normally there) are bench-only
# packages, so they are installed here and not by ./eventide.
ensure_host_tools() {
  local -A need=([qemu-system-x86_64]=qemu-system-x86 [git]=git [jq]=jq
                 [ip]=iproute2 [tc]=iproute2 [dpkg-deb]=dpkg [apt-get]=apt
                 [timeout]=coreutils [gzip]=gzip)
  local cmd pkgs=()
  for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || pkgs+=("${need[$cmd]}")
  done
  [ "${#pkgs[@]}" -eq 0 ] && return 0
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  if [ "$(id -u)" -ne 0 ]; then
    echo "$PROG: missing: ${pkgs[*]}; install them first:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
    exit 1
  fi
  note "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
    die "apt-get install ${pkgs[*]} failed"
}

check_host() {
  # Not root: this prints the apt-get command for whatever is missing.
  ensure_host_tools
  [ "$(id -u)" -eq 0 ] || die "needs root (/dev/kvm, network namespaces in the VM, the kernel cache)"
  choose_accel
}

# choose_accel: KVM runs the stock kernel at full speed only with hardware
# virtualization (vmx/svm in /proc/cpuinfo). Some hosts' /dev/kvm is a
# software one (e.g. PVM, kvm_pvm: runs only PVM-built guest kernels; the
# Debian kernel hangs in its decompressor there), so without the flags
# the VM is emulated (TCG): slower, but netem's timing is wall-clock time.
choose_accel() {
  local hw=0
  grep -qwE 'vmx|svm' /proc/cpuinfo && hw=1
  if [ "$ACCEL" = auto ]; then
    if [ "$hw" -eq 1 ] && [ -w /dev/kvm ]; then ACCEL=kvm; else ACCEL=tcg; fi
    if [ "$ACCEL" = tcg ]; then
      note "no hardware virtualization here (no vmx/svm flag$([ -d /sys/module/kvm_pvm ] && echo '; /dev/kvm is PVM')):" \
        "emulating the VM with TCG (--accel kvm to force KVM)"
    fi
  fi
  case "$ACCEL" in
    kvm) [ -w /dev/kvm ] || die "--accel kvm: /dev/kvm is missing or not writable"
         ACCEL_ARGS=(-enable-kvm -cpu host) ;;
    tcg) ACCEL_ARGS=(-accel "tcg,thread=multi" -cpu max) ;;
  esac
}

# fetch_kernel: Debian's kernel image (modules include sch_netem, veth,
# bridge, 9p, overlay) and busybox-static, unpacked into the cache with
# dpkg-deb: nothing is installed, the host's /boot stays as it is.
fetch_kernel() {
  local pkg
  pkg="$(apt-cache depends "$KERNEL_PKG" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')"
  if [ -z "$pkg" ]; then
    note "apt-get update (no candidate for $KERNEL_PKG yet)"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    pkg="$(apt-cache depends "$KERNEL_PKG" | awk '/Depends: linux-image-/ { print $2; exit }')"
    [ -n "$pkg" ] || die "apt-cache finds no kernel behind $KERNEL_PKG"
  fi
  KVER="${pkg#linux-image-}"
  KROOT="$WORK/kernel/$KVER"
  if [ ! -f "$KROOT/.unpacked" ]; then
    note "fetching $pkg and busybox-static (apt-get download, unpacked into $KROOT)"
    rm -rf "$KROOT" && mkdir -p "$KROOT/debs"
    # -o APT::Sandbox::User=root: the cache directory is root's, not _apt's.
    (cd "$KROOT/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" busybox-static) ||
      die "apt-get download $pkg busybox-static failed"
    local deb
    for deb in "$KROOT"/debs/*.deb; do dpkg-deb -x "$deb" "$KROOT/root" || die "dpkg-deb -x $deb failed"; done
    # The package's modules.dep is made by its postinst, which did not run.
    "$KROOT/root/bin/busybox" depmod -b "$KROOT/root" "$KVER" || die "depmod failed"
    rm -rf "$KROOT/debs"
    touch "$KROOT/.unpacked"
  fi
  VMLINUZ="$KROOT/root/boot/vmlinuz-$KVER"
  BUSYBOX="$KROOT/root/bin/busybox"
  MODDIR="$KROOT/root/lib/modules/$KVER"
  { [ -f "$VMLINUZ" ] && [ -x "$BUSYBOX" ] && [ -f "$MODDIR/modules.dep" ]; } ||
    die "$KROOT is incomplete: remove it and run again"
  grep -q '^CONFIG_NET_SCH_NETEM=[ym]' "$KROOT/root/boot/config-$KVER" ||
    die "kernel $KVER is built without sch_netem"
}

# module_order MODULE...: their .ko paths with every dependency (from
# modules.dep) before the module that needs it, each once.
module_order() {
  local -A dep=() seen=()
  local line path m
  while IFS= read -r line; do
    path="${line%%:*}"; dep[$path]="${line#*:}"
  done <"$MODDIR/modules.dep"
  visit() {
    local p="$1" d
    [ -n "${seen[$p]+x}" ] && return 0
    seen[$p]=1
    for d in ${dep[$p]}; do visit "$d"; done
    echo "$p"
  }
  for m in "$@"; do
    path="$(printf '%s\n' "${!dep[@]}" | grep -E "/$m\.ko$" | head -n 1)"
    [ -n "$path" ] || die "module $m not found in $MODDIR"
    visit "$path"
  done
}

# build_initramfs: busybox, the modules in load order, and /init (below).
build_initramfs() {
  INITRD="$WORK/kernel/initrd-$KVER.gz"
  local mods=(virtio_pci 9pnet_virtio 9p overlay sch_netem veth bridge)
  local key
  key="${mods[*]} $(sha256sum <<<"$(init_script)" | cut -c1-16)"
  if [ -f "$INITRD" ] && [ "$(cat "$INITRD.key" 2>/dev/null)" = "$key" ]; then return 0; fi
  note "building the initramfs ($INITRD)"
  local d; d="$(mktemp -d "$WORK/initramfs.XXXXXX")"
  TMP_DIRS+=("$d")
  mkdir -p "$d"/{bin,proc,sys,dev,lower,rw,newroot,modules}
  cp "$BUSYBOX" "$d/bin/busybox"
  local p m n=0 order
  # A die inside the process substitution ends only that subshell, so
  # check that every wanted module made it into the list.
  mapfile -t order < <(module_order "${mods[@]}")
  for m in "${mods[@]}"; do
    printf '%s\n' "${order[@]}" | grep -qE "/$m\.ko$" || die "module $m: not in $MODDIR/modules.dep"
  done
  : >"$d/modules.list"
  for p in "${order[@]}"; do
    n=$((n + 1))
    cp "$MODDIR/$p" "$d/modules/$(printf '%02d' "$n")-$(basename "$p")"
    echo "$(printf '%02d' "$n")-$(basename "$p")" >>"$d/modules.list"
  done
  init_script >"$d/init"
  chmod 755 "$d/init"
  (cd "$d" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -9) >"$INITRD.tmp" ||
    die "cpio failed"
  mv "$INITRD.tmp" "$INITRD"
  echo "$key" >"$INITRD.key"
  rm -rf "$d"
}

# init_script: the VM's /init (busybox sh). Mounts the host's / read-only
# with a tmpfs overlay, the run directory writable at the same path, and
# hands over to this script with --in-vm. Any failure powers off at once.
init_script() {
  cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The kernel found no /dev/console in the initramfs: open it now.
exec </dev/console >/dev/console 2>&1
say() { echo "netem-vm: init: $*"; }
fail() { say "FAILED: $*"; poweroff -f; }
for m in $(cat /modules.list); do insmod "/modules/$m" || fail "insmod $m"; done
run=""
for a in $(cat /proc/cmdline); do case "$a" in eventide_run=*) run="${a#*=}" ;; esac; done
[ -n "$run" ] || fail "no eventide_run= on the kernel command line"
o9p=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$o9p,ro,cache=loose" hostroot /lower || fail "9p mount of the host's /"
mount -t tmpfs -o size=1g tmpfs /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  fail "overlay on the 9p root"
mkdir -p "/newroot$run"
mount -t 9p -o "$o9p" out "/newroot$run" || fail "9p mount of the run directory"
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail "tmpfs /tmp"
mount -t tmpfs -o mode=755 tmpfs /newroot/run || fail "tmpfs /run"
mkdir -p /newroot/run/eventide-vm && cp /bin/busybox /newroot/run/eventide-vm/busybox
for f in proc sys dev; do mount --move "/$f" "/newroot/$f" || fail "move /$f"; done
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
# udev is what usually makes these; bash's <(...) needs /dev/fd.
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
say "root ready, kernel $(uname -r), $(nproc) CPUs"
exec switch_root /newroot /bin/bash "$run/netem_vm.sh" --in-vm "$run"
EOF
}

# snapshot_build: HEAD of the repository cloned into the work dir and built
# there (the launcher's own build, EVENTIDE_BUILD outside /work/main), so
# edits in the working tree while the bench runs change nothing. Reused for
# the same commit.
snapshot_build() {
  COMMIT="$(git -C "$REPO" rev-parse HEAD)" || die "$REPO is not a git repository"
  SNAP="$WORK/snapshot-${COMMIT:0:12}"
  SRC="$SNAP/src"; BUILD="$SNAP/build"
  if [ ! -x "$BUILD/bin/eventide-broker" ] || [ ! -f "$SNAP/.built" ]; then
    note "snapshot of HEAD ${COMMIT:0:12} into $SRC, building into $BUILD"
    rm -rf "$SNAP" && mkdir -p "$SNAP"
    git clone -q --no-hardlinks "$REPO" "$SRC" || die "git clone failed"
    git -C "$SRC" checkout -q "$COMMIT"
    (cd "$SRC" && EVENTIDE_BUILD="$BUILD" ./eventide build) >"$SNAP/build.log" 2>&1 ||
      { tail -n 40 "$SNAP/build.log" >&2; die "build failed (log: $SNAP/build.log)"; }
    touch "$SNAP/.built"
  else
    note "reusing the build of ${COMMIT:0:12} in $BUILD"
  fi
  if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    note "note: the working tree has uncommitted changes; measuring HEAD ${COMMIT:0:12} only"
  fi
}

# write_config: what the VM side reads (sourced by bash there).
write_config() {
  {
    printf 'SRC=%q\nBUILD=%q\nRATE=%q\nDURATION=%q\nSEEDS=%q\nSERVICE=%q\n' \
      "$SRC" "$BUILD" "$RATE" "$DURATION" "$SEEDS" "$SERVICE"
    printf 'CONDITIONS=(\n'; printf '  %q\n' "${CONDITIONS[@]}"; printf ')\n'
  } >"$RUN/config.env"
  cp "$SELF" "$RUN/netem_vm.sh"
}

# boot_vm: the VM under a hard timeout; its serial console goes to
# RUN/console.log, whose netem-vm: lines are shown as they come.
boot_vm() {
  local nruns
  nruns=$(( ${#CONDITIONS[@]} * $(tr ',' '\n' <<<"$SEEDS" | wc -l) ))
  [ -n "$TIMEOUT" ] || TIMEOUT=$((120 + nruns * (DURATION + 40)))
  note "booting the VM (kernel $KVER, -smp $VM_SMP, -m $VM_MEM, $nruns runs, hard timeout ${TIMEOUT}s)"
  : >"$RUN/console.log"
  timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 \
    "${ACCEL_ARGS[@]}" -smp "$VM_SMP" -m "$VM_MEM" \
    -nodefaults -display none -monitor none -no-reboot \
    -serial "file:$RUN/console.log" \
    -pidfile "$RUN/qemu.pid" \
    -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 loglevel=4 eventide_run=$RUN" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot" \
    -virtfs "local,path=$RUN,mount_tag=out,security_model=none,multidevs=remap,id=out" \
    </dev/null >"$RUN/qemu.out" 2>&1 &
  VM_PID=$!
  watch_vm
  local rc=0
  wait "$VM_PID" || rc=$?
  VM_PID=""
  { [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; } || die "the VM hit the ${TIMEOUT}s timeout (console: $RUN/console.log)"
  [ "$rc" -eq 0 ] || die "qemu failed with status $rc: $(tail -n 5 "$RUN/qemu.out")"
  grep -q '^netem-vm: netem check: ok' "$RUN/console.log" ||
    die "netem does not work inside the VM (console: $RUN/console.log)"
  grep -q '^netem-vm: done rc=0' "$RUN/console.log" ||
    die "the VM side failed (console: $RUN/console.log)"
}

# watch_vm: until qemu ends, show the VM's netem-vm: lines as they come,
# give up if it has not booted within BOOT_TIMEOUT (a KVM that cannot run
# this kernel just spins), and account the host's CPU: what qemu used and
# what other work on the host took (it slows an emulated VM).
watch_vm() {
  local shown=0 n booted=0 start=$SECONDS qpid="" qcpu=0 t
  local s0 s1
  s0="$(head -n 1 /proc/stat)"
  while kill -0 "$VM_PID" 2>/dev/null; do
    sleep 1
    n="$(wc -l <"$RUN/console.log")"
    if [ "$n" -gt "$shown" ]; then
      sed -n "$((shown + 1)),${n}p" "$RUN/console.log" | tr -d '\r' |
        grep -E '^netem-vm:|Kernel panic' >&2 || true
      shown="$n"
    fi
    [ -n "$qpid" ] || qpid="$(cat "$RUN/qemu.pid" 2>/dev/null || true)"
    if [ -n "$qpid" ] && t="$(awk '{ print $14 + $15 }' "/proc/$qpid/stat" 2>/dev/null)"; then
      qcpu="$t"
    fi
    if [ "$booted" -eq 0 ]; then
      if grep -q '^netem-vm: init: root ready' "$RUN/console.log"; then
        booted=1; echo "boot_seconds: $((SECONDS - start))" >>"$RUN/info.txt"
      elif [ $((SECONDS - start)) -ge "$BOOT_TIMEOUT" ]; then
        die "the VM did not boot within ${BOOT_TIMEOUT}s with --accel $ACCEL (console: $RUN/console.log; try --accel tcg)"
      fi
    fi
  done
  s1="$(head -n 1 /proc/stat)"
  # /proc/stat counts in USER_HZ ticks, as /proc/PID/stat does.
  printf '%s\n%s\n' "$s0" "$s1" | awk -v q="$qcpu" '
    { t = 0; for (i = 2; i <= NF; i++) t += $i; tot[NR] = t; idle[NR] = $5 + $6 }
    END { dt = tot[2] - tot[1]; busy = dt - (idle[2] - idle[1])
          if (dt > 0) printf "host_cpu_pct: %.0f (qemu %.0f, other work %.0f)\n",
            100 * busy / dt, 100 * q / dt, 100 * (busy - q) / dt }' >>"$RUN/info.txt"
}

# report: two markdown tables from the summary.json files and results.txt
# (NAME|SEED|RC|NETEM|EXTRA, one line per run, written in the VM): every
# run, then each condition's mean over the seeds. A run's Δ is against the
# run without netem with the same extra options and seed.
report() {
  local name seed rc netem extra s failed=0
  local -A ref=()
  while IFS='|' read -r name seed rc netem extra; do
    s="$RUN/out/$name-seed$seed/summary.json"
    if [ -z "$netem" ] && [ "$rc" = 0 ] && [ -f "$s" ]; then ref["$extra|$seed"]="$s"; fi
  done <"$RUN/results.txt"
  : >"$RUN/runs.tsv"
  while IFS='|' read -r name seed rc netem extra; do
    s="$RUN/out/$name-seed$seed/summary.json"
    if [ "$rc" != 0 ] || [ ! -f "$s" ]; then
      note "run $name seed $seed failed (status $rc): $RUN/out/$name-seed$seed/launcher.log"
      failed=$((failed + 1)); continue
    fi
    # name, netem, extra, seed, sent, completed, lost, mean, p50, p90, p99,
    # max, queue mean, service mean, Δmean, Δp50, Δp99 (tab-separated)
    jq -r --arg n "$name" --arg ne "${netem:-none}" --arg ex "${extra:--}" --arg seed "$seed" \
      --slurpfile ref "${ref["$extra|$seed"]:-/dev/null}" '
      def d(f): if ($ref | length) == 0 then "-" else (f - ($ref[0] | f)) end;
      [ $n, $ne, $ex, $seed, .events.sent, .events.completed, .events.lost,
        .latency_ms.mean, .latency_ms.p50, .latency_ms.p90, .latency_ms.p99, .latency_ms.max,
        .stages[0].queue_ms.mean, .stages[0].service_ms.mean,
        d(.latency_ms.mean), d(.latency_ms.p50), d(.latency_ms.p99) ]
      | map(tostring) | join("\t")' "$s" >>"$RUN/runs.tsv"
  done <"$RUN/results.txt"
  awk -F'\t' '
    function f(x) { return x == "-" ? "-" : sprintf("%.1f", x) }
    BEGIN {
      print "Every run (latency in ms; Δ: against the run without netem, same options and seed):"
      print ""
      print "| condition | --netem | extra | seed | sent | completed | lost | mean | p50 | p90 | p99 | max | queue mean | service mean | Δmean | Δp50 | Δp99 |"
      print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    }
    {
      printf "| %s | %s | %s | %s | %s | %s | %s", $1, $2, $3, $4, $5, $6, $7
      for (i = 8; i <= 17; i++) printf " | %s", f($i)
      print " |"
      if (!($1 in n)) { order[++k] = $1; ne[$1] = $2; ex[$1] = $3 }
      n[$1]++; lost[$1] += $7
      for (i = 8; i <= 17; i++) { if ($i == "-") dash[$1, i] = 1; else sum[$1, i] += $i }
    }
    END {
      print ""
      print "Mean over the seeds:"
      print ""
      print "| condition | --netem | extra | runs | lost | mean | p50 | p99 | queue mean | Δmean | Δp50 | Δp99 |"
      print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      for (j = 1; j <= k; j++) {
        c = order[j]
        printf "| %s | %s | %s | %d | %d", c, ne[c], ex[c], n[c], lost[c]
        split("8 9 11 13 15 16 17", cols, " ")
        for (m = 1; m <= 7; m++) {
          i = cols[m]
          printf " | %s", ((c, i) in dash) ? "-" : f(sum[c, i] / n[c])
        }
        print " |"
      }
    }' "$RUN/runs.tsv" >"$RUN/table.md"
  cat "$RUN/table.md"
  [ "$failed" -eq 0 ] || die "$failed run(s) failed"
}

# Cleanup whatever happens: qemu (through timeout, then by its pid file)
# and the temporary directories; the run directory stays as the record.
cleanup() {
  local rc=$? qpid
  if [ -n "${VM_PID:-}" ] && kill -0 "$VM_PID" 2>/dev/null; then
    kill -TERM "$VM_PID" 2>/dev/null || true
    sleep 2
    kill -KILL "$VM_PID" 2>/dev/null || true
  fi
  if [ -n "${RUN:-}" ] && [ -f "$RUN/qemu.pid" ]; then
    qpid="$(cat "$RUN/qemu.pid" 2>/dev/null || true)"
    if [ -n "$qpid" ] && [ "$(cat "/proc/$qpid/comm" 2>/dev/null)" = qemu-system-x86 ]; then
      kill -KILL "$qpid" 2>/dev/null || true
    fi
    rm -f "$RUN/qemu.pid"
  fi
  local d
  for d in "${TMP_DIRS[@]-}"; do [ -n "$d" ] && rm -rf "$d"; done
  exit "$rc"
}

host_main() {
  parse_args "$@"
  TMP_DIRS=()
  VM_PID=""
  RUN=""
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  check_host
  mkdir -p "$WORK"
  local t0=$SECONDS
  fetch_kernel
  build_initramfs
  snapshot_build
  RUN="$WORK/runs/$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$RUN/out"
  {
    echo "command: $PROG $*"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $COMMIT"
    echo "host: $(uname -r), $(nproc) CPUs, $(awk '/^MemTotal/ {print $2}' /proc/meminfo) kB"
    echo "vm: kernel $KVER, -smp $VM_SMP, -m $VM_MEM, qemu $(qemu-system-x86_64 --version | head -n 1)"
    echo "vm_accel: $ACCEL (${ACCEL_ARGS[*]})"
    echo "load: rate $RATE ev/s poisson, duration $DURATION s, service $SERVICE, seeds $SEEDS"
    echo "loadavg_before: $(cut -d' ' -f1-3 /proc/loadavg)"
  } | tee "$RUN/info.txt" >&2
  write_config
  local tb=$SECONDS
  boot_vm
  note "VM finished in $((SECONDS - tb)) s (all of it: $((SECONDS - t0)) s)"
  { echo "vm_seconds: $((SECONDS - tb))"
    echo "loadavg_after: $(cut -d' ' -f1-3 /proc/loadavg)"; } >>"$RUN/info.txt"
  report
  note "raw results: $RUN (out/NAME-seedN/summary.json, console.log, table.md)"
}

# ===========================================================================
# VM side (PID 1 after switch_root): --in-vm RUN
# ===========================================================================

vm_say() { echo "netem-vm: $*"; }

# The VM has no init system: power off whatever happened, after a sync
# so the run directory (9p) holds everything written.
vm_exit() {
  local rc=$?
  vm_say "done rc=$rc"
  netns_down
  sync
  echo o >/proc/sysrq-trigger
  sleep 10
}

# vm_check_netem: netem must work here, or nothing below means anything.
vm_check_netem() {
  ip netns add probe
  if ! ip netns exec probe tc qdisc add dev lo root netem delay 1ms 2>"$RUN/netem-check.err"; then
    vm_say "netem check: FAILED: $(cat "$RUN/netem-check.err")"
    ip netns del probe
    exit 1
  fi
  ip netns del probe
  vm_say "netem check: ok (tc qdisc add ... netem works on $(uname -r))"
}

# vm_namespaces: the layout of tests/integration/test_netns_hosts.sh (its
# netns_lib.sh): a bridge in its own namespace, each host's veth peer on it.
vm_namespaces() {
  # shellcheck source=../tests/integration/netns_lib.sh
  . "$SRC/tests/integration/netns_lib.sh"
  netns_up "" edge core cloud
  cat >/tmp/hosts <<'EOF'
# NAME ADDRESS ROLES
edge  10.231.7.1 producer
core  10.231.7.2 broker collector
cloud 10.231.7.3 workers:synthetic=2
EOF
}

# vm_ping_check: the qdisc really delays: ICMP round trip core -> cloud
# without netem and with 10 ms on cloud (the reply leaves through it).
vm_ping_check() {
  local bb=/run/eventide-vm/busybox a b
  ping_avg() { ip netns exec core "$bb" ping -q -c 10 -i 0.1 10.231.7.3 | sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p'; }
  a="$(ping_avg)"
  ip netns exec cloud tc qdisc add dev eth0 root netem delay 10ms
  b="$(ping_avg)"
  ip netns exec cloud tc qdisc del dev eth0 root
  vm_say "ping core -> cloud: rtt avg ${a} ms plain, ${b} ms with cloud=delay 10ms"
  echo "ping_rtt_ms_plain=$a ping_rtt_ms_cloud_delay_10ms=$b" >"$RUN/ping.txt"
}

vm_runs() {
  local c name netem extra seed out rc
  local -a nargs xargs
  : >"$RUN/results.txt"
  for seed in ${SEEDS//,/ }; do
    for c in "${CONDITIONS[@]}"; do
      IFS='|' read -r name netem extra <<<"$c"
      nargs=(); [ -n "$netem" ] && nargs=(--netem "$netem")
      read -r -a xargs <<<"$extra"
      out="/tmp/out/$name-seed$seed"
      vm_say "run $name seed $seed (${netem:-no netem}${extra:+, $extra}) ..."
      rc=0
      "$SRC/eventide" run --hosts /tmp/hosts --host-cmd 'ip netns exec {host}' \
        --workflow synthetic --service "$SERVICE" --rate "$RATE" --duration "$DURATION" \
        --seed "$seed" "${nargs[@]}" "${xargs[@]}" --out "$out" \
        >"/tmp/run-$name-seed$seed.log" 2>&1 || rc=$?
      mkdir -p "$RUN/out/$name-seed$seed"
      cp -r "$out/." "$RUN/out/$name-seed$seed/" 2>/dev/null || true
      cp "/tmp/run-$name-seed$seed.log" "$RUN/out/$name-seed$seed/launcher.log"
      printf '%s|%s|%s|%s|%s\n' "$name" "$seed" "$rc" "$netem" "$extra" >>"$RUN/results.txt"
      if [ "$rc" -eq 0 ] && [ -f "$out/summary.json" ]; then
        vm_say "  $(jq -r '"sent \(.events.sent) completed \(.events.completed) lost \(.events.lost)  latency ms: mean \(.latency_ms.mean) p50 \(.latency_ms.p50) p99 \(.latency_ms.p99)"' "$out/summary.json")"
      else
        vm_say "  FAILED (status $rc): $(tail -n 3 "/tmp/run-$name-seed$seed.log" | tr '\n' ' ')"
      fi
      # No condition may leak into the next run.
      local ns
      for ns in edge core cloud; do
        if ip netns exec "$ns" tc qdisc show dev eth0 | grep -q netem; then
          vm_say "  netem left on $ns: removing it"
          ip netns exec "$ns" tc qdisc del dev eth0 root || true
        fi
      done
    done
  done
}

vm_main() {
  RUN="$1"
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C
  trap vm_exit EXIT
  cd /
  # shellcheck disable=SC1091
  . "$RUN/config.env"
  export EVENTIDE_BUILD="$BUILD" EVENTIDE_NO_BUILD=1 EVENTIDE_STATE=/tmp/eventide-state
  vm_check_netem
  vm_namespaces
  vm_ping_check
  vm_runs
}

if [ "${1-}" = --in-vm ]; then
  vm_main "$2"
else
  host_main "$@"
fi
