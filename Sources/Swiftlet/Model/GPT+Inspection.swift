import SwiftletKernels

extension GPT {
    /// The attention probabilities of every head of one layer for one sequence: shape (H, T, T),
    /// `p[h, i, j]` = how much query position i attends to key position j (0 for j > i).
    ///
    /// Runs an inference forward pass on `tokens` (so it replaces the state of the last forward:
    /// run forward again before `backward()`), then recomputes the layer's softmax from its q and k
    /// (after RoPE, if used) with the naive kernel, whatever `config.attention` says.
    public func attentionProbabilities(for tokens: [Int32], layer: Int) throws -> Tensor {
        guard (0..<config.layerCount).contains(layer) else {
            throw ModelError.invalidArgument("layer must be in 0..<\(config.layerCount) (n_layer), got \(layer)")
        }
        try forward(tokens: tokens, batchSize: 1, sequenceLength: tokens.count, mode: .inference)
        guard let state = inspectionState else { throw ModelError.invalidState("forward left no activations") }
        let buffers = state.activations.blocks[layer]
        let (h, t, hs) = (config.headCount, tokens.count, config.headSize)
        var probabilities = [Float](repeating: 0, count: h * t * t)
        var output = [Float](repeating: 0, count: h * t * hs)
        probabilities.withUnsafeMutableBufferPointer { p in
            output.withUnsafeMutableBufferPointer { out in
                swl_attention_naive_forward(out.baseAddress, p.baseAddress, buffers.q, buffers.k, buffers.v,
                                            1, Int32(h), Int32(t), Int32(hs))
            }
        }
        return try Tensor(shape: [h, t, t], values: probabilities)
    }

    /// One head's attention probabilities (T, T) for one sequence; see
    /// `attentionProbabilities(for:layer:)`.
    public func attentionProbabilities(for tokens: [Int32], layer: Int, head: Int) throws -> Tensor {
        guard (0..<config.headCount).contains(head) else {
            throw ModelError.invalidArgument("head must be in 0..<\(config.headCount) (n_head), got \(head)")
        }
        let all = try attentionProbabilities(for: tokens, layer: layer)
        let t = tokens.count
        return try Tensor(shape: [t, t], values: Array(all.values[(head * t * t)..<((head + 1) * t * t)]))
    }

    /// Names `activation(named:)` accepts for this model.
    public var activationNames: [String] {
        var names = ["emb"]
        for layer in 0..<config.layerCount {
            let p = "h.\(layer)."
            names += [p + "ln_1", p + "qkv", p + "attn_y", p + "res_attn"]
            if config.hasMLP { names += [p + "ln_2", p + "fc", p + "fc_act", p + "res_mlp"] }
            names.append(p + "out")
        }
        if config.normalization == .pre { names.append("ln_f") }
        return names
    }

    /// A copy of one activation of the last forward pass, shape (B, T, ·), for debugging and
    /// pictures. Names follow the golden files: `emb` (wte[idx] + positions, before dropout);
    /// per block `h.{i}.ln_1`, `h.{i}.qkv` (c_attn output), `h.{i}.attn_y` (attention output
    /// before c_proj), `h.{i}.res_attn` (x + attention branch), `h.{i}.ln_2`, `h.{i}.fc`
    /// (before the activation), `h.{i}.fc_act` (alias `h.{i}.fc_gelu`), `h.{i}.res_mlp`,
    /// `h.{i}.out` (block output); `ln_f`.
    public func activation(named name: String) throws -> Tensor {
        guard let state = inspectionState else { throw ModelError.invalidState("no activations yet: run forward first") }
        let (a, b, t) = (state.activations, state.batch, state.time)
        let c = config.embeddingSize
        func copy(_ pointer: UnsafeMutablePointer<Float>?, width: Int) throws -> Tensor {
            guard let pointer else { throw ModelError.invalidArgument("activation \"\(name)\" does not exist in this model") }
            return try Tensor(shape: [b, t, width], values: Array(UnsafeBufferPointer(start: pointer, count: b * t * width)))
        }
        if name == "emb" { return try copy(a.encoded, width: c) }
        if name == "ln_f" { return try copy(a.lnF, width: c) }
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "h", let layer = Int(parts[1]), (0..<config.layerCount).contains(layer) else {
            throw ModelError.invalidArgument("unknown activation \"\(name)\"; expected one of \(activationNames.joined(separator: ", "))")
        }
        let block = a.blocks[layer]
        switch parts[2] {
        case "ln_1": return try copy(block.ln1, width: c)
        case "qkv": return try copy(block.qkv, width: 3 * c)
        case "attn_y": return try copy(block.yMerged, width: c)
        case "res_attn": return try copy(block.residual1, width: c)
        case "ln_2": return try copy(block.ln2, width: c)
        case "fc": return try copy(block.fc, width: config.mlpHiddenSize)
        case "fc_act", "fc_gelu": return try copy(block.fcActivated, width: config.mlpHiddenSize)
        case "res_mlp": return try copy(block.residual2, width: c)
        case "out": return try copy(blockLayers[layer].output(block), width: c)
        default:
            throw ModelError.invalidArgument("unknown activation \"\(name)\"; expected one of \(activationNames.joined(separator: ", "))")
        }
    }
}
