// libFuzzer target for the journal reader: the input is the file `detach`/`gc` find in
// the state directory (a crash may leave any bytes there). JournalStore.read may only
// throw SandboxError (journalCorrupted for bad bytes). A journal it accepts must survive
// what detach and gc do with it: written back (plain and with spliced step JSON) and
// read again, it is the same journal.

import Foundation
import FuzzSupport
import SandboxNetwork

/// A state directory of the fuzzer's own, on tmpfs when there is one: every input is
/// written there, as a journal file, and read back through the store.
let stateDirectory: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(base)/sandnet-fuzz-journal-\(getpid())"
}()
let store: JournalStore = {
    try? FileManager.default.createDirectory(atPath: "\(stateDirectory)/sandboxes", withIntermediateDirectories: true)
    // libFuzzer ends a run with exit(): the directory goes with it (a crash leaves it for the reproducer).
    atexit { try? FileManager.default.removeItem(atPath: stateDirectory) }
    return JournalStore(directory: stateDirectory)
}()
/// Seeds carry this sandbox id: the reader checks the journal names the file it is in.
let sandbox = "fuzz-sandbox"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJournal(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = store.path(of: sandbox)
    // 0600 and root's, as sandnet writes them: the store refuses any other journal before
    // decoding it, and the decoder is what this target is for (StateTrustTests cover the refusal).
    require(
        FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size), attributes: [.posixPermissions: 0o600]),
        "cannot write \(path)")
    guard let read = expecting(SandboxError.self, "JournalStore.read", { try store.read(sandbox: sandbox) }),
        let journal = read
    else { return 0 }
    use(String(describing: journal))
    // Written back the way an attach writes it, with the steps' JSON spliced in...
    let steps = expecting(SandboxError.self, "encode steps") { try journal.steps.map { try JournalStore.encode(step: $0) } }
    let spliced = expecting(SandboxError.self, "encode journal") { try JournalStore.encode(journal, encodedSteps: steps) }
    let plain = expecting(SandboxError.self, "encode journal") { try JournalStore.encode(journal) }
    require(spliced != nil && plain != nil, "a journal that was read cannot be written")
    let a = try? JSONDecoder().decode(SandboxJournal.self, from: spliced!)
    let b = try? JSONDecoder().decode(SandboxJournal.self, from: plain!)
    require(
        a == journal && b == journal,
        "journal does not survive a re-encode: read \(journal), spliced \(String(describing: a)), plain \(String(describing: b))")
    // ...and through the store's own write (temp file, fsync, rename) and read.
    _ = expecting(SandboxError.self, "JournalStore.write") { try store.write(journal, encodedSteps: steps) }
    let back = expecting(SandboxError.self, "JournalStore.read after write") { try store.read(sandbox: sandbox) }
    require(back == journal, "journal written and read again differs: \(String(describing: back))")
    return 0
}
