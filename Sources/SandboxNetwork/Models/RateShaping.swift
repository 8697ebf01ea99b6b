import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TrafficControl

/// Rate limits as htb: a root htb qdisc at sandnet's handle (`534e:`, "SN") with one class
/// `534e:1` (rate = ceil = the cap) that all traffic defaults to, on the egress of the link
/// the guest's traffic leaves through in that direction. Ingress cannot be shaped directly:
/// there a match-all redirect sends the frames through an ifb of the sandbox's own, whose
/// egress carries the htb. Each qdisc, class and ifb is journaled before it is made.
enum RateShaping {
    static let qdiscHandle = TcHandle(major: 0x534e, minor: 0)
    static let classID = TcHandle(major: 0x534e, minor: 1)

    /// 50 ms of traffic at the cap (at least one frame): a TCP flow through a smaller bucket
    /// settles well below the cap (a guest's 64 KiB GSO frames each overdraw it); a larger
    /// one lets a short transfer run above it for longer.
    static func burst(bitsPerSecond rate: UInt64) -> UInt32 {
        max(HtbClassSpec.defaultBurst, UInt32(clamping: rate / 8 / 20))
    }
    /// htb warns of quanta above 200000 bytes; one class needs no fairness, just a sane quantum.
    static func quantum(bitsPerSecond rate: UInt64) -> UInt32 { min(200_000, max(1_514, UInt32(clamping: rate / 8 / 10))) }

    /// Refuses a link whose root qdisc someone chose (handle other than the kernel's default
    /// `0:`): a root htb would replace it, and detach could not give it back.
    static func requireDefaultRoot(_ link: String, ifindex: Int32, model: String, rt: Rtnetlink) throws {
        guard let root = try rt.qdiscs(device: .index(ifindex)).first(where: \.isRoot), root.handle.rawValue != 0 else { return }
        throw SandboxError.modelNotApplicable(
            model: model, endpoint: link,
            reason: "a rate limit needs its root qdisc, but it has \(root.kind) \(root.handle) (another tool's), "
                + "which the limit would replace; remove that qdisc or attach without --rx-rate/--tx-rate")
    }

    /// Shapes what `link` transmits to `rate` bits per second.
    static func shapeEgress(_ link: String, ifindex: Int32, rate: UInt64, _ ctx: ModelContext) throws {
        let rt = ctx.rt
        try ctx.tx.step(.addRateQdisc(link: link, ifindex: ifindex, handle: qdiscHandle.rawValue)) { tx in
            try rt.qdiscAdd(QdiscSpec(device: .index(ifindex), kind: .htb(defaultClass: classID.minor), parent: .root, handle: qdiscHandle))
            try tx.amendLast(.addRateQdisc(link: link, ifindex: ifindex, handle: qdiscHandle.rawValue, added: true))
            tx.changed("add qdisc", .qdisc("htb \(qdiscHandle) root", on: link, ifindex: ifindex))
        }
        try ctx.tx.step(.addRateClass(link: link, ifindex: ifindex, classID: classID.rawValue, rate: rate)) { tx in
            let b = burst(bitsPerSecond: rate)
            try rt.htbClassAdd(
                HtbClassSpec(
                    device: .index(ifindex), parent: qdiscHandle, classID: classID, rate: rate, burst: b, cburst: b,
                    quantum: quantum(bitsPerSecond: rate)))
            try tx.amendLast(.addRateClass(link: link, ifindex: ifindex, classID: classID.rawValue, rate: rate, added: true))
            tx.changed("add class", .qdisc("htb class \(classID) rate \(TcRate.text(bitsPerSecond: rate))", on: link, ifindex: ifindex))
        }
    }

    /// Shapes what `link` receives to `rate`: an ifb `sn<tag>i<number>` in the sandbox's link
    /// group, a redirect of everything `link` receives to it, and the htb on its egress.
    static func shapeIngress(_ link: String, ifindex: Int32, rate: UInt64, number: Int, _ ctx: ModelContext) throws {
        let rt = ctx.rt
        let name = "sn\(ctx.tag)i\(number)"
        let ifb = try ctx.tx.step(.createLink(name: name, kind: "ifb")) { tx -> Int32 in
            // Born in the group and up: one request, so a group delete always takes it.
            try rt.linkAdd(LinkSpec(name: name, kind: .ifb, up: true, group: ctx.group))
            let l = try rt.link(.name(name))
            try tx.amendLast(.createLink(name: name, kind: "ifb", ifindex: l.index))
            tx.changed("create ifb, up, group \(ctx.group)", .link(name, ifindex: l.index))
            return l.index
        }
        try TcFilterModel.redirect(from: link, fromIndex: ifindex, to: name, toIndex: ifb, ctx)
        try shapeEgress(name, ifindex: ifb, rate: rate, ctx)
    }
}
