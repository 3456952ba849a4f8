import SwiftletKernels

extension GPT {
    /// Before a `.overwrite` backward: zeroes every part of `gradients` that the pass adds into
    /// rather than writes whole (wpe, wte when untied, LayerNorms, biases, alignment gaps), so
    /// that the pass leaves the bits of `zeroGradients()` and an accumulating pass.
    func zeroGradientsNotOverwritten() {
        for range in gradientRangesNotOverwritten {
            swl_zero(gradients.baseAddress + range.lowerBound, range.count)
        }
    }

    /// Where in `gradients` an `.overwrite` backward writes whole: each Linear layer's weight
    /// gradient, the LM head's padding rows included (wte's, when tied).
    var overwrittenGradientRanges: [Range<Int>] {
        let linearLayers = blockLayers.flatMap { block in
            [block.attention.cAttn, block.attention.cProj] + (block.mlp.map { [$0.cFc, $0.cProj] } ?? [])
        } + [lmHead]
        return linearLayers.map { layer in
            let start = layer.weight.gradient - gradients.baseAddress
            return start..<(start + layer.outputs * layer.inputs)
        }
    }

    /// The parts of 0..<count that none of `ranges` (which do not overlap) covers, in order.
    static func gaps(between ranges: [Range<Int>], in count: Int) -> [Range<Int>] {
        var gaps: [Range<Int>] = [], start = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > start { gaps.append(start..<range.lowerBound) }
            start = max(start, range.upperBound)
        }
        if start < count { gaps.append(start..<count) }
        return gaps
    }
}
