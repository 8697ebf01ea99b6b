import QemuWiring

/// What an attach checks after scanning and before its first change (journal or kernel):
/// every failure it can foresee is refused here, so a refused attach changes nothing.
enum AttachPreflight {
    static func check(_ settings: AttachSettings, scan: NamespaceScan, namespace: String) throws {
        for name in settings.modelOverrides.keys.sorted() where !scan.endpoints.contains(where: { $0.name == name }) {
            let override = "\(name)=\(settings.modelOverrides[name]!.rawValue)"
            if let link = scan.links.first(where: { $0.name == name }) {
                throw SandboxError.overrideForNoEndpoint(
                    override: override, why: "\(name) is not an endpoint: \(link.reason ?? "it is not attached")")
            }
            throw SandboxError.overrideForNoEndpoint(override: override, why: "no link \(name) in \(namespace)")
        }
        // Every endpoint with a model other than none becomes a NIC on its own root port.
        let nics = scan.endpoints.filter { settings.model(for: $0.name) != .none }.count
        if nics > PCIeTopology.maximumRootPorts {
            throw SandboxError.tooManyNICs(namespace: namespace, nics: nics, limit: PCIeTopology.maximumRootPorts)
        }
        // The same check the topology makes, here so that too many spare ports change nothing.
        _ = try PCIeTopology(architecture: settings.architecture, occupiedPorts: nics, sparePorts: settings.sparePorts)
    }
}
