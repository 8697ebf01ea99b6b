import Foundation
import NetlinkSocket
import Rtnetlink
import SandboxNetwork
import SandnetCore

/// ADD: wires the interface the previous plugin made to a tap with sandnet's attach engine
/// (journaled before each change, rolled back on failure) and returns tc-redirect-tap's result.
enum ChainedAdd {
    static func run(_ request: CNIRequest) throws -> Data {
        let c = request.configuration
        guard let prev = c.prevResult else {
            throw CNIFailure(
                .invalidNetworkConfig, "sandnet-cni is a chained plugin and ADD got no prevResult",
                details: "list it after ptp, bridge or macvlan with an IPAM plugin in a conflist")
        }
        guard ChainedResult.redirectedIndex(in: prev, interface: request.interfaceName, netns: request.netns) != nil else {
            throw CNIFailure(
                .invalidNetworkConfig, "prevResult has no interface \(request.interfaceName) with sandbox \(request.netns)",
                details: "sandnet-cni wires the interface the previous plugin made in CNI_NETNS")
        }
        let key = request.key
        let tapName = c.tapName ?? request.arguments["TC_REDIRECT_TAP_NAME"] ?? key.derivedTapName
        var settings = AttachSettings(sandbox: key.sandbox, namespace: request.netns, model: c.model, vcpus: c.queues)
        settings.onlyEndpoints = [request.interfaceName]
        settings.deviceNames = [request.interfaceName: tapName]
        settings.tapOwner = try c.tapUID ?? argument(request, "TC_REDIRECT_TAP_UID")
        settings.tapGroup = try c.tapGID ?? argument(request, "TC_REDIRECT_TAP_GID")
        let store = JournalStore(directory: c.stateDirectory)
        let attached: AttachResult
        do {
            attached = try SandboxAttach.attach(settings, store: store)
        } catch {
            throw failure(error, request: request, model: c.model)
        }
        // The VMM opens the tap by name (tcfilter) or /dev/tapN (macvtap): the plugin keeps no queue.
        attached.closeDescriptors()
        guard let endpoint = attached.summary.endpoints.first(where: { $0.name == request.interfaceName }), let device = endpoint.device
        else {
            throw CNIFailure(.wiringFailed, "attach made no device for \(request.interfaceName)")
        }
        let tapMAC = try deviceMAC(device, netns: request.netns) ?? endpoint.guestMAC
        return try ChainedResult(
            previous: prev, cniVersion: c.cniVersion, interface: request.interfaceName, netns: request.netns,
            containerID: request.containerID, tap: device, tapMAC: "\(tapMAC)", guestMAC: "\(endpoint.guestMAC)"
        ).json
    }

    static func argument(_ request: CNIRequest, _ name: String) throws -> UInt32? {
        guard let text = request.arguments[name] else { return nil }
        guard let v = UInt32(text) else { throw CNIFailure(.invalidEnvironment, "CNI_ARGS \(name)=\(text) is not a number") }
        return v
    }

    static func deviceMAC(_ name: String, netns: String) throws -> MACAddress? {
        let rt = try Rtnetlink(namespace: NetworkNamespace.parse(netns))
        defer { rt.close() }
        return try rt.link(named: name).address
    }

    /// The CNI error for a failed attach: the kernel's missing feature in `sandnet check`'s
    /// words when a probe finds one, else the attach's own sentence.
    static func failure(_ error: Error, request: CNIRequest, model: NetworkModel) -> CNIFailure {
        guard let e = error as? SandboxError else { return CNIFailure(.wiringFailed, "\(error)") }
        switch e {
        case .alreadyAttached:
            return CNIFailure(
                .wiringFailed,
                "container \(request.containerID) interface \(request.interfaceName) is already wired by sandnet-cni; DEL it before a second ADD"
            )
        case .busy, .ownerAlive, .endpointHeld: return CNIFailure(.tryAgainLater, "\(e)")
        case .invalidArgument, .unsupportedEndpoint, .modelNotApplicable, .overrideForNoEndpoint, .noEndpoints:
            return CNIFailure(.invalidNetworkConfig, "\(e)")
        case .stateDirectory, .journalIO, .stateUnreadable: return CNIFailure(.io, "\(e)")
        case .rolledBack:
            return KernelSupport.diagnose(model: model, cause: "\(e)") ?? CNIFailure(.wiringFailed, "\(e)")
        default:
            return CNIFailure(.wiringFailed, "\(e)")
        }
    }
}
