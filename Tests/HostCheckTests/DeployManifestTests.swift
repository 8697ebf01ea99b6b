import Foundation
import HostCheck
import TestSupport
import Testing

/// kubernetes-validate (PyPI), installed by scripts/setup.sh into its own venv; it carries
/// the Kubernetes schemas, so validation needs no network.
enum KubernetesValidate {
    static let binary = "/var/cache/sandnet/kubernetes-validate/bin/kubernetes-validate"
    static let installed = FileManager.default.isExecutableFile(atPath: binary)
    static var deploy: String { RealKernels.repoRoot + "/deploy" }

    static func manifests() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: deploy).filter { $0.hasSuffix(".yaml") }.sorted().map { "\(deploy)/\($0)" }
    }

    /// Strict: unknown fields are errors too.
    static func validate(_ path: String) throws -> (status: Int32, output: String) {
        let r = try TestEnvironment.run([binary, "--strict", path])
        return (r.status, r.stdout + r.stderr)
    }
}

@Suite("deploy/: the DaemonSet and RuntimeClasses are valid Kubernetes objects and select on the check's labels")
struct DeployManifestTests {
    @Test(
        "every manifest in deploy/ passes kubernetes-validate --strict",
        .enabled(if: KubernetesValidate.installed, "kubernetes-validate is not installed (scripts/setup.sh installs it)"))
    func manifestsValidate() throws {
        let files = try KubernetesValidate.manifests()
        #expect(files.count >= 5, "\(files)")
        for f in files {
            let r = try KubernetesValidate.validate(f)
            #expect(r.status == 0, "\(f): \(r.output)")
            #expect(r.output.contains("passed"), "\(f): \(r.output)")
        }
    }

    @Test(
        "a broken copy fails validation (the validation can fail)",
        .enabled(if: KubernetesValidate.installed, "kubernetes-validate is not installed (scripts/setup.sh installs it)"))
    func brokenCopyFails() throws {
        let original = try String(contentsOfFile: KubernetesValidate.deploy + "/sandnet-check-daemonset.yaml", encoding: .utf8)
        let broken = original.replacingOccurrences(of: "privileged: true", with: "privileged: \"yes\"")
        #expect(broken != original)
        let path = NSTemporaryDirectory() + "sandnet-broken-\(getpid()).yaml"
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try KubernetesValidate.validate(path)
        #expect(r.status != 0, "a string for a boolean passed: \(r.output)")
        #expect(r.output.contains("privileged"), "\(r.output)")
    }

    @Test("the RuntimeClasses select on labels the check writes, with kata-deploy's and the node's architecture")
    func selectorsUseTheLabels() throws {
        let ns = NodeFeatureFile.namespace
        let classes = try KubernetesValidate.manifests().filter { $0.contains("/runtimeclass-") }
        #expect(classes.count == 4)
        for f in classes {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            let name = URL(fileURLWithPath: f).deletingPathExtension().lastPathComponent.dropFirst("runtimeclass-".count)
            let parts = name.split(separator: "-") // kata, qemu, MODEL, ARCH
            let (model, arch) = (String(parts[2]), String(parts[3]))
            #expect(text.contains("  name: \(name)\n"))
            #expect(text.contains("    katacontainers.io/kata-runtime: \"true\"\n"))
            #expect(text.contains("    kubernetes.io/arch: \(arch)\n"))
            #expect(text.contains("    \(ns)/model-\(model): \"true\"\n"))
            #expect(text.contains("    \(ns)/kvm-verdict: usable\n"))
            for line in text.split(separator: "\n") where line.contains(ns) {
                let kv = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
                    .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"")) }
                #expect(NFDRules.problem(line: "\(kv[0])=\(kv[1])") == nil, "\(line)")
            }
        }
        let ds = try String(contentsOfFile: KubernetesValidate.deploy + "/sandnet-check-daemonset.yaml", encoding: .utf8)
        #expect(ds.contains("- --nfd\n            - \(NodeFeatureFile.defaultDirectory)/sandnet\n"))
        #expect(ds.contains("path: \(NodeFeatureFile.defaultDirectory)\n"))
    }
}
