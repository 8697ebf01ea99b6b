import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import TestSupport

enum Probe {
    /// A family this kernel refuses with EPROTONOSUPPORT, found by trying each one.
    static let refusedFamily: NetlinkProtocol? = NetlinkProtocol.allCases.first { f in
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), f.rawValue)
        if fd >= 0 {
            close(fd)
            return false
        }
        return errno == EPROTONOSUPPORT
    }
}

/// RTM_GETLINK dump request.
func linkDumpRequest() -> NetlinkMessage {
    NetlinkMessage(type: RTM.GETLINK, flags: [.request, .dump], body: IfInfoMessage().bytes)
}

func linkNames(_ messages: [NetlinkMessage]) throws -> [String] {
    try messages.filter { $0.header.type == RTM.NEWLINK }.compactMap { try IfInfoMessage.decode($0).1.first(IFLA.IFNAME)?.string() }
}

/// Inode of a namespace file.
func inode(_ path: String) -> UInt64? {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
}

/// Open descriptors of this process, less the runtime's own (TestEnvironment.openDescriptors).
func openFDCount() -> Int { TestEnvironment.openDescriptors().count }

/// Fills a namespace with `pairs` veth pairs through one `ip -batch`.
func addVethPairs(_ ns: TestNamespace, pairs: Int, withAddresses: Bool = false) throws {
    var lines: [String] = []
    for i in 0..<pairs {
        lines.append("link add va\(i) type veth peer name vb\(i)")
        if withAddresses { lines.append("addr add 198.51.\(100 + i / 250).\(i % 250 + 1)/32 dev va\(i)") }
    }
    let r = try TestEnvironment.run(["ip", "-n", ns.name, "-batch", "-"], stdin: lines.joined(separator: "\n") + "\n")
    guard r.status == 0 else { throw TestFailure("ip -batch failed: \(r.stderr)") }
}
