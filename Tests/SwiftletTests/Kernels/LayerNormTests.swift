import Testing
import Swiftlet

@Suite("LayerNorm kernels", .serialized) struct LayerNormTests {
    @Test func goldenOnEveryPath() throws {
        let golden = try Golden("layernorm")
        for name in golden.caseNames {
            let c = golden.case(name)
            let x = try c.tensor("x"), w = try c.tensor("w"), b = try c.tensor("b"), dout = try c.tensor("dout")
            try forEachConfiguration { isa, threads in
                let forward = try Kernels.layerNorm(x, weight: w, bias: b, eps: 1e-5)
                try c.expectClose(forward.output.values, "out")
                try c.expectClose(forward.mean.values, "mean")
                try c.expectClose(forward.rstd.values, "rstd")
                let grads = try Kernels.layerNormBackward(
                    outputGradient: dout, input: x, weight: w, mean: forward.mean, rstd: forward.rstd)
                try c.expectClose(grads.input.values, "dx")
                try c.expectClose(grads.weight.values, "dw")
                try c.expectClose(grads.bias?.values ?? [], "db")
            }
        }
    }
}
