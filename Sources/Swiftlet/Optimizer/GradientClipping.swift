extension ParameterStore {
    /// √(Σ x²) over every tensor: the global L2 norm.
    public func globalNorm() -> Float {
        Float(sumOfSquares().squareRoot())
    }

    /// PyTorch's `clip_grad_norm_`: scales every element by `min(1, maxNorm/(norm + 1e-6))` and
    /// returns the norm before clipping. Nothing changes when the coefficient is ≥ 1.
    @discardableResult
    public func clipGlobalNorm(maxNorm: Float) -> Float {
        let norm = sumOfSquares().squareRoot()
        let coefficient = Double(maxNorm) / (norm + 1e-6)
        if coefficient < 1 { scale(by: Float(coefficient)) }
        return Float(norm)
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
