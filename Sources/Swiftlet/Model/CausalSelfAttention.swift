import SwiftletKernels

/// Multi-head causal self-attention, nanoGPT's `CausalSelfAttention`:
/// `c_attn` → split q, k, v into heads → (RoPE on q, k) → softmax(q·kᵀ/√hs)·v → merge heads →
/// `c_proj` → residual dropout.
struct CausalSelfAttention {
    let cAttn: Linear          // (3C, C)
    let cProj: Linear          // (C, C)
    let layer: Int
    let heads: Int
    let headSize: Int
    let ropeBase: Float?       // RoPE on q and k when set
    /// Flash keeps a logsumexp per row; naive materializes the (B,H,T,T) probabilities. With a
    /// dropout plan, flash draws the probabilities' mask inside its kernel and naive drops them
    /// with the dropout kernel after the softmax: the same mask either way.
    let kernel: AttentionKernel

    private var channels: Int { heads * headSize }

    /// Runs attention on `input` (N,C) and returns the sublayer output (N,C) (after dropout).
    func forward(
        _ a: BlockActivations, input: UnsafePointer<Float>, batch: Int, time: Int,
        dropout: DropoutPlan?
    ) -> UnsafeMutablePointer<Float> {
        let (b, t, h, hs) = (Int32(batch), Int32(time), Int32(heads), Int32(headSize))
        let rows = batch * time
        cAttn.forward(a.qkv, input, rows: rows)
        swl_split_heads_forward(a.q, a.k, a.v, a.qkv, b, t, h, hs)
        if let ropeBase {
            swl_rope_forward(a.q, a.q, b, h, t, hs, ropeBase, 0)
            swl_rope_forward(a.k, a.k, b, h, t, hs, ropeBase, 0)
        }
        let (probability, seed) = probabilityDropout(dropout)
        switch (kernel, dropout) {
        case (.flash, _):
            swl_attention_flash_forward_dropout(a.y, a.logsumexp, a.q, a.k, a.v, b, h, t, hs, probability, seed)
        case (.naive, nil):
            swl_attention_naive_forward(a.y, a.probabilities, a.q, a.k, a.v, b, h, t, hs)
        case (.naive, let dropout?):
            forwardWithDropout(a, batch: batch, time: time, dropout: dropout)
        }
        swl_merge_heads_forward(a.yMerged, a.y, b, t, h, hs)
        cProj.forward(a.attentionProjection, a.yMerged, rows: rows)
        guard let dropout, let dropped = a.attentionDropped else { return a.attentionProjection }
        dropout.forward(dropped, a.attentionProjection, count: rows * channels, site: .attentionResidual(layer: layer))
        return dropped
    }

    /// dInput (N,C) += ∂L/∂input given dOutput (N,C) = ∂L/∂(sublayer output), or with
    /// `inputGradient: .overwrite` dInput = ∂L/∂input (nothing in it read). dInput may be the same
    /// buffer as dOutput: dOutput is consumed before dInput is written.
    func backward(
        dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, _ a: BlockActivations,
        input: UnsafePointer<Float>, batch: Int, time: Int, dropout: DropoutPlan?,
        scratch g: ActivationGradients, inputGradient dInputWrite: GradientWrite, weightGradients write: GradientWrite
    ) {
        let (b, t, h, hs) = (Int32(batch), Int32(time), Int32(heads), Int32(headSize))
        let rows = batch * time, count = rows * channels
        var dProjection = dOutput
        if let dropout, a.attentionDropped != nil {
            g.projection.clear(count)
            dropout.backward(g.projection, dOutput, count: count, site: .attentionResidual(layer: layer))
            dProjection = UnsafePointer(g.projection)
        }
        // Scratch gradients are written over, not added into, except dq, dk, dv: flash attention
        // adds into those.
        cProj.backward(dx: g.yMerged, dProjection, a.yMerged, rows: rows, inputGradient: .overwrite,
                       weightGradient: write)
        swl_merge_heads_input_gradient(g.y, g.yMerged, b, t, h, hs)
        g.q.clear(count); g.k.clear(count); g.v.clear(count)
        let (probability, seed) = probabilityDropout(dropout)
        switch (kernel, dropout) {
        case (.flash, _):
            swl_attention_flash_backward_dropout(g.q, g.k, g.v, g.y, a.q, a.k, a.v, a.y, a.logsumexp, b, h, t, hs,
                                                 probability, seed)
        case (.naive, nil):
            swl_attention_naive_backward(g.q, g.k, g.v, g.squares, g.y, a.q, a.k, a.v, a.probabilities, b, h, t, hs)
        case (.naive, let dropout?):
            backwardWithDropout(a, scratch: g, batch: batch, time: time, dropout: dropout)
        }
        var dq = g.q, dk = g.k
        if let ropeBase, let dqBefore = g.qBeforeRotation, let dkBefore = g.kBeforeRotation {
            dqBefore.clear(count); dkBefore.clear(count)
            swl_rope_backward(dqBefore, g.q, b, h, t, hs, ropeBase, 0)
            swl_rope_backward(dkBefore, g.k, b, h, t, hs, ropeBase, 0)
            dq = dqBefore; dk = dkBefore
        }
        swl_split_heads_input_gradient(g.qkv, dq, dk, g.v, b, t, h, hs)
        cAttn.backward(dx: dInput, g.qkv, input, rows: rows, inputGradient: dInputWrite, weightGradient: write)
    }

    // MARK: Attention-probability dropout (naive path)

    /// y = dropout(softmax(q·kᵀ·scale))·v per (batch, head), with the linear kernels as matmuls:
    /// `swl_linear_forward(out, x, W)` is x·Wᵀ and `swl_linear_backward(dx, …, dout, …, W)` adds dout·W.
    private func forwardWithDropout(_ a: BlockActivations, batch: Int, time: Int, dropout: DropoutPlan) {
        let square = time * time, slab = time * headSize, pairs = batch * heads
        let (t, hs) = (Int32(time), Int32(headSize))
        let probabilities = a.probabilities!, dropped = a.droppedProbabilities!
        // Raw scores q·kᵀ go into `dropped` first; entries above the diagonal are never read.
        for pair in 0..<pairs {
            swl_linear_forward(dropped + pair * square, a.q + pair * slab, a.k + pair * slab, nil, t, hs, t)
        }
        swl_causal_softmax_forward(probabilities, dropped, Int32(pairs), t, scale)
        dropout.forward(dropped, probabilities, count: pairs * square, site: .attentionProbabilities(layer: layer))
        a.y.clear(pairs * slab)
        for pair in 0..<pairs {
            // y (T,hs) += dropped (T,T) · v (T,hs)
            swl_linear_backward(a.y + pair * slab, nil, nil, dropped + pair * square, a.v + pair * slab,
                                a.v + pair * slab, t, hs, t)
        }
    }

    private func backwardWithDropout(_ a: BlockActivations, scratch g: ActivationGradients, batch: Int, time: Int,
                                     dropout: DropoutPlan) {
        let square = time * time, slab = time * headSize, pairs = batch * heads
        let (t, hs) = (Int32(time), Int32(headSize))
        let dropped = a.droppedProbabilities!, dDropped = g.squares!, dProbabilities = g.squares2!
        for pair in 0..<pairs {
            let dy = g.y + pair * slab
            // ∂L/∂dropped (T,T) = dy·vᵀ;  dv (T,hs) += droppedᵀ·dy
            swl_linear_forward(dDropped + pair * square, dy, a.v + pair * slab, nil, t, hs, t)
            swl_linear_backward(nil, g.v + pair * slab, nil, dropped + pair * square, dy, a.v + pair * slab, t, hs, t)
        }
        dProbabilities.clear(pairs * square)
        dropout.backward(dProbabilities, dDropped, count: pairs * square, site: .attentionProbabilities(layer: layer))
        // In place: dscores overwrites dprobs (0 above the diagonal). Two streams instead of three
        // run the kernel about a fifth faster at T=1024 than writing a third buffer.
        let dScores = dProbabilities
        swl_causal_softmax_backward(dScores, dProbabilities, a.probabilities, Int32(pairs), t, scale)
        for pair in 0..<pairs {
            // dq (T,hs) += dscores·k;  dk (T,hs) += dscoresᵀ·q
            swl_linear_backward(g.q + pair * slab, g.k + pair * slab, nil, dScores + pair * square,
                                a.q + pair * slab, a.k + pair * slab, t, hs, t)
        }
    }

    private var scale: Float { 1 / Float(headSize).squareRoot() }

    /// The flash kernels' dropout arguments: the probability and this layer's seed for the
    /// attention probabilities, or (0, 0), which is no dropout.
    private func probabilityDropout(_ plan: DropoutPlan?) -> (Float, UInt64) {
        guard let plan else { return (0, 0) }
        return (plan.probability, plan.seed(.attentionProbabilities(layer: layer)))
    }
}
