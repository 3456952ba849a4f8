extension ParameterStore {
    /// √(Σ x²) over every tensor: the global L2 norm.
    public func globalNorm() -> Float {
        Float(sumOfSquares().squareRoot())
    }

    /// The global norm and the factor PyTorch's `clip_grad_norm_` scales every element by to
    /// clip it to `maxNorm`: `maxNorm/(norm + 1e-6)` when that is below 1, else exactly 1.
    public func clippingFactor(maxNorm: Float) -> (norm: Float, factor: Float) {
        let norm = sumOfSquares().squareRoot()
        let coefficient = Double(maxNorm) / (norm + 1e-6)
        return (Float(norm), coefficient < 1 ? Float(coefficient) : 1)
    }

    /// PyTorch's `clip_grad_norm_`: scales every element by `min(1, maxNorm/(norm + 1e-6))` and
    /// returns the norm before clipping. Nothing changes when the coefficient is ≥ 1.
    @discardableResult
    public func clipGlobalNorm(maxNorm: Float) -> Float {
        let (norm, factor) = clippingFactor(maxNorm: maxNorm)
        if factor < 1 { scale(by: factor) }
        return norm
    }
}

extension GPT {
    /// Clips the gradients to a global L2 norm of `maxNorm` (PyTorch `clip_grad_norm_`) and
    /// returns their norm before clipping.
    @discardableResult
    public func clipGradients(maxNorm: Float) -> Float {
        gradients.clipGlobalNorm(maxNorm: maxNorm)
    }
}
