#if canImport(Glibc)
    import Glibc
#endif

/// What makes a file or directory in the state directory sandnet's own.
enum FileTrust {
    static func kind(_ st: stat) -> String {
        "is " + (noun(st) ?? "a regular file")
    }

    /// What a file that is not a regular file is ("a directory"), or nil for a regular file.
    static func noun(_ st: stat) -> String? {
        switch st.st_mode & S_IFMT {
        case S_IFLNK: return "a symbolic link"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFREG: return nil
        default: return "a special file"
        }
    }

    /// Why a directory is not trusted, or nil.
    static func untrustedDirectory(_ st: stat) -> String? {
        if st.st_mode & S_IFMT != S_IFDIR { return kind(st) + ", not a directory" }
        if st.st_uid != geteuid() { return "is owned by uid \(st.st_uid), not by uid \(geteuid()) (the caller)" }
        if st.st_mode & 0o022 != 0 { return "is writable by group or others (mode \(octal(st.st_mode & 0o7777)))" }
        return nil
    }

    /// Why a journal or lock file is not trusted, or nil: a regular file owned by the caller, mode 0600.
    static func untrustedFile(_ st: stat) -> String? {
        if st.st_mode & S_IFMT != S_IFREG { return kind(st) + ", not a regular file" }
        if st.st_uid != geteuid() { return "is owned by uid \(st.st_uid), not by uid \(geteuid()) (the caller)" }
        if st.st_mode & 0o7777 != 0o600 { return "has mode \(octal(st.st_mode & 0o7777)), not 0600" }
        return nil
    }

    static func octal(_ mode: mode_t) -> String {
        let s = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
