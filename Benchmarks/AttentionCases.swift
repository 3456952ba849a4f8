import Foundation
import SwiftletKernels

/// Naive vs flash causal attention over a sweep of sequence lengths T, forward and forward+backward.
///
/// Shape (B,H,T,hs) = (1, 12, T, 64): one GPT-2 124M layer's heads for one sequence. FLOPs follow
/// the usual causal convention: forward 2·B·H·T²·hs, forward+backward 2.5× that.
///
/// Extra bytes are what each algorithm needs beyond q, k, v, out and their gradients:
/// - naive forward materializes the probabilities `att` (B,H,T,T); its backward adds the score
///   gradients `scratch` (B,H,T,T);
/// - flash forward saves only the row logsumexp `lse` (B,H,T), plus the per-thread tiles it
///   allocates inside the kernel (`FlashScratch`).
enum AttentionCases {
    static let batch = 1
    static let heads = 12
    static let headSize = 64

    /// T values: 64, 128, …, 8192 (quick: 64, 256, 1024).
    static func defaultSequenceLengths(quick: Bool) -> [Int] {
        quick ? [64, 256, 1024] : (6...13).map { 1 << $0 }
    }

    /// Naive cases whose buffers would need more than this fraction of available memory are skipped.
    static let memoryFraction = 0.5

    static func all(sequenceLengths: [Int], availableBytes: Int?) -> [BenchmarkCase] {
        sequenceLengths.flatMap { t in
            [
                naive(t: t, backward: false, availableBytes: availableBytes), flash(t: t, backward: false),
                naive(t: t, backward: true, availableBytes: availableBytes), flash(t: t, backward: true),
            ]
        }
    }

    static func name(backward: Bool) -> String { backward ? "attention_fwd_bwd" : "attention_fwd" }

    static func shape(t: Int) -> String { "\(batch),\(heads),\(t),\(headSize)" }

    static func flops(t: Int, backward: Bool) -> Double {
        let forward = 2 * Double(batch * heads) * Double(t) * Double(t) * Double(headSize)
        return backward ? 2.5 * forward : forward
    }

    /// Bytes of q, k, v, out (and with backward dq, dk, dv, dout): what both algorithms share.
    static func ioBytes(t: Int, backward: Bool) -> Int {
        (backward ? 8 : 4) * batch * heads * t * headSize * MemoryLayout<Float>.stride
    }

    /// att (B,H,T,T), and with backward the same again for the score gradients.
    static func naiveExtraBytes(t: Int, backward: Bool) -> Int {
        (backward ? 2 : 1) * batch * heads * t * t * MemoryLayout<Float>.stride
    }

    static func naive(t: Int, backward: Bool, availableBytes: Int?) -> BenchmarkCase {
        let extra = naiveExtraBytes(t: t, backward: backward)
        let needed = extra + ioBytes(t: t, backward: backward)
        var skipReason: String?
        if let availableBytes, Double(needed) > memoryFraction * Double(availableBytes) {
            skipReason = "naive needs \(Report.mebibytes(needed)) MiB, over half of the "
                + "\(Report.mebibytes(availableBytes)) MiB available: skipped"
        }
        let (b, h, length, hs) = (Int32(batch), Int32(heads), Int32(t), Int32(headSize))
        let count = batch * heads * t * headSize
        let square = batch * heads * t * t
        return BenchmarkCase(
            name: name(backward: backward), variant: "naive", shape: shape(t: t),
            flops: flops(t: t, backward: backward), extraBytes: { _ in extra }, skipReason: skipReason
        ) { space in
            let q = space.floats(count), k = space.floats(count), v = space.floats(count)
            let out = space.zeros(count), att = space.zeros(square)
            guard backward else {
                return { swl_attention_naive_forward(out, att, q, k, v, b, h, length, hs) }
            }
            let dout = space.floats(count, scale: 0.01), scratch = space.zeros(square)
            let dq = space.zeros(count), dk = space.zeros(count), dv = space.zeros(count)
            return {
                swl_attention_naive_forward(out, att, q, k, v, b, h, length, hs)
                swl_attention_naive_backward(dq, dk, dv, scratch, dout, q, k, v, att, b, h, length, hs)
            }
        }
    }

    static func flash(t: Int, backward: Bool) -> BenchmarkCase {
        flash(t: t, backward: backward, dropout: 0,
              name: name(backward: backward), variant: "flash")
    }

    /// Flash attention, with `dropout` on the probabilities drawn inside the kernel when > 0 (the
    /// plain kernels are these with 0: the same code and bits).
    static func flash(t: Int, backward: Bool, dropout: Float, name: String, variant: String) -> BenchmarkCase {
        let lseBytes = batch * heads * t * MemoryLayout<Float>.stride
        let (b, h, length, hs) = (Int32(batch), Int32(heads), Int32(t), Int32(headSize))
        let count = batch * heads * t * headSize
        let seed: UInt64 = 0x5EED
        return BenchmarkCase(
            name: name, variant: variant, shape: shape(t: t),
            flops: flops(t: t, backward: backward),
            extraBytes: { threads in
                lseBytes + threads * FlashScratch.bytesPerThread(
                    planes: batch * heads, t: t, headSize: headSize, threads: threads, backward: backward)
            }
        ) { space in
            let q = space.floats(count), k = space.floats(count), v = space.floats(count)
            let out = space.zeros(count), lse = space.zeros(batch * heads * t)
            guard backward else {
                return { swl_attention_flash_forward_dropout(out, lse, q, k, v, b, h, length, hs, dropout, seed) }
            }
            let dout = space.floats(count, scale: 0.01)
            let dq = space.zeros(count), dk = space.zeros(count), dv = space.zeros(count)
            return {
                swl_attention_flash_forward_dropout(out, lse, q, k, v, b, h, length, hs, dropout, seed)
                swl_attention_flash_backward_dropout(dq, dk, dv, dout, q, k, v, out, lse, b, h, length, hs, dropout, seed)
            }
        }
    }
}

/// Flash attention with dropout on the probabilities drawn inside the kernel (as training with
/// `dropout > 0` runs it), to read against `attention_fwd` / `attention_fwd_bwd` flash at the same T:
/// the FLOPs are counted the same, so the GFLOP/s ratio is the cost of the mask.
enum AttentionDropoutCases {
    static let name = "flash_dropout"
    /// nanoGPT's GPT-2 fine-tuning value (its shakespeare-char recipe uses 0.2: the same cost).
    static let probability: Float = 0.1

    static func all(quick: Bool) -> [BenchmarkCase] {
        (quick ? [256, 1024] : [256, 1024, 4096]).flatMap { t in
            [false, true].map { backward in
                AttentionCases.flash(t: t, backward: backward, dropout: probability, name: name,
                                     variant: backward ? "fwd_bwd" : "forward")
            }
        }
    }
}

/// Bytes of the available memory, from /proc/meminfo's MemAvailable (nil where unreadable).
enum AvailableMemory {
    static func bytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kibibytes = Int(fields[1]) { return kibibytes * 1024 }
        }
        return nil
    }
}

/// Scratch the flash kernels allocate per thread, mirroring the sizes in Kernels/attention_flash.c
/// (`forward_scratch_floats`, `backward_scratch_floats`, `use_whole_heads`): tiles of 64, one
/// block per thread, each rounded up to whole 64-byte lines. Forward+backward frees the forward
/// block before the backward allocates, so its peak is the backward block.
enum FlashScratch {
    static let tile = 64

    static func bytesPerThread(planes: Int, t: Int, headSize hs: Int, threads: Int, backward: Bool) -> Int {
        var floats: Int
        if backward {
            floats = 4 * hs * tile + 3 * tile * tile + 2 * tile  // Qᵀ, dOᵀ, … and the P, dP, dS tiles
            if usesWholeHeads(planes: planes, threads: threads) {
                floats += (t + tile - 1) / tile * hs * tile  // the per-head dQᵀ (T rounded up to tiles)
            }
        } else {
            floats = 2 * hs * tile + tile * tile + 4 * tile  // Qᵀ, Oᵀ, Sᵀ, m, l, alpha, max
        }
        return (floats + 15) / 16 * 16 * MemoryLayout<Float>.stride
    }

    /// Whole-head backward tasks when there are enough heads to balance the threads.
    static func usesWholeHeads(planes: Int, threads: Int) -> Bool {
        let perThread = (planes + threads - 1) / threads
        return 5 * threads * perThread <= 7 * planes
    }
}
