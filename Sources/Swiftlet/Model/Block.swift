import SwiftletKernels

/// One transformer block: attention then MLP, each with LayerNorm and a residual connection.
///
/// - Pre-LN (GPT-2): `x = x + attn(ln_1(x))`, then `x = x + mlp(ln_2(x))`.
/// - Post-LN (original Transformer): `x = ln_1(x + attn(x))`, then `x = ln_2(x + mlp(x))`.
/// - Without an MLP (`mlp_hidden` 0) the block stops after the attention half.
struct Block {
    let ln1: LayerNorm
    let attention: CausalSelfAttention
    let ln2: LayerNorm?
    let mlp: MLP?
    let normalization: GPTConfig.Normalization
    let channels: Int

    /// Runs the block on `input` (N,C) and returns its output (N,C), a buffer in `a`.
    func forward(
        _ a: BlockActivations, input: UnsafePointer<Float>, batch: Int, time: Int,
        dropout: DropoutPlan?
    ) -> UnsafeMutablePointer<Float> {
        let rows = batch * time, count = rows * channels
        switch normalization {
        case .pre:
            ln1.forward(a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, input, rows: rows)
            let attended = attention.forward(a, input: a.ln1, batch: batch, time: time, dropout: dropout)
            swl_residual_forward(a.residual1, input, attended, count)
            guard let mlp, let ln2, let normalized = a.ln2, let residual2 = a.residual2 else { return a.residual1 }
            ln2.forward(normalized, mean: a.ln2Mean!, rstd: a.ln2Rstd!, a.residual1, rows: rows)
            let transformed = mlp.forward(a, input: normalized, rows: rows, dropout: dropout)
            swl_residual_forward(residual2, a.residual1, transformed, count)
            return residual2
        case .post:
            let attended = attention.forward(a, input: input, batch: batch, time: time, dropout: dropout)
            swl_residual_forward(a.residual1, input, attended, count)
            ln1.forward(a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, a.residual1, rows: rows)
            guard let mlp, let ln2, let normalized = a.ln2, let residual2 = a.residual2 else { return a.ln1 }
            let transformed = mlp.forward(a, input: a.ln1, rows: rows, dropout: dropout)
            swl_residual_forward(residual2, a.ln1, transformed, count)
            ln2.forward(normalized, mean: a.ln2Mean!, rstd: a.ln2Rstd!, residual2, rows: rows)
            return normalized
        }
    }

    /// The buffer in `a` that holds the block's output after `forward`.
    func output(_ a: BlockActivations) -> UnsafeMutablePointer<Float> {
        switch normalization {
        case .pre: a.residual2 ?? a.residual1
        case .post: a.ln2 ?? a.ln1
        }
    }

    /// On entry `g.stream` holds ∂L/∂output; on exit it holds ∂L/∂input. The Linear weights'
    /// gradients are written as `write` says, the LayerNorms' and biases' added into.
    func backward(
        _ a: BlockActivations, input: UnsafePointer<Float>, batch: Int, time: Int,
        dropout: DropoutPlan?, scratch g: ActivationGradients, weightGradients write: GradientWrite
    ) {
        let rows = batch * time, count = rows * channels
        let stream = g.stream
        switch normalization {
        case .pre:
            // The residual passes ∂L/∂output straight through; each sublayer adds its part.
            // The sublayers write their input gradients into g.normalized (no clearing first).
            if let mlp, let ln2, let normalized = a.ln2 {
                mlp.backward(dInput: g.normalized, dOutput: stream, a, input: normalized, rows: rows,
                             dropout: dropout, scratch: g, inputGradient: .overwrite, weightGradients: write)
                ln2.backward(dx: stream, g.normalized, a.residual1, mean: a.ln2Mean!, rstd: a.ln2Rstd!, rows: rows)
            }
            attention.backward(dInput: g.normalized, dOutput: stream, a, input: a.ln1, batch: batch, time: time,
                               dropout: dropout, scratch: g, inputGradient: .overwrite, weightGradients: write)
            ln1.backward(dx: stream, g.normalized, input, mean: a.ln1Mean, rstd: a.ln1Rstd, rows: rows)
        case .post:
            let residual = g.residualScratch
            var sublayerOutput = stream  // ∂L/∂(ln_1 output)
            if let mlp, let ln2, let residual2 = a.residual2 {
                // ∂L/∂(x + mlp(x)) through ln_2, then the MLP adds its input gradient in place.
                residual.clear(count)
                ln2.backward(dx: residual, stream, residual2, mean: a.ln2Mean!, rstd: a.ln2Rstd!, rows: rows)
                mlp.backward(dInput: residual, dOutput: residual, a, input: a.ln1, rows: rows,
                             dropout: dropout, scratch: g, inputGradient: .accumulate, weightGradients: write)
                sublayerOutput = residual
            }
            // ∂L/∂(x + attn(x)) through ln_1, into the stream buffer.
            if sublayerOutput == stream {
                residual.update(from: stream, count: count)
                sublayerOutput = residual
            }
            stream.clear(count)
            ln1.backward(dx: stream, sublayerOutput, a.residual1, mean: a.ln1Mean, rstd: a.ln1Rstd, rows: rows)
            attention.backward(dInput: stream, dOutput: stream, a, input: input, batch: batch, time: time,
                               dropout: dropout, scratch: g, inputGradient: .accumulate, weightGradients: write)
        }
    }
}
