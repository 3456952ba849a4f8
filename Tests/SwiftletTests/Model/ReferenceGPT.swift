import Foundation
import Swiftlet

/// An independent, deliberately plain float64 forward pass of one sequence through any
/// `GPTConfig` variant, reading the parameters by name. It shares no code with the model or
/// the kernels, so it checks the architecture itself (where LayerNorm sits, what RoPE rotates,
/// which table is added), which finite differences cannot.
struct ReferenceGPT {
    let config: GPTConfig
    let parameters: ParameterStore

    private func tensor(_ name: String) -> [Double]? {
        (try? parameters.tensor(named: name))?.values.map(Double.init)
    }

    /// Logits (T, V) for `tokens`.
    func logits(_ tokens: [Int32]) -> [[Double]] {
        let c = config.embeddingSize, t = tokens.count
        let wte = tensor("transformer.wte.weight")!
        var x: [[Double]] = (0..<t).map { i in
            let row = Array(wte[(Int(tokens[i]) * c)..<(Int(tokens[i]) * c + c)])
            switch config.position {
            case .learned:
                let wpe = tensor("transformer.wpe.weight")!
                return zip(row, wpe[(i * c)..<(i * c + c)]).map { $0 + $1 }
            case .sinusoidal:
                return row.indices.map { j in
                    let angle = Double(i) / pow(Double(config.positionBase), Double(j - j % 2) / Double(c))
                    return row[j] + (j % 2 == 0 ? sin(angle) : cos(angle))
                }
            case .rope, .none:
                return row
            }
        }
        for layer in 0..<config.layerCount {
            let p = "transformer.h.\(layer)."
            switch config.normalization {
            case .pre:
                x = add(x, attention(layerNorm(x, p + "ln_1"), p))
                if config.hasMLP { x = add(x, mlp(layerNorm(x, p + "ln_2"), p)) }
            case .post:
                x = layerNorm(add(x, attention(x, p)), p + "ln_1")
                if config.hasMLP { x = layerNorm(add(x, mlp(x, p)), p + "ln_2") }
            }
        }
        if config.normalization == .pre { x = layerNorm(x, "transformer.ln_f") }
        let head = config.tieEmbeddings ? wte : tensor("lm_head.weight")!
        return linear(x, weight: head, bias: nil, outputs: config.vocabularySize)
    }

    private func add(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        zip(a, b).map { zip($0, $1).map(+) }
    }

    private func layerNorm(_ x: [[Double]], _ name: String) -> [[Double]] {
        let w = tensor(name + ".weight")!, b = tensor(name + ".bias")
        return x.map { row in
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count)
            return row.indices.map { j in (row[j] - mean) / (variance + 1e-5).squareRoot() * w[j] + (b?[j] ?? 0) }
        }
    }

    private func linear(_ x: [[Double]], weight: [Double], bias: [Double]?, outputs: Int) -> [[Double]] {
        let inputs = x.first?.count ?? 0
        return x.map { row in
            (0..<outputs).map { o in
                var sum: Double = bias?[o] ?? 0
                for i in 0..<inputs { sum += row[i] * weight[o * inputs + i] }
                return sum
            }
        }
    }

    private func linear(_ x: [[Double]], _ name: String, outputs: Int) -> [[Double]] {
        linear(x, weight: tensor(name + ".weight")!, bias: tensor(name + ".bias"), outputs: outputs)
    }

    private func attention(_ x: [[Double]], _ p: String) -> [[Double]] {
        let c = config.embeddingSize, hs = config.headSize, t = x.count
        let qkv = linear(x, p + "attn.c_attn", outputs: 3 * c)
        var y = [[Double]](repeating: [Double](repeating: 0, count: c), count: t)
        for h in 0..<config.headCount {
            func head(_ part: Int, _ i: Int) -> [Double] {
                var v = Array(qkv[i][(part * c + h * hs)..<(part * c + h * hs + hs)])
                if config.position == .rope && part < 2 {
                    for pair in 0..<(hs / 2) {
                        let angle = Double(i) * pow(Double(config.positionBase), -2 * Double(pair) / Double(hs))
                        let (a, b) = (v[2 * pair], v[2 * pair + 1])
                        v[2 * pair] = a * cos(angle) - b * sin(angle)
                        v[2 * pair + 1] = a * sin(angle) + b * cos(angle)
                    }
                }
                return v
            }
            for i in 0..<t {
                let q = head(0, i)
                let scores = (0...i).map { j in zip(q, head(1, j)).map(*).reduce(0, +) / Double(hs).squareRoot() }
                let top = scores.max()!
                let weights = scores.map { exp($0 - top) }
                let total = weights.reduce(0, +)
                for j in 0...i {
                    let v = head(2, j)
                    for d in 0..<hs { y[i][h * hs + d] += weights[j] / total * v[d] }
                }
            }
        }
        return linear(y, p + "attn.c_proj", outputs: c)
    }

    private func mlp(_ x: [[Double]], _ p: String) -> [[Double]] {
        let hidden = linear(x, p + "mlp.c_fc", outputs: config.mlpHiddenSize).map { row in
            row.map { v -> Double in
                switch config.activation {
                case .geluTanh: 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
                case .geluErf: 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
                case .relu: max(0, v)
                }
            }
        }
        return linear(hidden, p + "mlp.c_proj", outputs: config.embeddingSize)
    }
}
