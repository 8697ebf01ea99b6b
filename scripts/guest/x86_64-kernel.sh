# Sourced by the guest builders that reuse the x86_64 test guest's kernel and busybox
# (build-check-image.sh, build-lab-image.sh). Needs $here, $cache, $pkgroot and log().
#
# unpacked_x86_64_kernel: makes sure scripts/guest/build-image.sh x86_64 has unpacked the
# Debian cloud kernel and busybox (a no-op when up to date) and sets kpkg, kver and kroot.
# Exit status 3 says the packages cannot be had here (no apt, no network, not root; or
# SANDNET_OFFLINE=1, the tests' setting, and nothing unpacked): callers pass it on and the
# test skips on it. Any other failure is 1, and fails the test.
unpacked_x86_64_kernel() {
    if [ "${SANDNET_OFFLINE:-0}" = 1 ]; then
        [ -f "$cache/guest/x86_64/inputs" ] && [ -x "$pkgroot/busybox-static/bin/busybox" ] \
            || { log "offline: no x86_64 guest kernel and busybox unpacked under $cache (run scripts/setup.sh)"; return 3; }
    else
        "$here/build-image.sh" x86_64 >/dev/null \
            || { log "scripts/guest/build-image.sh x86_64 failed: no Debian cloud kernel or busybox-static"; return 3; }
    fi
    kpkg=$(sed -n 's/^\(linux-image-[^=]*\)=.*/\1/p' "$cache/guest/x86_64/inputs")
    kver=${kpkg#linux-image-}
    kroot=$pkgroot/$kpkg
    if [ -z "$kver" ] || ! [ -d "$kroot/lib/modules/$kver" ]; then
        log "no unpacked kernel in $pkgroot (from $cache/guest/x86_64/inputs)"
        [ "${SANDNET_OFFLINE:-0}" = 1 ] && { log "offline: run scripts/setup.sh"; return 3; }
        return 1
    fi
}
