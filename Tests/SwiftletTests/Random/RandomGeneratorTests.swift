import Foundation
import Swiftlet
import Testing

@Suite("Random generator and normal samples") struct RandomGeneratorTests {
    /// `count` values of `Float(nextNormal() * std)`, one call at a time (the reference).
    private func normalsOneAtATime(_ random: inout RandomGenerator, count: Int, std: Double) -> [Float] {
        (0..<count).map { _ in Float(random.nextNormal() * std) }
    }

    private func filledNormals(_ random: inout RandomGenerator, count: Int, std: Double) -> [Float] {
        var values = [Float](repeating: .nan, count: count)
        values.withUnsafeMutableBufferPointer { random.fillNormal($0, standardDeviation: std) }
        return values
    }

    @Test func matchesAnIndependentComputation() {
        // Python: xoshiro256** seeded through SplitMix64 (seed 42), Box–Muller with math.log and
        // math.cos, times 0.02, rounded to float32 (struct.pack('f', …)); the bit patterns.
        let expected: [UInt32] = [0xbd04_27c1, 0x3c80_128a, 0x39a6_6c2e, 0x3c1c_5fd9, 0xbc51_890c, 0xbb90_d49b]
        var oneAtATime = RandomGenerator(seed: 42)
        #expect(normalsOneAtATime(&oneAtATime, count: 6, std: 0.02).map(\.bitPattern) == expected)
        var filled = RandomGenerator(seed: 42)
        #expect(filledNormals(&filled, count: 6, std: 0.02).map(\.bitPattern) == expected)
        let stateAfter: [UInt64] = [13_800_248_986_552_044_069, 14_939_303_932_290_744_033,
                                    15_952_673_073_804_962_195, 16_834_053_565_705_300_548]
        #expect(oneAtATime.state == stateAfter)
        #expect(filled.state == stateAfter)
    }

    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, 200_003])
    func fillingMatchesOneAtATimeOnAnyThreadCount(count: Int) throws {
        var reference = RandomGenerator(seed: 7)
        let expected = normalsOneAtATime(&reference, count: count, std: 0.02)
        for threads in [1, 2, 3] {
            var random = RandomGenerator(seed: 7)
            let values = try Runtime.with(threads: threads) { filledNormals(&random, count: count, std: 0.02) }
            #expect(values.map(\.bitPattern) == expected.map(\.bitPattern), "\(threads) threads")
            #expect(random == reference, "state after \(count) values on \(threads) threads")
        }
    }

    @Test func normalSamplesHaveUnitVariance() {
        var random = RandomGenerator(seed: 11)
        let values = filledNormals(&random, count: 1_000_000, std: 1)
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        let fourth = values.reduce(0.0) { $0 + pow(Double($1) - mean, 4) } / Double(values.count)
        // Standard errors at a million samples: mean 0.001, variance 0.0014, fourth moment 0.01.
        #expect(abs(mean) < 0.005)
        #expect(abs(variance - 1) < 0.007)
        #expect(abs(fourth / (variance * variance) - 3) < 0.05)
        #expect(values.allSatisfy { $0.isFinite })
    }
}
