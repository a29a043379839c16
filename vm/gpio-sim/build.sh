#!/usr/bin/env bash
# Builds gpio-sim.ko for the guest kernel KVER out of tree: drivers/gpio/gpio-sim.c and
# kernel/irq/irq_sim.c from Debian's linux-source-6.1 (the version of the guest's kernel),
# against the matching linux-headers-KVER. One change: irq_sim calls irq_to_desc(), which the
# kernel does not export; generic_handle_irq() does the same for a mapped interrupt.
#   vm/gpio-sim/build.sh OUT_DIR KVER KPKG_VERSION
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
out="$1" kver="$2" kpkg="$3"
[ -n "$out" ] && [ -n "$kver" ] && [ -n "$kpkg" ] || vm_die "usage: build.sh OUT_DIR KVER KPKG_VERSION"
vm_need_host_packages "linux-headers-$kver" make gcc xz-utils
srcpkg="linux-source-${kver%%.0-*}"          # 6.1.0-57-amd64 -> linux-source-6.1
mkdir -p "$VM_CACHE/dl"
deb="$VM_CACHE/dl/${srcpkg}_${kpkg}_all.deb"
if [ ! -s "$deb" ]; then
  vm_log "downloading $srcpkg $kpkg (for gpio-sim.c and irq_sim.c)"
  (cd "$VM_CACHE/dl" && apt-get download -q -o APT::Sandbox::User=root "$srcpkg=$kpkg" >/dev/null) \
    || vm_die "apt-get download $srcpkg=$kpkg failed (is it in the configured apt sources?)"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
top="$srcpkg"
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$srcpkg.tar.xz" \
  | tar -xJ -C "$work" "$top/drivers/gpio/gpio-sim.c" "$top/drivers/gpio/gpiolib.h" "$top/kernel/irq/irq_sim.c" \
  || vm_die "could not extract the gpio-sim sources from $deb"
b="$work/build"
mkdir -p "$b"
cp "$work/$top/drivers/gpio/gpio-sim.c" "$b/gpio-sim-main.c"
cp "$work/$top/drivers/gpio/gpiolib.h" "$work/$top/kernel/irq/irq_sim.c" "$b/"
cp "$(dirname "$0")/Kbuild" "$b/Kbuild"
sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$b/irq_sim.c"
grep -q 'generic_handle_irq(irqnum);' "$b/irq_sim.c" && ! grep -q 'irq_to_desc' "$b/irq_sim.c" \
  || vm_die "irq_sim.c of $kpkg no longer matches the patch (irq_to_desc call not found); update vm/gpio-sim/build.sh"
# Second change: Linux 6.1's gpio-sim frees the interrupt descriptor of a line that user space
# still has requested with edge detection (omnid's button) when the chip is unbound
# (gpio_sim_dispose_mappings -> irq_free_descs: "remove_proc_entry" warning), and the later
# free_irq() when the request is closed then writes to freed memory: slab corruption, and after
# a few rebinds a general protection fault in the next GPIO ioctl (seen in camera-turn, the second
# rebind of a run). Here a mapping that still has an action is left alone and the interrupt
# domain with it is kept (leaked, a few hundred bytes per such unbind) until nothing maps it;
# the close that comes later frees the interrupt cleanly.
perl -0pi -e 's/(\tfor \(i = 0; i < chip->gc\.ngpio; i\+\+\))\n\t\tirq_dispose_mapping\(irq_find_mapping\(chip->irq_sim, i\)\);/$1 {\n\t\tunsigned int irq = irq_find_mapping(chip->irq_sim, i);\n\n\t\tif (irq && irq_has_action(irq))\n\t\t\tcontinue;\n\t\tirq_dispose_mapping(irq);\n\t}/' "$b/gpio-sim-main.c"
perl -0pi -e 's/(\tirq_work_sync\(&work_ctx->work\);\n)/$1\tfor (unsigned int i = 0; i < work_ctx->irq_count; i++)\n\t\tif (irq_find_mapping(domain, i)) {\n\t\t\tpr_warn("irq_sim: interrupt %u still requested at removal: domain kept\\n", i);\n\t\t\treturn;\n\t\t}\n/' "$b/irq_sim.c"
grep -q 'irq_has_action(irq)' "$b/gpio-sim-main.c" && grep -q 'still requested at removal' "$b/irq_sim.c" \
  || vm_die "gpio-sim.c or irq_sim.c of $kpkg no longer match the removal patch; update vm/gpio-sim/build.sh"
log="$work/make.log"
make -C "/usr/src/linux-headers-$kver" M="$b" modules >"$log" 2>&1 || { tail -30 "$log" >&2; vm_die "gpio-sim build failed"; }
if grep -q 'WARNING: modpost' "$log"; then cat "$log" >&2; vm_die "gpio-sim: modpost warnings (undefined or unexported symbols)"; fi
modinfo -F vermagic "$b/gpio-sim.ko" | grep -q "^$kver " || vm_die "gpio-sim.ko was built for another kernel: $(modinfo -F vermagic "$b/gpio-sim.ko")"
mkdir -p "$out"
cp "$b/gpio-sim.ko" "$out/gpio-sim.ko"
vm_log "gpio-sim.ko built for $kver"
