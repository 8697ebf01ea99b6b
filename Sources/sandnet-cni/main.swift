import Foundation
import SandnetCNIPlugin

// sandnet-cni: a CNI plugin (docs/cni.md). The answer goes to stdout, nothing else does.
let answer = PluginInvocation.run(environment: ProcessInfo.processInfo.environment, stdin: FileHandle.standardInput.readDataToEndOfFile())
FileHandle.standardOutput.write(answer.output)
exit(answer.status)
