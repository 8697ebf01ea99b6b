import Foundation
import NetlinkSocket

#if canImport(Glibc)
    import Glibc
#endif

// What `sandnet attach` checks of its own outputs before the first change: the guest
// description was written after the commit and a missing --exec program failed after it,
// both leaving the sandbox attached.

/// Whether a file can be written at a path (the guest description is written there
/// atomically: a temporary file beside it, then a rename).
enum WritableTarget {
    /// Why no file can be written at `path`, or nil.
    static func problem(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) == 0 {
            if st.st_mode & S_IFMT == S_IFDIR { return "\(path) is a directory" }
        } else if errno != ENOENT && errno != ENOTDIR {
            return "\(path) cannot be examined: \(errnoText(errno))"
        }
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        if stat(dir, &st) != 0 {
            let e = errno
            if e == ENOENT { return "directory \(dir) does not exist" }
            if e == ENOTDIR { return problem(dir) ?? "\(dir) is not a directory" }
            return "directory \(dir) cannot be examined: \(errnoText(e))"
        }
        if st.st_mode & S_IFMT != S_IFDIR { return "\(dir) is not a directory" }
        if access(dir, W_OK | X_OK) != 0 { return "directory \(dir) is not writable: \(errnoText(errno))" }
        return nil
    }
}

/// The file execvp would run for a program name.
enum ProgramLookup {
    /// execvp's search list when PATH is unset.
    static let defaultSearchPath = "/bin:/usr/bin"

    /// The executable `program` names (looked up in `searchPath` when it has no slash), or why there is none.
    static func resolve(_ program: String, searchPath: String?) -> Result<String, ProgramNotFound> {
        if program.contains("/") {
            if let why = problem(program) { return .failure(ProgramNotFound(reason: why)) }
            return .success(program)
        }
        let list = searchPath ?? defaultSearchPath
        for dir in list.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            if problem(candidate) == nil { return .success(candidate) }
        }
        return .failure(ProgramNotFound(reason: "\(program) is not in PATH (\(list))"))
    }

    static func problem(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) != 0 { return errno == ENOENT ? "\(path) does not exist" : "\(path): \(errnoText(errno))" }
        if st.st_mode & S_IFMT == S_IFDIR { return "\(path) is a directory" }
        if st.st_mode & S_IFMT != S_IFREG { return "\(path) is not a regular file" }
        if access(path, X_OK) != 0 { return "\(path) is not executable" }
        return nil
    }

    struct ProgramNotFound: Error { let reason: String }
}
