import Foundation
import Synchronization

/// A one-shot wake-up between two threads that spins for a few microseconds before it
/// sleeps on a semaphore.
///
/// Handing a job to a namespace thread and back is two wake-ups; through a futex each
/// costs a full sleep and reschedule, which was most of a namespace-bound handle's cost
/// (the floor does setns on its own thread). The other side usually answers within the
/// spin, so neither thread sleeps.
final class SpinThenBlockSignal: Sendable {
    private let posted = Atomic<Bool>(false)
    private let sleeping = Atomic<Bool>(false)
    private let semaphore = DispatchSemaphore(value: 0)
    /// 100,000 polls, some tens of microseconds: longer than a namespace job or a
    /// caller's turn between two jobs, short enough not to matter when idle.
    private static let spins = 100_000

    func signal() {
        posted.store(true, ordering: .sequentiallyConsistent)
        // Either the waiter sees `posted`, or we see it asleep and wake it (both orders are
        // sequentially consistent, so one of the two always happens).
        if sleeping.load(ordering: .sequentiallyConsistent) { semaphore.signal() }
    }

    func wait() {
        for _ in 0..<Self.spins {
            if posted.load(ordering: .relaxed), posted.exchange(false, ordering: .acquiringAndReleasing) { return }
        }
        while true {
            sleeping.store(true, ordering: .sequentiallyConsistent)
            if posted.exchange(false, ordering: .sequentiallyConsistent) {
                sleeping.store(false, ordering: .sequentiallyConsistent)
                return
            }
            semaphore.wait()
            sleeping.store(false, ordering: .sequentiallyConsistent)
            if posted.exchange(false, ordering: .acquiringAndReleasing) { return }
            // A wake-up left over from a race where the poster saw us asleep just as we
            // found the flag: nothing is posted now, so sleep again.
        }
    }
}
