import Foundation
import SwiftletKernels

/// Swiftlet's seeded random number generator: xoshiro256** seeded through SplitMix64.
///
/// Deterministic on every platform, cheap to copy, and `Codable`, so a training checkpoint can
/// store its exact state and a resumed run draws the same numbers as an uninterrupted one.
/// `Kernels/random.c` carries a C copy of `next()` and `nextNormal()` for `fillNormal`;
/// `RandomGeneratorTests` checks that the two agree.
public struct RandomGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The four state words of xoshiro256**.
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [splitMix(), splitMix(), splitMix(), splitMix()]
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotate(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1 / Float(1 << 24))
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniformDouble() -> Double {
        Double(next() >> 11) * (1 / Double(1 << 53))
    }

    /// A standard normal sample (Box–Muller in double precision, one value per call).
    public mutating func nextNormal() -> Double {
        let u1 = max(nextUniformDouble(), Double.leastNonzeroMagnitude)
        let u2 = nextUniformDouble()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Fills `values` with standard normal samples times `standardDeviation`: exactly the values,
    /// and the state afterwards, of `values.count` calls of `Float(nextNormal() * standardDeviation)`,
    /// with the transforms split over the kernels' threads (`swl_normal_fill`).
    public mutating func fillNormal(_ values: UnsafeMutableBufferPointer<Float>, standardDeviation: Double) {
        guard let start = values.baseAddress, !values.isEmpty else { return }
        precondition(state.count == 4, "xoshiro256** has 4 state words, not \(state.count)")
        state.withUnsafeMutableBufferPointer { words in
            swl_normal_fill(start, values.count, words.baseAddress!, standardDeviation)
        }
    }

    /// Uniform integer in 0..<bound (bound ≥ 1), without modulo bias.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound >= 1, "bound must be positive")
        return Int(next(upperBound: UInt64(bound)))
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
