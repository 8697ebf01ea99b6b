import NetlinkSocket
import Rtnetlink

/// An endpoint a journal claims: attach records every endpoint it takes before its first
/// kernel change, whatever the model (`none` makes no change but still hands the endpoint's
/// addresses to a guest).
public struct EndpointClaim: Codable, Equatable, Sendable {
    public var name: String
    /// Survives a rename; names are only compared for journals written before claims were.
    public var ifindex: Int32

    public init(name: String, ifindex: Int32) {
        self.name = name
        self.ifindex = ifindex
    }
}

/// One owner per endpoint. Ownership is decided from the journals of the same namespace
/// (by identity), under the namespace lock every attach holds while it plans and plumbs:
/// they are already the record of what each sandbox holds, cover every model (a link
/// marker could not mark a `none` endpoint without a kernel change), cost the namespace
/// nothing to set or restore, and are removed with the sandbox, so nothing stale stays on
/// the link. (A marker such as the link alias would be one more change to undo exactly,
/// and would overwrite an alias a CNI plugin set.) Their limit: sandboxes attached with
/// another state directory are not seen.
enum EndpointOwnership {
    /// Throws `endpointHeld` for the first of `endpoints` another sandbox's journal claims.
    static func check(_ endpoints: [ScannedLink], sandbox: String, identity: NamespaceIdentity, store: JournalStore) throws {
        let journals = store.sandboxes().sorted().filter { $0 != sandbox }.compactMap { id in
            (try? store.read(sandbox: id, ifOfNamespace: identity)).map { (id: id, journal: $0) }
        }
        try check(endpoints, identity: identity, journals: journals)
    }

    /// The same over journals already read (`JournalStore.journals(ofNamespace:except:)`).
    static func check(_ endpoints: [ScannedLink], identity: NamespaceIdentity, journals: [(id: String, journal: SandboxJournal)]) throws {
        for (id, j) in journals where j.isNamespace(identity) {
            for e in endpoints where j.claims(name: e.name, ifindex: e.index) {
                throw SandboxError.endpointHeld(endpoint: e.name, sandbox: id, state: j.holderState)
            }
        }
    }
}

extension SandboxJournal {
    /// Whether this sandbox holds the link: by its recorded claims, or for a journal
    /// written before them, by the endpoint names of its summary and steps.
    func claims(name: String, ifindex: Int32) -> Bool {
        if let endpoints { return endpoints.contains { $0.ifindex == ifindex } }
        if summary?.endpoints.contains(where: { $0.name == name }) == true { return true }
        return steps.contains { step in
            switch step {
            case .addIngressQdisc(let link, _, _): return link == name
            case .setMAC(let link, _, _, _): return link == name
            case .removeAddresses(let link, _): return link == name
            case .setTxQueueLength(let link, _, _, _): return link == name
            case .addRateQdisc(let link, _, _, _), .addRateClass(let link, _, _, _, _): return link == name
            case .createLink, .addRedirect: return false
            }
        }
    }

    /// How the holder stands, for the refusal: attached, or left midway by an owner that is gone.
    var holderState: String {
        switch state {
        case .attached: return "attached"
        case .attaching: return ownerIsAlive ? "attaching now" : "its attach was interrupted; sandnet gc undoes it"
        case .detaching: return ownerIsAlive ? "detaching now" : "its detach was interrupted; sandnet gc finishes it"
        }
    }
}
