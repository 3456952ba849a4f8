import SwiftletKernels

/// A short FMA-peak measurement the runner takes just before and just after each compute-bound
/// case, with that case's thread count: the peak the case's "% adj" is rated against.
///
/// The counterpart of `BandwidthProbe`: on this shared VM the FMA rate moves too (one full run
/// measured 259 GFLOP/s per core at its start, where others measured 285, and its later matmuls
/// then ran at "99.8%" of it), so a peak taken minutes before a case can misrate it either way.
struct PeakProbe {
    /// Time budget of one measurement (`swl_measure_fma_gflops`: the best of at least 5 trials).
    let seconds: Double

    /// The FMA peak on `threads` threads, in GFLOP/s.
    func bestRate(threads: Int) -> Double {
        swl_measure_fma_gflops(Int32(clamping: threads), seconds)
    }
}
