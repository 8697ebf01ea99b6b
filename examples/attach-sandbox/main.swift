// attach-sandbox NETNS: gives a (pretend) VM sandbox the network of a pod namespace, shows
// what QEMU would be handed, then takes it all back. This is `sandnet attach` and
// `sandnet detach` as library calls.
//
//     swift run attach-sandbox mypod
//
// Needs root. The journal that makes detach (and crash recovery) possible goes to
// /run/sandnet, or to $SANDNET_STATE_DIR when set.

import Foundation // exit(), the pid and standard error only
import Sandnet

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("attach-sandbox: \(message)\n".utf8))
    exit(status)
}

guard CommandLine.arguments.count == 2 else { fail("usage: attach-sandbox NETNS", status: 2) }

// A sandbox id is any short name; this one is unique per run.
let sandbox = "example-\(ProcessInfo.processInfo.processIdentifier)"
// tcfilter: a tap per endpoint, joined to it with tc redirects (see tap-redirect).
let settings = AttachSettings(sandbox: sandbox, namespace: CommandLine.arguments[1], model: .tcfilter, vcpus: 1)

do {
    // Finds the endpoints (the interfaces a CNI plugin left), plumbs each one, journals
    // every change before making it, and undoes everything itself if a step fails.
    let result = try SandboxAttach.attach(settings)
    for e in result.summary.endpoints {
        print("endpoint \(e.name): \(e.model) via \(e.device ?? "-"), guest MAC \(e.guestMAC), \(e.queues) queue(s)")
    }
    // What QEMU would be started with; its fds are the tap queues in `result.descriptors`.
    print("qemu \(result.summary.qemuArguments.joined(separator: " "))")
    // No QEMU here: close the queue descriptors this process holds.
    result.closeDescriptors()

    // Reads the journal and undoes every recorded change, newest first.
    let report = try SandboxDetach.detach(sandbox: sandbox)
    print("detached \(report.sandbox): undid \(report.undone.count) change(s)")
} catch {
    fail("\(error)")
}
