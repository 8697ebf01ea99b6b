/// The order in which an endpoint's addresses are taken away and given back, so that the
/// kernel lists them exactly as before, whether or not the attach was killed in between.
///
/// The kernel keeps each family's addresses in its own order:
/// - IPv4: primaries first (a new primary goes after the last primary of the same or a
///   wider scope), secondaries appended. Deleting a primary with `promote_secondaries` set
///   makes the next secondary of its subnet primary and moves it; without it, deleting a
///   primary deletes its secondaries. Either way the order breaks unless the secondaries
///   go first.
/// - IPv6: a new address goes before the first one of the same or a narrower scope, so
///   the newest of a scope is listed first. Deleting one never moves the others.
///
/// So each family is removed from the end that restore adds last: whatever a kill leaves
/// behind is exactly what restore would have re-added first, and restore skips it (EEXIST).
enum AddressOrder {
    /// IPv4 newest-listed first (secondaries before their primaries), then IPv6 as listed.
    static func removal(_ addresses: [SavedAddress]) -> [SavedAddress] {
        addresses.filter(\.isIPv4).reversed() + addresses.filter { !$0.isIPv4 }
    }

    /// IPv4 as listed (primaries first), then IPv6 in reverse: each IPv6 address lands
    /// in front of the ones added before it.
    static func restore(_ addresses: [SavedAddress]) -> [SavedAddress] {
        addresses.filter(\.isIPv4) + addresses.filter { !$0.isIPv4 }.reversed()
    }
}

extension SavedAddress {
    var isIPv4: Bool { prefix.address.isIPv4 }
}
