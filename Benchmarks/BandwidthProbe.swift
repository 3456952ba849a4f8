import SwiftletKernels

/// The in-place triad the runner times just before and just after each memory-bound case, with
/// that case's thread count: the bandwidth the case's "% adj" is rated against.
///
/// Why not only the machine table at the top: on a shared VM the bandwidth moves while the run
/// goes on (here the 2-thread triad measured anywhere from 65 to 130 GB/s within minutes; not
/// measured why, most likely where the host places the two vCPUs and what other tenants do), so a
/// figure taken minutes before a case can misrate it either way. The arrays are allocated once
/// per run.
final class BandwidthProbe {
    private let a: UnsafeMutablePointer<Float>
    private let b: UnsafeMutablePointer<Float>
    private let count: Int
    /// Triad passes on each side of a case; the best pass counts, as in the machine table.
    let passes: Int

    /// Two arrays of `bytes`/2 each (choose ≫ the last-level cache).
    init(bytes: Int, passes: Int = 3) {
        count = max(64, bytes / (2 * MemoryLayout<Float>.stride))
        a = .allocate(capacity: count)
        b = .allocate(capacity: count)
        a.initialize(repeating: 0, count: count)
        b.initialize(repeating: 1, count: count)
        self.passes = max(1, passes)
    }

    deinit {
        a.deallocate()
        b.deallocate()
    }

    /// The best of `passes` triad passes on `threads` threads, in GB/s.
    func bestRate(threads: Int) -> Double {
        (0..<passes).map { _ in swl_triad_pass_gbs(a, b, count, Int32(clamping: threads)) }.max() ?? 0
    }
}
