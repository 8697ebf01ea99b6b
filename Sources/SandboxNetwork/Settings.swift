import QemuWiring
import SandnetCore

/// What `sandnet attach` is asked to do.
public struct AttachSettings: Sendable {
    public var sandbox: String
    public var namespace: String
    public var model: NetworkModel
    /// Per-endpoint model, by endpoint name; overrides `model`.
    public var modelOverrides: [String: NetworkModel]
    /// Queues per NIC: one per vCPU.
    public var vcpus: Int
    public var architecture: Architecture
    public var sparePorts: Int
    /// resolv.conf text to put into the guest description.
    public var resolvConf: String?
    /// Keep the attach as the sandbox's owner (set when QEMU will be exec'd in its place):
    /// `gc` undoes the sandbox once that process is gone.
    public var ownedByProcess: Bool
    /// Attach only these endpoints (by name) and leave the namespace's others untouched and
    /// unclaimed; nil attaches every endpoint. (A CNI plugin wires one interface per call.)
    public var onlyEndpoints: Set<String>?
    /// The tap or macvtap name per endpoint, instead of the generated `sn<tag>t<n>`.
    public var deviceNames: [String: String] = [:]
    /// Owner and group of the tcfilter taps (TUNSETOWNER/TUNSETGROUP), so an unprivileged VMM may open them.
    public var tapOwner: UInt32?
    public var tapGroup: UInt32?

    public init(
        sandbox: String, namespace: String, model: NetworkModel = .tcfilter, modelOverrides: [String: NetworkModel] = [:],
        vcpus: Int = 1, architecture: Architecture = .x86_64, sparePorts: Int = 0, resolvConf: String? = nil,
        ownedByProcess: Bool = false
    ) {
        self.sandbox = sandbox
        self.namespace = namespace
        self.model = model
        self.modelOverrides = modelOverrides
        self.vcpus = vcpus
        self.architecture = architecture
        self.sparePorts = sparePorts
        self.resolvConf = resolvConf
        self.ownedByProcess = ownedByProcess
    }

    public func model(for endpoint: String) -> NetworkModel { modelOverrides[endpoint] ?? model }

    /// The scanned endpoints this attach takes; a name in `onlyEndpoints` that is no endpoint is refused.
    func selected(_ scan: NamespaceScan, namespace: String) throws -> [ScannedLink] {
        guard let only = onlyEndpoints else { return scan.endpoints }
        for name in only.sorted() where !scan.endpoints.contains(where: { $0.name == name }) {
            let why = scan.links.first { $0.name == name }.map { "it is not an endpoint: \($0.reason ?? "it is not attached")" }
            throw SandboxError.unsupportedEndpoint(name: name, reason: why ?? "there is no link \(name) in \(namespace)")
        }
        return scan.endpoints.filter { only.contains($0.name) }
    }
}
