import NetlinkCodec

/// The replies of one dump attempt and what they say about it. Pure (no socket), so the
/// NLMSG_DONE / NLMSG_ERROR / NLM_F_DUMP_INTR rules can be tested without a kernel.
package struct DumpCollector: Sendable {
    package let operation: String
    package let object: String?
    package private(set) var messages: [NetlinkMessage] = []
    /// Some part carried NLM_F_DUMP_INTR (or the socket overflowed): the result may be
    /// inconsistent and the dump must run again.
    package var interrupted = false
    package private(set) var finished = false

    package init(operation: String, object: String? = nil) {
        self.operation = operation
        self.object = object
    }

    /// Takes one reply of the dump; returns true once the dump is over. A kernel error
    /// (NLMSG_ERROR, or NLMSG_DONE carrying a negative errno) throws.
    @discardableResult
    package mutating func consume(_ reply: NetlinkMessage) throws -> Bool {
        if try isData(reply) { messages.append(reply) }
        return finished
    }

    /// Takes one reply's control part (NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, the interrupted
    /// flag) and says whether it is a data message, which the caller keeps or decodes
    /// itself. The same rules as `consume`, for readers that decode while receiving.
    package mutating func isData(_ reply: NetlinkMessage) throws -> Bool {
        if reply.header.flags.contains(.dumpInterrupted) { interrupted = true }
        switch reply.header.type {
        case NetlinkMessageType.done:
            // NLMSG_DONE carries an int: a negative errno if the dump failed midway,
            // followed by extended-ACK attributes when the kernel has some.
            var r = ByteReader(reply.payloadSlice)
            let status = (try? r.i32()) ?? 0
            if status < 0 {
                let tlvs = reply.payload.count > 4 ? (try? NetlinkAttribute.decodeAll(reply.payload[4...])) : nil
                throw NetlinkError.kernel(
                    KernelRefusal(
                        operation: operation, object: object, errno: -max(status, -4095),
                        kernelMessage: tlvs?.first(1)?.string()))
            }
            finished = true
        case NetlinkMessageType.error:
            let err: NetlinkErrorMessage
            do { err = try NetlinkErrorMessage.decode(reply) } catch let d as DecodeError {
                throw NetlinkError.malformedReply(operation: operation, d)
            }
            if err.errno != 0 {
                throw NetlinkError.kernel(
                    KernelRefusal(
                        operation: operation, object: object, errno: err.errno,
                        kernelMessage: err.extAckMessage, offset: err.extAckOffset))
            }
            finished = true
        case NetlinkMessageType.noop:
            break
        default:
            return true
        }
        return false
    }

    /// Runs `attempt` until it returns an uninterrupted dump, at most `retries + 1` times.
    package static func withRetries(_ retries: Int, operation: String, _ attempt: () throws -> DumpCollector) throws -> [NetlinkMessage] {
        var attempts = 0
        while true {
            attempts += 1
            let result = try attempt()
            if !result.interrupted { return result.messages }
            if attempts > retries { throw NetlinkError.dumpInterrupted(operation: operation, attempts: attempts) }
        }
    }
}
