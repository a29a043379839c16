# Shared by the vm/ scripts (sourced, not run). Bash, set -euo pipefail in the callers.
# Where things live:
#   $VM_CACHE (default /var/cache/omnid-vm, outside any clone so a fresh CI clone reuses it)
#     dl/                      downloaded .debs (linux-source for gpio-sim)
#     image-<hash>/            one built image: vmlinuz, initrd.img, root.img, ssh key, gpio-sim.ko, manifest
#   .build/vm/run/             one run's overlay disk, console log, omni-sim log, artifacts
VM_CACHE="${OMNID_VM_CACHE:-/var/cache/omnid-vm}"
VM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$VM_DIR/.." && pwd)"

vm_log() { printf '%s vm: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
vm_die() { printf 'vm: ERROR: %s\n' "$*" >&2; exit 1; }

# The guest kernel: the ABI that bookworm's linux-image-amd64 points at, from the machine's apt
# sources (KVER like 6.1.0-57-amd64, KPKG_VERSION like 6.1.192-3).
vm_resolve_kernel() {
  local dep
  dep="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)"
  [ -n "$dep" ] || vm_die "apt knows no linux-image-amd64 (run apt-get update; are bookworm's sources configured?)"
  KVER="${dep#linux-image-}"
  KPKG_VERSION="$(apt-cache policy "$dep" | sed -n 's/^ *Candidate: //p')"
  [ -n "$KPKG_VERSION" ] && [ "$KPKG_VERSION" != "(none)" ] || vm_die "no candidate version for $dep"
  case "$KVER" in 6.1.*) ;; *) vm_die "linux-image-amd64 points at $KVER, expected bookworm's 6.1" ;; esac
}

# apt-get install of host tools that are missing (quietly; loud on failure).
vm_need_host_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  vm_log "installing host packages: ${missing[*]}"
  [ "$(id -u)" = 0 ] || vm_die "need root to apt-get install ${missing[*]}"
  local out
  out="$(mktemp)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$out" 2>&1; then
    apt-get update -q >>"$out" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$out" 2>&1 \
      || { tail -30 "$out" >&2; vm_die "apt-get install ${missing[*]} failed"; }
  fi
  rm -f "$out"
}
