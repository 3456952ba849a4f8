import Testing
import Swiftlet

@Suite("Cross-entropy kernels", .serialized) struct CrossEntropyTests {
    @Test func goldenOnEveryPath() throws {
        let golden = try Golden("crossentropy")
        for name in golden.caseNames {
            let c = golden.case(name)
            let logits = try c.tensor("logits"), targets = try c.int32s("targets")
            try forEachConfiguration { _, _ in
                let forward = try Kernels.crossEntropy(logits: logits, targets: targets)
                try c.expectClose([forward.loss], "loss")
                try c.expectClose(forward.losses.values, "losses")
                let dlogits = try Kernels.crossEntropyBackward(logits: logits, logSumExp: forward.logSumExp, targets: targets)
                try c.expectClose(dlogits.values, "dlogits")
            }
        }
    }
}
