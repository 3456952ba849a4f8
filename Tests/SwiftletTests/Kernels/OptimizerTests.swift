import Testing
import Swiftlet

@Suite("Optimizer kernels", .serialized) struct OptimizerTests {
    @Test func adamWGoldenOnEveryPath() throws {
        let golden = try Golden("adamw")
        for name in golden.caseNames {
            let c = golden.case(name)
            let config = c.config
            let step = Int(try c.int32s("t")[0])
            try forEachConfiguration { _, _ in
                var parameters = try c.tensor("param"), m = try c.tensor("m_in"), v = try c.tensor("v_in")
                try Kernels.adamWUpdate(
                    parameters: &parameters, gradients: try c.tensor("grad"), firstMoment: &m, secondMoment: &v,
                    step: step, learningRate: Float(config["lr"] as! Double), beta1: Float(config["beta1"] as! Double),
                    beta2: Float(config["beta2"] as! Double), eps: Float(config["eps"] as! Double),
                    weightDecay: Float(config["wd"] as! Double))
                try c.expectClose(parameters.values, "param_out")
                try c.expectClose(m.values, "m_out")
                try c.expectClose(v.values, "v_out")
            }
        }
    }

    @Test func clipGoldenOnEveryPath() throws {
        let golden = try Golden("clip")
        for name in golden.caseNames {
            let c = golden.case(name)
            let inputs = try ["g0", "g1", "g2"].map { try c.tensor($0) }
            try forEachConfiguration { _, _ in
                var gradients = inputs
                let norm = Kernels.clipGradientNorm(&gradients, maxNorm: 1)
                try c.expectClose([norm], "total_norm")
                for (index, gradient) in gradients.enumerated() {
                    try c.expectClose(gradient.values, "g\(index)_out")
                }
                if name == "below" {
                    for (got, input) in zip(gradients, inputs) { expectBitwiseEqual(got.values, input.values, "below: untouched") }
                }
            }
        }
    }
}
