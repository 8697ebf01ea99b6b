import Foundation
import Synchronization

/// Every wait in a test ends at a deadline, with a sentence saying what did not happen:
/// a hung thread fails its test instead of hanging the whole run. (Children are bounded
/// by ProcessRunner's own timeouts.)
public enum BoundedWait {
    /// Waits for a semaphore; throws past `seconds`.
    public static func wait(_ s: DispatchSemaphore, within seconds: TimeInterval, _ what: @autoclosure () -> String) throws {
        guard s.wait(timeout: .now() + seconds) == .success else {
            throw TestFailure("\(what()) did not happen within \(Int(seconds)) s")
        }
    }

    /// Waits for a group; throws past `seconds`.
    public static func wait(_ g: DispatchGroup, within seconds: TimeInterval, _ what: @autoclosure () -> String) throws {
        guard g.wait(timeout: .now() + seconds) == .success else {
            throw TestFailure("\(what()) did not happen within \(Int(seconds)) s")
        }
    }
}
