// The one module to import for sandnet's typed operations:
//
//     import Sandnet
//
// brings the shared values (IPAddress, IPPrefix, MACAddress, IPFamily, NetworkModel),
// namespaces and sockets (NetworkNamespace, NetlinkHandle, FileDescriptor), links,
// addresses, routes, neighbours and events (Rtnetlink), qdiscs, classes, filters and
// actions (TrafficControl), tun/tap and macvtap queues (TapDevices).
//
// SandboxNetwork and QemuWiring come too: attaching a sandbox is the job these layers
// exist for, its results (AttachResult.plan) are QemuWiring types, and a caller that
// attaches a sandbox then hands QEMU its descriptors. Both are small and have no
// dependencies beyond the layers above.
//
// Not re-exported: NetlinkCodec (raw messages and kernel-named constants; import it
// explicitly to build requests the typed operations do not cover), HostCheck, the CLI
// and the test lab.

@_exported import NetlinkSocket
@_exported import QemuWiring
@_exported import Rtnetlink
@_exported import SandboxNetwork
@_exported import SandnetCore
@_exported import TapDevices
@_exported import TrafficControl
