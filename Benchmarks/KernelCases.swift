import SwiftletKernels

/// Cases for the individual kernels, on GPT-2 124M shapes (C = 768, H = 12, V = 50257, B·T = 1024).
///
/// Matmuls are compute-bound and report GFLOP/s (2·M·K·N per call). The rest are memory-bound and
/// report GB/s from the byte model beside each case: bytes the kernel must read plus bytes it must
/// write, each buffer counted once (a write-allocate read is not counted, as in STREAM).
enum KernelCases {
    /// GPT-2 124M dimensions the cases use.
    static let channels = 768
    static let heads = 12
    static let vocabulary = 50257
    static let paddedVocabulary = 50304
    static let rows = 1024  // B·T = 4·256
    /// B·T = 4·64: the rows of the B=4, T=64 step, and those the GEMM figures of other libraries
    /// in the speed issue were measured with.
    static let shortRows = 256
    static let parameterCount = 124_439_808

    static func all(quick: Bool) -> [BenchmarkCase] {
        matmul(quick: quick) + softmax(quick: quick) + layernorm() + gelu() + crossentropy(quick: quick)
            + adamw(quick: quick)
    }

    // MARK: matmul — swl_linear_forward / swl_linear_backward; x (M,K), weight (N,K), out (M,N).

    /// (M, K, N) of the GPT-2 linears: c_attn, attention c_proj, c_fc, MLP c_proj, LM head; with
    /// 256 rows (B=4, T=64) and 1,024 rows (B=4, T=256).
    static func matmulShapes(quick: Bool) -> [(m: Int, k: Int, n: Int)] {
        let c = channels
        if quick { return [(shortRows, c, 4 * c), (rows, c, 4 * c)] }
        return [shortRows, rows].flatMap { m in
            [(m, c, 3 * c), (m, c, c), (m, c, 4 * c), (m, 4 * c, c), (m, c, paddedVocabulary)]
        }
    }

    static func matmul(quick: Bool) -> [BenchmarkCase] {
        matmulShapes(quick: quick).flatMap { m, k, n -> [BenchmarkCase] in
            let shape = "\(m)x\(k)x\(n)"
            let flops = 2.0 * Double(m) * Double(k) * Double(n)
            let (rows, inner, columns) = (Int32(m), Int32(k), Int32(n))
            return [
                BenchmarkCase(name: "matmul_fwd", shape: shape, flops: flops) { space in
                    let x = space.floats(m * k), weight = space.floats(n * k, scale: 0.1)
                    let bias = space.floats(n), out = space.zeros(m * n)
                    return { swl_linear_forward(out, x, weight, bias, rows, inner, columns) }
                },
                BenchmarkCase(name: "matmul_bwd_dx", shape: shape, flops: flops) { space in
                    let x = space.floats(m * k), weight = space.floats(n * k, scale: 0.1)
                    let dout = space.floats(m * n, scale: 0.01), dx = space.zeros(m * k)
                    return { swl_linear_backward(dx, nil, nil, dout, x, weight, rows, inner, columns) }
                },
                BenchmarkCase(name: "matmul_bwd_dw", shape: shape, flops: flops) { space in
                    let x = space.floats(m * k), weight = space.floats(n * k, scale: 0.1)
                    let dout = space.floats(m * n, scale: 0.01), dweight = space.zeros(n * k)
                    return { swl_linear_backward(nil, dweight, nil, dout, x, weight, rows, inner, columns) }
                },
            ]
        }
    }

    // MARK: softmax — swl_causal_softmax_*; scores, probs (BH,T,T).

    static func softmax(quick: Bool) -> [BenchmarkCase] {
        let lengths = quick ? [256] : [256, 1024]
        return lengths.flatMap { t -> [BenchmarkCase] in
            let bh = 4 * heads
            let shape = "\(bh),\(t)"
            let triangle = Double(bh) * Double(t) * Double(t + 1) / 2
            let square = Double(bh) * Double(t) * Double(t)
            let (planes, length) = (Int32(bh), Int32(t))
            let scale = 1 / Float(64).squareRoot()
            return [
                // Reads the lower triangle of scores, writes all of probs (zeros above the diagonal).
                BenchmarkCase(name: "softmax", variant: "forward", shape: shape, bytes: 4 * (triangle + square)) { space in
                    let scores = space.floats(bh * t * t, scale: 4), probs = space.zeros(bh * t * t)
                    return { swl_causal_softmax_forward(probs, scores, planes, length, scale) }
                },
                // Reads the lower triangles of dprobs and probs, writes all of dscores (zeros above the diagonal).
                BenchmarkCase(name: "softmax", variant: "backward", shape: shape, bytes: 4 * (2 * triangle + square)) { space in
                    let scores = space.floats(bh * t * t, scale: 4), probs = space.zeros(bh * t * t)
                    swl_causal_softmax_forward(probs, scores, planes, length, scale)
                    let dprobs = space.floats(bh * t * t), dscores = space.zeros(bh * t * t)
                    return { swl_causal_softmax_backward(dscores, dprobs, probs, planes, length, scale) }
                },
                // In place (dscores = dprobs), as the model's naive attention with dropout runs it: two
                // streams instead of three. The call consumes dprobs, so it is restored before each one.
                BenchmarkCase(name: "softmax", variant: "bwd_in_place", shape: shape, bytes: 4 * (2 * triangle + square)) { space in
                    let scores = space.floats(bh * t * t, scale: 4), probs = space.zeros(bh * t * t)
                    swl_causal_softmax_forward(probs, scores, planes, length, scale)
                    let dprobs = space.consumedFloats(bh * t * t)
                    return { swl_causal_softmax_backward(dprobs, dprobs, probs, planes, length, scale) }
                },
                // The same traffic with no arithmetic (swl_causal_softmax_traffic_*): what this access
                // pattern alone runs at here, the ceiling the two rows above are measured against.
                BenchmarkCase(name: "softmax_traffic", variant: "forward", shape: shape, bytes: 4 * (triangle + square)) { space in
                    let scores = space.floats(bh * t * t, scale: 4), probs = space.zeros(bh * t * t)
                    return { swl_causal_softmax_traffic_forward(probs, scores, planes, length) }
                },
                BenchmarkCase(name: "softmax_traffic", variant: "backward", shape: shape, bytes: 4 * (2 * triangle + square)) { space in
                    let a = space.floats(bh * t * t), b = space.floats(bh * t * t), c = space.zeros(bh * t * t)
                    return { swl_causal_softmax_traffic_backward(c, a, b, planes, length) }
                },
                BenchmarkCase(name: "softmax_traffic", variant: "bwd_in_place", shape: shape, bytes: 4 * (2 * triangle + square)) { space in
                    let a = space.consumedFloats(bh * t * t), b = space.floats(bh * t * t)
                    return { swl_causal_softmax_traffic_backward(a, a, b, planes, length) }
                },
                // The causal rows' own traffic, in place a = a·b with plain loads and stores
                // (swl_causal_rows_traffic): over the lower triangles alone, then over whole rows,
                // which is contiguous memory like the triad. The gap between the two is what the
                // short rows cost before any zeros, streaming stores or arithmetic. b is all ones,
                // so calls repeat without changing a.
                BenchmarkCase(name: "softmax_traffic", variant: "lower_rows", shape: shape, bytes: 12 * triangle) { space in
                    let a = space.floats(bh * t * t), ones = space.floats(bh * t * t, scale: 0, offset: 1)
                    return { swl_causal_rows_traffic(a, ones, planes, length, 0) }
                },
                BenchmarkCase(name: "softmax_traffic", variant: "whole_rows", shape: shape, bytes: 12 * square) { space in
                    let a = space.floats(bh * t * t), ones = space.floats(bh * t * t, scale: 0, offset: 1)
                    return { swl_causal_rows_traffic(a, ones, planes, length, 1) }
                },
            ]
        }
    }

    // MARK: layernorm — swl_layernorm_*; x, out (N,C); weight, bias (C); mean, rstd (N).

    static func layernorm() -> [BenchmarkCase] {
        let (n, c) = (rows, channels)
        let shape = "\(n),\(c)"
        let (nc, cc, nn) = (Double(n * c), Double(c), Double(n))
        let (count, width) = (Int32(n), Int32(c))
        return [
            // Reads x, weight, bias; writes out, mean, rstd.
            BenchmarkCase(name: "layernorm", variant: "forward", shape: shape, bytes: 4 * (2 * nc + 2 * cc + 2 * nn)) { space in
                let x = space.floats(n * c), weight = space.floats(c, offset: 1), bias = space.floats(c)
                let out = space.zeros(n * c), mean = space.zeros(n), rstd = space.zeros(n)
                return { swl_layernorm_forward(out, mean, rstd, x, weight, bias, count, width, 1e-5) }
            },
            // Reads dout, x, weight, mean, rstd; reads and writes dx, dweight, dbias.
            BenchmarkCase(name: "layernorm", variant: "backward", shape: shape, bytes: 4 * (4 * nc + 5 * cc + 2 * nn)) { space in
                let x = space.floats(n * c), weight = space.floats(c, offset: 1), bias = space.floats(c)
                let out = space.zeros(n * c), mean = space.zeros(n), rstd = space.zeros(n)
                swl_layernorm_forward(out, mean, rstd, x, weight, bias, count, width, 1e-5)
                let dout = space.floats(n * c), dx = space.zeros(n * c)
                let dweight = space.zeros(c), dbias = space.zeros(c)
                return { swl_layernorm_backward(dx, dweight, dbias, dout, x, weight, mean, rstd, count, width) }
            },
        ]
    }

    // MARK: gelu — swl_gelu_tanh_* over the MLP hidden activations (B·T, 4C).

    static func gelu() -> [BenchmarkCase] {
        let n = rows * 4 * channels
        let shape = "\(rows),\(4 * channels)"
        let elements = Double(n)
        return [
            // Reads x, writes out.
            BenchmarkCase(name: "gelu", variant: "forward", shape: shape, bytes: 8 * elements) { space in
                let x = space.floats(n, scale: 6), out = space.zeros(n)
                return { swl_gelu_tanh_forward(out, x, n) }
            },
            // Reads dout and x, reads and writes dx.
            BenchmarkCase(name: "gelu", variant: "backward", shape: shape, bytes: 16 * elements) { space in
                let x = space.floats(n, scale: 6), dout = space.floats(n), dx = space.zeros(n)
                return { swl_gelu_tanh_backward(dx, dout, x, n) }
            },
        ]
    }

    // MARK: crossentropy — swl_crossentropy_*; logits (N,Vp), targets (N).

    static func crossentropy(quick: Bool) -> [BenchmarkCase] {
        let n = quick ? 256 : rows
        let (v, vp) = (vocabulary, paddedVocabulary)
        let shape = "\(n),\(v)"
        let (logitCount, rowCount) = (Double(n * v), Double(n))
        let (count, classes, stride) = (Int32(n), Int32(v), Int32(vp))
        return [
            // Reads the N·V logits and the targets; writes losses and lse.
            BenchmarkCase(name: "crossentropy", variant: "forward", shape: shape, bytes: 4 * (logitCount + 3 * rowCount)) { space in
                let logits = space.floats(n * vp, scale: 8), targets = space.indices(n, below: v)
                let losses = space.zeros(n), lse = space.zeros(n)
                return { _ = swl_crossentropy_forward(losses, lse, logits, targets, count, classes, stride) }
            },
            // Reads logits, lse and targets; writes dlogits (overwritten, not read).
            BenchmarkCase(name: "crossentropy", variant: "backward", shape: shape, bytes: 4 * (2 * logitCount + 2 * rowCount)) { space in
                let logits = space.floats(n * vp, scale: 8), targets = space.indices(n, below: v)
                let losses = space.zeros(n), lse = space.zeros(n), dlogits = space.zeros(n * vp)
                _ = swl_crossentropy_forward(losses, lse, logits, targets, count, classes, stride)
                return { swl_crossentropy_backward(dlogits, logits, lse, targets, count, classes, stride, 1) }
            },
        ]
    }

    // MARK: adamw — swl_adamw_update over every GPT-2 124M parameter (quick: a quarter of them).

    static func adamw(quick: Bool) -> [BenchmarkCase] {
        let n = quick ? parameterCount / 4 : parameterCount
        // Reads params, m, v, grads; writes params, m, v: 7 floats per parameter.
        return [
            BenchmarkCase(name: "adamw", shape: "\(n)", bytes: 28 * Double(n)) { space in
                let params = space.floats(n), grads = space.floats(n, scale: 0.01)
                let m = space.zeros(n), v = space.zeros(n)
                var step: Int32 = 0
                return {
                    step += 1
                    swl_adamw_update(params, m, v, grads, n, 1, 3e-4, 0.9, 0.95, 1e-8, 0.1, step)
                }
            }
        ]
    }
}
