import Testing
import Swiftlet

@Suite("Activation kernels", .serialized) struct ActivationTests {
    @Test func geluGoldenOnEveryPath() throws {
        let golden = try Golden("gelu")
        for name in golden.caseNames {
            let c = golden.case(name)
            let x = try c.tensor("x"), dout = try c.tensor("dout")
            try forEachConfiguration { _, _ in
                try c.expectClose(Kernels.activation(x, .geluTanh).values, "out_tanh")
                try c.expectClose(Kernels.activationBackward(outputGradient: dout, input: x, .geluTanh).values, "dx_tanh")
                try c.expectClose(Kernels.activation(x, .geluErf).values, "out_erf")
                try c.expectClose(Kernels.activationBackward(outputGradient: dout, input: x, .geluErf).values, "dx_erf")
            }
        }
    }
}
