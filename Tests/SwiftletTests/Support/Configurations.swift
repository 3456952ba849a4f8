import Foundation
import Testing
import Swiftlet

/// Runs `body` once per ISA path this CPU supports and per thread count, restoring the runtime
/// settings afterwards. Use with `.serialized` suites: the settings are process-wide.
func forEachConfiguration(
    threads: [Int] = [1, 2], _ body: (InstructionSet, Int) throws -> Void
) throws {
    for isa in InstructionSet.supported {
        for count in threads {
            try Runtime.with(threads: count, instructionSet: isa) { try body(isa, count) }
        }
    }
}

/// Runs `body` with 1 and with 2 threads on every ISA path and checks that each path gives
/// bitwise-identical outputs for both thread counts.
func expectThreadIndependent(_ label: String, _ body: () throws -> [[Float]]) throws {
    for isa in InstructionSet.supported {
        let one = try Runtime.with(threads: 1, instructionSet: isa) { try body() }
        let two = try Runtime.with(threads: 2, instructionSet: isa) { try body() }
        for (index, (a, b)) in zip(one, two).enumerated() {
            expectBitwiseEqual(a, b, "\(label) output \(index) on \(isa.rawValue), 1 vs 2 threads")
        }
    }
}

/// Deterministic pseudo-random numbers for tests (SplitMix64).
struct TestRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Approximately standard normal (Box–Muller).
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }

    mutating func normals(_ count: Int, std: Float = 1) -> [Float] { (0..<count).map { _ in normal() * std } }
    mutating func int(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
