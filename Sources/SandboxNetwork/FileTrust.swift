#if canImport(Glibc)
import Glibc
#endif

/// What makes a file or directory in the state directory sandnet's own.
enum FileTrust {
    static func kind(_ st: stat) -> String {
        switch st.st_mode & S_IFMT {
        case S_IFLNK: return "is a symbolic link"
        case S_IFDIR: return "is a directory"
        case S_IFREG: return "is a regular file"
        case S_IFCHR: return "is a character device"
        case S_IFIFO: return "is a FIFO"
        case S_IFSOCK: return "is a socket"
        default: return "is not a regular file"
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
