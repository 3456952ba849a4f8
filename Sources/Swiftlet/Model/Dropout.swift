import SwiftletKernels

/// The dropout masks of one forward pass: a probability and one seed per place dropout happens.
///
/// The kernels draw each mask from (seed, element index), so a mask is recomputed in backward
/// instead of stored, and it does not depend on the thread count. Seeds come from the model's
/// dropout seed and a counter of training forwards: a resumed run that restores the counter
/// draws the same masks as an uninterrupted one.
struct DropoutPlan {
    let probability: Float
    private let passSeed: UInt64

    init(probability: Float, modelSeed: UInt64, pass: UInt64) {
        self.probability = probability
        passSeed = Self.mix(modelSeed ^ Self.mix(pass &+ 0x5157_4C45_5444_524F))
    }

    /// Where dropout happens, numbered so every mask in a pass has its own seed.
    enum Site {
        case embedding
        case attentionProbabilities(layer: Int)
        case attentionResidual(layer: Int)
        case mlpResidual(layer: Int)

        var index: UInt64 {
            switch self {
            case .embedding: 0
            case .attentionProbabilities(let layer): UInt64(3 * layer + 1)
            case .attentionResidual(let layer): UInt64(3 * layer + 2)
            case .mlpResidual(let layer): UInt64(3 * layer + 3)
            }
        }
    }

    func seed(_ site: Site) -> UInt64 { Self.mix(passSeed &+ site.index &* 0x9E37_79B9_7F4A_7C15) }

    /// out (n) ← dropout(x).
    func forward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, site: Site) {
        swl_dropout_forward(out, x, count, probability, seed(site))
    }

    /// dx (n) += mask·dout/(1−p).
    func backward(_ dx: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, count: Int, site: Site) {
        swl_dropout_backward(dx, dout, count, probability, seed(site))
    }

    /// SplitMix64's finalizer: a well-mixed 64-bit hash.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
