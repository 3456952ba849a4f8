import Swiftlet
import SwiftletKernels

/// What this machine can do: the measured FMA peak and streaming bandwidths per thread count.
///
/// Every "% of peak" in the report is relative to these measurements, taken on this run with the
/// active ISA path, never to datasheet numbers.
public struct MachineProfile: Equatable, Sendable {
    /// Peaks measured with one thread count.
    public struct Peak: Equatable, Sendable {
        public let threads: Int
        /// fp32 FMA throughput from register-resident FMA chains (an FMA counts 2 flops).
        public let gflops: Double
        /// In-place triad bandwidth (a = a + s·b) over buffers far larger than the last-level cache:
        /// what "% of peak" of a memory-bound case is relative to.
        public let gbs: Double
        /// Read-only bandwidth (one array read once), if measured: the ceiling of a kernel that
        /// only reads, such as cross-entropy's forward.
        public let readGbs: Double?
        /// Write-only bandwidth with streaming stores, if measured: the ceiling of a kernel that
        /// mostly writes, such as the causal softmax's forward.
        public let writeGbs: Double?

        public init(threads: Int, gflops: Double, gbs: Double, readGbs: Double? = nil, writeGbs: Double? = nil) {
            self.threads = threads
            self.gflops = gflops
            self.gbs = gbs
            self.readGbs = readGbs
            self.writeGbs = writeGbs
        }
    }

    /// The ISA path the peaks and kernels ran on (`avx512`, `avx2`, `portable`).
    public let isa: String
    /// One entry per thread count, in the order measured.
    public let peaks: [Peak]

    public init(isa: String, peaks: [Peak]) {
        self.isa = isa
        self.peaks = peaks
    }

    /// Peaks at `threads`, if that count was measured.
    public func peak(threads: Int) -> Peak? { peaks.first { $0.threads == threads } }

    /// The peaks at the largest thread count (what the JSON report's `machine` shows).
    public var widest: Peak? { peaks.max { $0.threads < $1.threads } }

    /// Measures each thread count. `quick` shortens the FMA loop and shrinks the stream buffers.
    public static func measure(threads: [Int], quick: Bool) -> MachineProfile {
        // 2 arrays of 192 MiB (quick: 96 MiB) each: far larger than any last-level cache here.
        let streamBytes = (quick ? 192 : 384) << 20
        let fmaSeconds = quick ? 0.2 : 0.5
        let peaks = threads.map { count in
            let threads = Int32(clamping: count)
            return Peak(
                threads: count,
                gflops: swl_measure_fma_gflops(threads, fmaSeconds),
                gbs: swl_measure_bandwidth_gbs(threads, streamBytes),
                readGbs: swl_measure_read_bandwidth_gbs(threads, streamBytes / 2),
                writeGbs: swl_measure_write_bandwidth_gbs(threads, streamBytes / 2))
        }
        return MachineProfile(isa: Runtime.instructionSet.rawValue, peaks: peaks)
    }
}
