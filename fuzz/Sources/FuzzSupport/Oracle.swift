import Foundation

// The oracle every fuzz target shares. A decoder fed hostile bytes may only answer with
// its own typed error; any other error is a bug, and so is a trap (bounds, overflow,
// precondition), which ends the process and libFuzzer reports it.

/// The input as an array (what the decoders take).
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// `body`'s value, or nil when it threw `Expected`. Any other error stops the run.
public func expecting<Expected: Error, T>(
    _: Expected.Type, _ what: @autoclosure () -> String,
    _ body: () throws -> T
) -> T? {
    do { return try body() } catch is Expected { return nil } catch {
        fatalError("\(what()) threw \(type(of: error)) (\(error)), not \(Expected.self)")
    }
}

/// The checks any decoded value gets: its description (what `sandnet ... ` prints) does
/// not trap, and its JSON form (what `-j` prints) can be written.
public func exercise<T: Encodable>(_ value: T, _ what: @autoclosure () -> String) {
    use(String(describing: value))
    do { _ = try JSONEncoder().encode(value) } catch {
        fatalError("\(what()): the decoded value cannot be written as JSON: \(error)")
    }
}

/// Stops the run with `message` unless `condition` holds: a consistency failure.
public func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Keeps a computed value alive, so the optimizer cannot drop the computation (and the
/// overflow or bounds check inside it) because nothing reads the result.
@inline(never) @_optimize(none)
public func use<T>(_ value: T) { _ = value }
