// list-links NETNS: prints every network interface in a namespace, like `ip -br link`.
//
//     swift run list-links mypod          # a namespace made with `ip netns add mypod`
//     swift run list-links /proc/1234/ns/net
//
// Reading links needs no privilege beyond entering the namespace (root for most).

import Foundation // exit() and standard error only
import Sandnet // everything sandnet offers, in one import

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("list-links: \(message)\n".utf8))
    exit(status)
}

guard CommandLine.arguments.count == 2 else { fail("usage: list-links NETNS", status: 2) }

// A bare name means /run/netns/NAME (what `ip netns` makes); anything with a slash is a path.
let namespace = NetworkNamespace.parse(CommandLine.arguments[1])

do {
    // One NETLINK_ROUTE socket, opened inside the namespace (on a dedicated thread, so
    // this process itself never changes namespace).
    let rt = try Rtnetlink(namespace: namespace)
    defer { rt.close() }

    // `ip link show`: one dump, decoded into `Link` values.
    print("INDEX NAME KIND STATE MAC")
    for link in try rt.links() {
        let kind = link.kind ?? "-" // veth, macvlan, tun, ... (nil for loopback and physical NICs)
        let state = link.isUp ? "UP" : "DOWN" // the administrative state (IFF_UP)
        let mac = link.address?.description ?? "-"
        print("\(link.index) \(link.name) \(kind) \(state) \(mac)")
    }
} catch {
    // sandnet's errors print as one sentence: what failed, on what, and why.
    fail("\(error)")
}
