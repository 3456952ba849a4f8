import Testing
import Swiftlet

@Suite("Embedding kernels", .serialized) struct EmbeddingTests {
    @Test func goldenOnEveryPath() throws {
        let golden = try Golden("embedding")
        for name in golden.caseNames {
            let c = golden.case(name)
            let ids = try c.int32s("idx"), wte = try c.tensor("wte"), wpe = try c.tensor("wpe"), dout = try c.tensor("dout")
            let (batch, time) = (c.shape("idx")[0], c.shape("idx")[1])
            try forEachConfiguration { _, _ in
                let out = try Kernels.embedding(ids: ids, batch: batch, time: time, tokenTable: wte, positionTable: wpe)
                try c.expectClose(out.values, "out")
                let grads = try Kernels.embeddingBackward(
                    outputGradient: dout, ids: ids, vocabularySize: wte.shape[0], positionRows: wpe.shape[0])
                try c.expectClose(grads.tokenTable.values, "dwte")
                try c.expectClose(grads.positionTable?.values ?? [], "dwpe")
            }
        }
    }
}
