import Foundation

/// Central finite differences of a scalar function, checked against an analytic gradient.
///
/// `loss` maps the inputs to a scalar computed in Double from a float32 forward, typically
/// Σ out·w for a fixed random w so every output element matters. Checks `count` randomly chosen
/// coordinates: |numeric − analytic| ≤ atol + rtol·|numeric|.
func expectGradientMatchesFiniteDifferences(
    _ label: String,
    at input: [Float],
    analytic: [Float],
    epsilon: Float = 1e-2,
    rtol: Double = 2e-2,
    atol: Double = 1e-3,
    count: Int = 24,
    seed: UInt64 = 7,
    loss: ([Float]) throws -> Double
) rethrows {
    var random = TestRandom(seed: seed)
    var x = input
    let picks = input.count <= count ? Array(input.indices) : (0..<count).map { _ in random.int(below: input.count) }
    for i in picks {
        let saved = x[i]
        x[i] = saved + epsilon
        let plus = try loss(x)
        x[i] = saved - epsilon
        let minus = try loss(x)
        x[i] = saved
        let numeric = (plus - minus) / (2 * Double(epsilon))
        let exact = Double(analytic[i])
        let ok = exact.isFinite && abs(numeric - exact) <= atol + rtol * abs(numeric)
        if !ok {
            Issue.record("\(label): d/dx[\(i)] analytic \(exact), finite difference \(numeric)")
            return
        }
    }
}

import Testing
