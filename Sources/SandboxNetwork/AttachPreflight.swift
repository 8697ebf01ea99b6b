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
        let perEndpoint = Set(settings.endpointQueues.keys).union(settings.endpointRateLimits.keys)
        for name in perEndpoint.sorted() where !scan.endpoints.contains(where: { $0.name == name }) {
            let why = scan.links.first { $0.name == name }.map { "\(name) is not an endpoint: \($0.reason ?? "it is not attached")" }
            throw SandboxError.invalidArgument(
                "a per-endpoint queue count or rate limit names \(name), but \(why ?? "there is no link \(name) in \(namespace)"); "
                    + "nothing was changed. Fix: use an endpoint name that `sandnet scan --netns` lists")
        }
        for e in scan.endpoints where settings.model(for: e.name) != .none {
            let n = settings.queues(for: e.name)
            guard QueueLayout.allowedQueues.contains(n) else {
                throw SandboxError.invalidArgument(
                    "\(e.name) would get \(n) queues; a NIC takes 1 to \(QueueLayout.maximumQueues) (--queues, --endpoint-queues)")
            }
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
