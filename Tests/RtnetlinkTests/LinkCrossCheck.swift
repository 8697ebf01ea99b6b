import Foundation
import KernelConformance
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TestSupport
import Testing

/// Link kinds this kernel may lack: KernelConformance's probes (the lab runs the same).
enum LinkKindProbe {
    static let dummy = KernelFeatureProbe.dummy
    static let vlan = KernelFeatureProbe.vlan
    static let ipvlan = KernelFeatureProbe.ipvlan
    static let vxlan = KernelFeatureProbe.vxlan
}

/// Field-by-field comparison of sandnet's Link with `ip -j -d link` output: KernelConformance's
/// comparison, each difference recorded as an issue.
enum LinkCrossCheck {
    static func names(_ links: [Link]) -> [Int32: String] { LinkComparison.names(links) }

    /// Compares every link `ip` lists with sandnet's view; both lists must hold the same links.
    static func expectSame(_ links: [Link], _ ipLinks: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation) {
        for d in LinkComparison.differences(links, ipLinks) { Issue.record("\(d)", sourceLocation: sourceLocation) }
    }

    static func expectSame(_ l: Link, _ j: [String: Any], names: [Int32: String], sourceLocation: SourceLocation = #_sourceLocation) {
        for d in LinkComparison.differences(l, j, names: names) { Issue.record("\(d)", sourceLocation: sourceLocation) }
    }
}
