# Sourced by build-image.sh and build-check-image.sh: the part of building a guest image
# that both share. Needs $here, $pkgroot, $kroot, $kver, $out and $inputs set.

# pack_image STAGE GZIP_LEVEL: busybox and /dev/console into STAGE, then STAGE as a newc
# initramfs plus the kernel into $out, each swapped in whole, with checksums and the
# inputs the image was made from.
pack_image() {
    local stage=$1 level=$2
    cp "$pkgroot/busybox-static/bin/busybox" "$stage/bin/busybox"
    ln -sf busybox "$stage/bin/sh"
    # The kernel opens /dev/console before /init runs; without the node init has no output.
    mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
    (cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible | gzip "-${level}n") >"$out/initrd.img.new"
    cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz.new"
    mv "$out/initrd.img.new" "$out/initrd.img"
    mv "$out/vmlinuz.new" "$out/vmlinuz"
    (cd "$out" && sha256sum vmlinuz initrd.img >SHA256SUMS)
    echo "$inputs" >"$out/inputs"
}
