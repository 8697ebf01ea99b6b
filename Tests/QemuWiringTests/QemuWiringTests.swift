import QemuWiring
import SandnetCore
import Testing

@Suite struct PCIeTopologyTests {
    @Test func oneRootPortPerNICPlusSpares() throws {
        let t = try PCIeTopology(architecture: .x86_64, occupiedPorts: 2, sparePorts: 3)
        #expect(t.rootPorts.count == 5)
        #expect(t.occupiedPorts.map(\.id) == ["sn-rp0", "sn-rp1"])
        #expect(t.sparePorts.map(\.id) == ["sn-rp2", "sn-rp3", "sn-rp4"])
        let first = t.rootPorts[0]
        #expect(first.bus == "pcie.0")
        #expect(first.device == 0x10 && first.function == 0)
        #expect(first.chassis == 1 && first.slot == 1)
        #expect(first.multifunction) // functions 1...4 share device 0x10
        #expect(first.deviceArgument == "pcie-root-port,id=sn-rp0,bus=pcie.0,chassis=1,slot=1,addr=0x10.0x0,multifunction=on")
        #expect(t.rootPorts[4].deviceArgument == "pcie-root-port,id=sn-rp4,bus=pcie.0,chassis=5,slot=5,addr=0x10.0x4")
        #expect(t.rootPorts[4].guestAddress == "00:10.4")
    }

    @Test func aSingleRootPortIsNotMultifunction() throws {
        let t = try PCIeTopology(architecture: .arm64, occupiedPorts: 1, sparePorts: 0)
        #expect(t.arguments == ["-device", "pcie-root-port,id=sn-rp0,bus=pcie.0,chassis=1,slot=1,addr=0x10.0x0"])
    }

    @Test func sparePortsFillDevicesEightFunctionsEach() throws {
        let t = try PCIeTopology(architecture: .x86_64, occupiedPorts: 3, sparePorts: 13)
        #expect(t.rootPorts.count == 16)
        #expect(t.occupiedPorts.count == 3)
        #expect(t.rootPorts[8].device == 0x11 && t.rootPorts[8].function == 0 && t.rootPorts[8].multifunction)
        #expect(t.rootPorts[15].qemuAddress == "0x11.0x7")
        #expect(Set(t.rootPorts.map(\.chassis)).count == 16)
        #expect(Set(t.rootPorts.map(\.qemuAddress)).count == 16)
    }

    /// q35: devices 0x10...0x1e (0x1f is ICH9), virt: 0x10...0x1f; beyond, refused, never cut.
    @Test func totalUpToTheMachineLimitThenRefused() throws {
        #expect(PCIeTopology.maximumRootPorts(for: .x86_64) == 120)
        #expect(PCIeTopology.maximumRootPorts(for: .arm64) == 128)
        let q35 = try PCIeTopology(architecture: .x86_64, occupiedPorts: 2, sparePorts: 118)
        #expect(q35.rootPorts.last?.qemuAddress == "0x1e.0x7" && Set(q35.rootPorts.map(\.chassis)).count == 120)
        let virt = try PCIeTopology(architecture: .arm64, occupiedPorts: 0, sparePorts: 128)
        #expect(virt.rootPorts.last?.qemuAddress == "0x1f.0x7")
        #expect(
            throws: QemuWiringError.invalidTopology(
                "2 NICs and 119 spare ports need 121 PCIe root ports, but q35 takes at most 120 (8 per device of pcie.0 from 0x10); ask for at most 118 spare ports"
            )
        ) { try PCIeTopology(architecture: .x86_64, occupiedPorts: 2, sparePorts: 119) }
        #expect(throws: QemuWiringError.self) { try PCIeTopology(architecture: .arm64, occupiedPorts: 1, sparePorts: 128) }
    }

    @Test func lastDeviceWithOneFunctionIsNotMultifunction() throws {
        let t = try PCIeTopology(architecture: .x86_64, occupiedPorts: 9, sparePorts: 0)
        #expect(t.rootPorts[8].device == 0x11 && !t.rootPorts[8].multifunction)
    }

    @Test func moreThanSixteenNICsIsRefused() {
        #expect(throws: QemuWiringError.self) { try PCIeTopology(architecture: .x86_64, occupiedPorts: 17, sparePorts: 0) }
    }

    @Test func architecturesNameTheirMachines() {
        #expect(Architecture(parsing: "aarch64") == .arm64)
        #expect(Architecture(parsing: "amd64") == .x86_64)
        #expect(Architecture(parsing: "riscv64") == nil)
        #expect(Architecture.arm64.machineType == "virt")
        #expect(Architecture.x86_64.machineType == "q35")
    }
}

@Suite struct QemuNetworkPlanTests {
    let mac0 = MACAddress("02:00:00:00:00:01")!, mac1 = MACAddress("02:00:00:00:00:02")!

    @Test func netdevAndDeviceArgumentsFieldByField() throws {
        let plan = try QemuNetworkPlan(
            architecture: .x86_64,
            nics: [
                QemuNIC(id: "sn0", mac: mac0, queueFDs: [10, 11], vhostFDs: [12, 13]),
                QemuNIC(id: "sn1", mac: mac1, queueFDs: [20])
            ], sparePorts: 1)
        #expect(plan.placements.count == 2)
        #expect(plan.placements[0].netdevArgument == "tap,id=sn0,fds=10:11,vhost=on,vhostfds=12:13")
        #expect(
            plan.placements[0].deviceArgument
                == "virtio-net-pci,id=sn0-nic,netdev=sn0,mac=02:00:00:00:00:01,mq=on,vectors=6,bus=sn-rp0,addr=0x0")
        #expect(plan.placements[1].netdevArgument == "tap,id=sn1,fds=20")
        #expect(
            plan.placements[1].deviceArgument
                == "virtio-net-pci,id=sn1-nic,netdev=sn1,mac=02:00:00:00:00:02,mq=on,vectors=4,bus=sn-rp1,addr=0x0")
        #expect(plan.inheritedFDs == [10, 11, 12, 13, 20])
        // Root ports come before the NICs that name them as their bus.
        let a = plan.arguments
        #expect(a.count == 2 * 3 + 4 * 2)
        #expect(
            a.prefix(6).enumerated().allSatisfy { $0.offset % 2 == 1 ? $0.element.hasPrefix("pcie-root-port,") : $0.element == "-device" })
        #expect(
            Array(a.suffix(8)) == [
                "-netdev", plan.placements[0].netdevArgument, "-device", plan.placements[0].deviceArgument,
                "-netdev", plan.placements[1].netdevArgument, "-device", plan.placements[1].deviceArgument
            ])
    }

    @Test func vectorsAreTwoPerQueuePairPlusTwo() {
        for n in 1...8 {
            #expect(QemuNIC(id: "a", mac: mac0, queueFDs: (0..<n).map { Int32($0 + 3) }).vectors == 2 * n + 2)
        }
    }

    @Test func mismatchedVhostDescriptorsAreRefused() {
        #expect(throws: QemuWiringError.self) {
            try QemuNetworkPlan(architecture: .arm64, nics: [QemuNIC(id: "sn0", mac: mac0, queueFDs: [3, 4], vhostFDs: [5])])
        }
    }

    @Test func emptyQueuesDuplicateAndBadIdsAreRefused() {
        #expect(throws: QemuWiringError.self) {
            try QemuNetworkPlan(architecture: .arm64, nics: [QemuNIC(id: "sn0", mac: mac0, queueFDs: [])])
        }
        #expect(throws: QemuWiringError.self) {
            try QemuNetworkPlan(
                architecture: .arm64, nics: [QemuNIC(id: "sn0", mac: mac0, queueFDs: [3]), QemuNIC(id: "sn0", mac: mac1, queueFDs: [4])])
        }
        #expect(throws: QemuWiringError.self) {
            try QemuNetworkPlan(architecture: .arm64, nics: [QemuNIC(id: "0,x=y", mac: mac0, queueFDs: [3])])
        }
    }
}
