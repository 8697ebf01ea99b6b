import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A QMP server played by the test: a listening Unix socket whose one connection gets the
/// greeting, then, for each command line received, the lines `answer` returns (with `ID`
/// replaced by the command's id). Lets a test send what real QEMU rarely does on cue:
/// events between replies, late replies, garbage.
final class ScriptedQmpServer: Sendable {
    let directory = "/tmp/sandnet-qmpfake-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    var path: String { "\(directory)/qmp.sock" }
    private let listener: Int32

    static let greeting = #"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#

    init(_ answer: @escaping @Sendable (_ command: String, _ id: String) -> [String]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        let p = "\(directory)/qmp.sock"
        withUnsafeMutableBytes(of: &sa.sun_path) { raw in for (i, b) in p.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        let fd = listener
        Thread {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            defer { close(c) }
            func say(_ s: String) { _ = (s + "\r\n").withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
            say(Self.greeting)
            var line = [UInt8]()
            var byte: UInt8 = 0
            while read(c, &byte, 1) == 1 {
                guard byte == 10 else {
                    line.append(byte)
                    continue
                }
                let text = String(decoding: line, as: UTF8.self)
                line = []
                let command = Self.field("execute", text)
                let id = Self.field("id", text)
                for out in answer(command, id) {
                    if out == "CLOSE" { return }
                    say(out.replacingOccurrences(of: "ID", with: id))
                }
            }
        }.start()
    }

    deinit {
        close(listener)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func field(_ key: String, _ line: String) -> String {
        // Keys come sorted (arguments, execute, id): the last match is the top-level one.
        guard let r = line.range(of: "\"\(key)\":\"", options: .backwards) else { return "" }
        return String(line[r.upperBound...].prefix { $0 != "\"" })
    }
}
