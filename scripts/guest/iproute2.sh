# Sourced by the guest image builders: Debian's own iproute2 (`ip`, `tc`) for a guest, with
# the shared libraries they need and the architecture's dynamic loader, so that a guest can
# cross-check sandnet with `ip -j -d` and `tc -j -d` as the host tests do.
#
#   . scripts/guest/iproute2.sh
#   stage_iproute2 amd64|arm64 ROOT      installs ROOT/bin/ip, ROOT/bin/tc, ROOT/lib/<triplet>/*.so.*
#                                        and the loader (ROOT/lib64/ld-linux-x86-64.so.2 or
#                                        ROOT/lib/ld-linux-aarch64.so.1); prints "iproute2=<version>"
#
# The libraries are found by reading the ELF NEEDED entries of ip, tc and every library they
# pull in, and looking for each soname in the packages iproute2 depends on, then in what those
# depend on, until every soname is found (a missing one is an error, never skipped).
# Packages are downloaded with `apt-get download` into ${SANDNET_CACHE:-/var/cache/sandnet}/
# debian/<arch>/debs and unpacked into debian/<arch>/<package>/ (.version holds the version),
# the layout build-image.sh uses. With SANDNET_OFFLINE=1 nothing is looked up or downloaded:
# the newest .deb of each package already in debs/ is used, or the function fails.
# It takes debian/<arch>/.iproute2.lock (not .lock, which build-image.sh holds while it runs).

# iproute2_log MESSAGE
iproute2_log() { echo "iproute2($iproute2_arch): $*" >&2; }

# iproute2_deb PACKAGE: prints the path of the .deb to use for PACKAGE, downloading it
# unless offline. Architecture-independent packages (_all.deb) count too.
iproute2_deb() {
    local pkg=$1 version f best="" bestv=""
    if [ "${SANDNET_OFFLINE:-0}" = 1 ]; then
        for f in "$iproute2_debs/${pkg}_"*"_$iproute2_arch.deb" "$iproute2_debs/${pkg}_"*"_all.deb"; do
            [ -f "$f" ] || continue
            [ "$(dpkg-deb -f "$f" Package)" = "$pkg" ] || continue
            version=$(dpkg-deb -f "$f" Version)
            if [ -z "$bestv" ] || dpkg --compare-versions "$version" gt "$bestv"; then best=$f bestv=$version; fi
        done
        [ -n "$best" ] || { iproute2_log "offline: no $pkg .deb in $iproute2_debs (run scripts/setup.sh)"; return 1; }
        echo "$best"
        return
    fi
    version=$(apt-cache policy "$pkg:$iproute2_arch" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [ -z "$version" ] || [ "$version" = "(none)" ]; then
        iproute2_log "apt has no candidate for $pkg:$iproute2_arch"
        return 1
    fi
    for f in "$iproute2_debs/${pkg}_"*"_$iproute2_arch.deb" "$iproute2_debs/${pkg}_"*"_all.deb"; do
        [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Package)" = "$pkg" ] && [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && { echo "$f"; return; }
    done
    iproute2_log "downloading $pkg:$iproute2_arch $version"
    # apt's sandbox user cannot write to the cache; apt verifies the download either way.
    (cd "$iproute2_debs" && apt-get download -qq "$pkg:$iproute2_arch=$version" 2>&1 | grep -v "unsandboxed" >&2 || true)
    for f in "$iproute2_debs/${pkg}_"*"_$iproute2_arch.deb" "$iproute2_debs/${pkg}_"*"_all.deb"; do
        [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Package)" = "$pkg" ] && [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && { echo "$f"; return; }
    done
    iproute2_log "could not download $pkg:$iproute2_arch $version"
    return 1
}

# iproute2_unpack PACKAGE: unpacks PACKAGE into $iproute2_pkgroot/PACKAGE unless that version
# is there already; prints "PACKAGE=VERSION".
iproute2_unpack() {
    local pkg=$1 deb version dir=$iproute2_pkgroot/$1
    deb=$(iproute2_deb "$pkg") || return 1
    version=$(dpkg-deb -f "$deb" Version)
    if ! [ -f "$dir/.version" ] || [ "$(cat "$dir/.version")" != "$version" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        dpkg-deb -x "$deb" "$dir" || return 1
        echo "$version" >"$dir/.version"
    fi
    echo "$deb" >"$dir/.deb"
    echo "$pkg=$version"
}

# iproute2_depends PACKAGE: the packages PACKAGE (unpacked by iproute2_unpack) depends on that may hold a library (first of
# each set of alternatives, version constraints and :any dropped): debconf, *-bin and
# *-common packages hold none a binary links.
iproute2_depends() {
    local deb
    deb=$(cat "$iproute2_pkgroot/$1/.deb") || return 1
    { dpkg-deb -f "$deb" Depends; echo; dpkg-deb -f "$deb" Pre-Depends; } | tr ',' '\n' |
        sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep -vE -- '^debconf|-bin$|-common$' | grep . | sort -u
}

# iproute2_needed FILE: the sonames FILE's dynamic section names.
iproute2_needed() {
    readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

# iproute2_find SONAME: the library file (symlinks followed) for SONAME in an unpacked package.
iproute2_find() {
    local pkg f
    for pkg in $iproute2_considered; do
        for f in "$iproute2_pkgroot/$pkg/lib/$iproute2_triplet/$1" "$iproute2_pkgroot/$pkg/usr/lib/$iproute2_triplet/$1"; do
            if [ -e "$f" ]; then
                readlink -f "$f"
                return 0
            fi
        done
    done
    return 1
}

stage_iproute2() (
    set -euo pipefail
    iproute2_arch=${1:?usage: stage_iproute2 amd64|arm64 ROOT}
    local root=${2:?usage: stage_iproute2 amd64|arm64 ROOT}
    local cache=${SANDNET_CACHE:-/var/cache/sandnet} loader machine
    case "$iproute2_arch" in
        amd64) iproute2_triplet=x86_64-linux-gnu loader=/lib64/ld-linux-x86-64.so.2 machine="Advanced Micro Devices X86-64" ;;
        arm64) iproute2_triplet=aarch64-linux-gnu loader=/lib/ld-linux-aarch64.so.1 machine="AArch64" ;;
        *) echo "stage_iproute2: architecture $iproute2_arch is not amd64 or arm64" >&2; return 2 ;;
    esac
    iproute2_pkgroot=$cache/debian/$iproute2_arch
    iproute2_debs=$iproute2_pkgroot/debs
    mkdir -p "$iproute2_debs"
    exec 7>"$iproute2_pkgroot/.iproute2.lock"
    flock 7

    # A foreign architecture needs its package lists (build-image.sh does the same).
    if [ "${SANDNET_OFFLINE:-0}" != 1 ] && [ "$iproute2_arch" != "$(dpkg --print-architecture)" ] &&
        ! dpkg --print-foreign-architectures | grep -qx "$iproute2_arch"; then
        iproute2_log "adding the $iproute2_arch package architecture (dpkg --add-architecture $iproute2_arch)"
        flock "$cache/debian/.apt.lock" dpkg --add-architecture "$iproute2_arch"
        flock "$cache/debian/.apt.lock" apt-get update -qq
    fi

    local unpacked pkg dep soname file added
    unpacked=$(iproute2_unpack iproute2)
    local src=$iproute2_pkgroot/iproute2
    local -a binaries=("$src/bin/ip" "$src/sbin/tc")
    for file in "${binaries[@]}"; do
        [ -x "$file" ] || { iproute2_log "iproute2 has no $file"; return 1; }
        readelf -h "$file" | grep -q "Machine:.*$machine" || { iproute2_log "$file is not a $machine binary"; return 1; }
    done

    # Breadth first over package dependencies until every soname is found.
    iproute2_considered=""
    local frontier=iproute2 pending="" libs="" next
    local -A resolved=()
    for file in "${binaries[@]}"; do pending+=" $(iproute2_needed "$file" | tr '\n' ' ')"; done
    local found
    while :; do
        next="" found=0
        for soname in $pending; do
            [ -n "${resolved[$soname]:-}" ] && continue
            if file=$(iproute2_find "$soname"); then
                resolved[$soname]=$file
                libs+=" $soname"
                next+=" $(iproute2_needed "$file" | tr '\n' ' ')"
                found=1
            else
                next+=" $soname"
            fi
        done
        pending=""
        for soname in $next; do
            [ -z "${resolved[$soname]:-}" ] && pending+=" $soname"
        done
        [ -n "$pending" ] || break
        # What the libraries just found need may be in the packages seen already.
        [ "$found" = 1 ] && continue
        # Unresolved sonames left: widen to the dependencies of the packages seen so far.
        added=""
        for pkg in $frontier; do
            for dep in $(iproute2_depends "$pkg"); do
                case " $iproute2_considered $added " in *" $dep "*) continue ;; esac
                iproute2_unpack "$dep" >/dev/null || return 1
                added+=" $dep"
            done
        done
        [ -n "$added" ] || { iproute2_log "no package iproute2 depends on holds$pending"; return 1; }
        iproute2_considered+="$added"
        frontier=$added
    done

    # The loader: the PT_INTERP both binaries name, from libc6.
    local interp
    for file in "${binaries[@]}"; do
        interp=$(readelf -l "$file" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
        [ "$interp" = "$loader" ] || { iproute2_log "$file asks for loader $interp, not $loader"; return 1; }
    done
    local ldso
    ldso=$(iproute2_find "$(basename "$loader")") || { iproute2_log "libc6 has no $(basename "$loader")"; return 1; }

    mkdir -p "$root/bin" "$root/lib/$iproute2_triplet" "$root$(dirname "$loader")"
    install -m 0755 "$src/bin/ip" "$root/bin/ip"
    install -m 0755 "$src/sbin/tc" "$root/bin/tc"
    for soname in $libs; do
        install -m 0644 "${resolved[$soname]}" "$root/lib/$iproute2_triplet/$soname"
    done
    install -m 0755 "$ldso" "$root$loader"
    iproute2_log "staged ip, tc and$libs with $loader"
    echo "$unpacked"
)
