# Shared shell helpers for tools/*. Source it; it defines functions and a few variables, nothing runs.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox}"

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# JDK 25 from JAVA_HOME or Temurin's usual place; the machine's default java is older.
find_jdk() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64; do
    [ -n "$c" ] && [ -x "$c/bin/javac" ] || continue
    if "$c/bin/java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; then
      export JAVA_HOME="$c" PATH="$c/bin:$PATH"
      return 0
    fi
  done
  die "JDK 25 not found: set JAVA_HOME to a JDK 25 (for example /usr/lib/jvm/temurin-25-jdk-amd64)."
}

# Hash of the given files' contents (and names), for cache keys.
hash_inputs() {
  local f
  for f in "$@"; do printf '%s\n' "$f"; cat "$f"; done | sha256sum | cut -c1-16
}

# Installs the Debian packages named, once; root is assumed (as on our machines).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

# A KVM that boots a full Linux guest. Some machines here have /dev/kvm from the paravirtual kvm_pvm, which runs
# small test guests but not Linux (QEMU dies setting MSRs, our kernel on XRSTOR): those count as no KVM.
# SANDBOX_KVM=nested forces the nested host, SANDBOX_KVM=direct forces /dev/kvm.
has_kvm() {
  case "${SANDBOX_KVM:-auto}" in
    nested) return 1 ;;
    direct) return 0 ;;
  esac
  [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]
}
