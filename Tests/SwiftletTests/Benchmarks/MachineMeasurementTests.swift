import SwiftletKernels
import Testing

/// The machine measurements the harness's "% of peak" rests on return real rates: positive and
/// finite on 1 and 2 threads (small buffers here: this checks the loops, not the machine).
@Suite("Machine measurement") struct MachineMeasurementTests {
    @Test(arguments: [Int32(1), 2]) func everyMeasurementReturnsARate(threads: Int32) {
        let bytes = 8 << 20
        let rates = [
            ("FMA peak", swl_measure_fma_gflops(threads, 0.02)),
            ("triad", swl_measure_bandwidth_gbs(threads, bytes)),
            ("read", swl_measure_read_bandwidth_gbs(threads, bytes)),
            ("write", swl_measure_write_bandwidth_gbs(threads, bytes)),
        ]
        for (name, rate) in rates {
            #expect(rate.isFinite && rate > 0, "\(name) on \(threads) threads: \(rate)")
        }
    }

    /// One triad pass over the caller's arrays (the harness's adjacent measurement) does the
    /// triad's work, a += 0.5·b, and returns a rate.
    @Test(arguments: [Int32(1), 2]) func triadPassUpdatesItsArrays(threads: Int32) {
        let count = 1 << 20
        var a = [Float](repeating: 1, count: count)
        let b = (0..<count).map { Float($0 % 7) }
        let rate = a.withUnsafeMutableBufferPointer { swl_triad_pass_gbs($0.baseAddress, b, count, threads) }
        #expect(rate.isFinite && rate > 0, "triad pass on \(threads) threads: \(rate)")
        #expect(a == b.map { 1 + 0.5 * $0 })
    }
}
